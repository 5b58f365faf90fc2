"""One commit point per request, and only for a transaction that wrote (issue 16).

A request that only read ends its transaction with a ROLLBACK (it holds nothing to keep), not a
COMMIT. Which transactions wrote is told by the statements sent: anything but a compiled SELECT
(an INSERT, UPDATE or DELETE, a text or driver-level statement such as `SELECT ledger_apply(...)`,
whose effects the app cannot see) marks the connection's transaction as a writer, so the rule errs
toward committing."""
from __future__ import annotations

from flask import g
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from loyalty.extensions import db

WROTE = "loyalty_wrote"  # Connection.info: this transaction sent a statement that may write


def track_writes(engine) -> None:
    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.info[WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        if not conn.info.get(WROTE) and not _reads_only(context, statement):
            conn.info[WROTE] = True


def _reads_only(context, statement: str) -> bool:
    compiled = getattr(context, "compiled", None)
    if compiled is not None and isinstance(compiled.statement, Select):
        return True
    return statement.lstrip()[:5].upper() == "BEGIN"  # SQLite's BEGIN IMMEDIATE (loyalty/app.py)


def wrote(session: Session) -> bool:
    """Whether the session's transaction has anything to commit (pending changes count)."""
    session = getattr(session, "registry", None) and session() or session  # a scoped session: its Session
    if session.new or session.dirty or session.deleted:
        return True
    if session.get_transaction() is None:
        return False
    return bool(session.connection().info.get(WROTE, True))


def finish(response):
    """after_request, app-wide: commit what a successful request wrote, else roll back (a request
    that only read, a refused one, or one that asked for it with g.rollback)."""
    if response.status_code < 400 and not g.get("rollback") and wrote(db.session):
        db.session.commit()
    else:
        db.session.rollback()
    return response
