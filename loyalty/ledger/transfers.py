"""Transfers (转账): posted or pending, their post and void, linked batches, and `submit()`.

    acct = account_for("customer:7", "reward_payable", "CNY")
    t = transfer(debit=expense, credit=acct, amount=50000, unit="CNY", pending=True,
                 reason="Referral 42 reward reserved", subject="referral:42", key="referral:42:reserve")
    post_pending(t.id, reason="Referral 42 verified", key="referral:42:post")

`submit()` is a transfer that is its own transaction (one round trip on PostgreSQL,
committed when it returns), for a transfer that is the whole of a piece of work;
business operations use `transfer()` so the money moves with their own changes.
"""
from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime
from typing import Sequence
from weakref import WeakSet

import psycopg
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus
from sqlalchemy import select

from loyalty.errors import NotFound, RuleViolation, field_error
from loyalty.extensions import db
from loyalty.ledger import engine
from loyalty.ledger.models import Account, Transfer
from loyalty.ledger.spec import as_key, spec_of, spec_resolving


def transfer(*, debit: Account | int, credit: Account | int, amount: int, unit: str, reason: str,
             subject: str | None, key: str, pending: bool = False, actor=None) -> Transfer:
    """Move `amount` (int minor units of `unit`) from `debit` to `credit`: posted now, or
    reserved when `pending`. Idempotent on `key`: the same key with the same parameters
    returns the first transfer and moves nothing; different parameters raise
    Conflict(idempotency_key_reused). Overdrawing a flagged account raises
    RuleViolation(insufficient_funds)."""
    return engine.apply([spec_of(debit, credit, amount, unit, reason, subject, key, pending)], actor)[0]



def submit(*, debit: Account | int, credit: Account | int, amount: int, unit: str, reason: str,
           subject: str | None, key: str, pending: bool = False, actor=None) -> engine.Posted:
    """transfer() as its own transaction, committed when this returns (TigerBeetle's
    create_transfers): one round trip on PostgreSQL. For a transfer that is the whole of
    a piece of work (an import, an integration); a business operation whose other changes
    must commit with the money uses transfer(). Same idempotency and errors as transfer();
    returns the transfer's columns (engine.Posted, not an ORM object). Refused inside a
    transaction, whose work it would commit."""
    if db.session().in_transaction():
        raise RuntimeError("ledger.submit() commits: call it outside a transaction, or use transfer()")
    spec = spec_of(debit, credit, amount, unit, reason, subject, key, pending)
    try:
        if db.engine.dialect.name == "postgresql":
            # one statement on an autocommit connection: the function is atomic and its commit
            # rides on the same round trip (a transaction would add BEGIN and COMMIT)
            t = engine.apply_one_pg(_autocommit_execute, spec, actor, attach=False)
        else:
            t = engine.Posted.of(engine.apply([spec], actor)[0])  # read before commit expires them
        if db.session().in_transaction():  # what the error paths read; on SQLite, the transfer itself
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return t


_local = threading.local()

# submit()'s statement, prepared once on each held connection and run through libpq itself
# (PQexecPrepared): psycopg's cursor machinery (a cursor per call, twelve parameters adapted, its
# wait loop) took about twice the client CPU of this call (bench/ledger.py), and with eight
# clients on two cores that CPU is taken from the database (issue 16).
_APPLY = b"loyalty_ledger_apply"
# engine.PG_APPLY with its named parameters numbered for libpq ($1 ...), in the same order
_APPLY_ORDER = tuple(re.findall(r"%\((\w+)\)s", engine.PG_APPLY))
_APPLY_SQL = re.sub(r"%\((\w+)\)s", lambda m: f"${_APPLY_ORDER.index(m.group(1)) + 1}", engine.PG_APPLY).encode()
_PREPARED: WeakSet = WeakSet()  # the libpq connections it is prepared on (a pooled one outlives its thread)


def _autocommit_execute(params: dict) -> int:
    """ledger_apply on this thread's own autocommit connection (kept open: a pool checkout
    with its ping, and a transaction's BEGIN and COMMIT, would triple the round trips)."""
    conn = _held_connection()
    try:
        return _apply(conn, params)
    except psycopg.OperationalError:
        if conn.pgconn.status == ConnStatus.OK:  # the statement failed (a lock timeout, a cancel): the caller's
            raise
        return _apply(_held_connection(renew=True), params)  # the connection dropped: once more (the key makes it safe)


def _apply(conn: psycopg.Connection, params: dict) -> int:
    pgconn, encoding = conn.pgconn, conn.info.encoding
    values = [None if v is None else (v.isoformat() if isinstance(v, datetime) else str(v)).encode(encoding)
              for v in map(params.__getitem__, _APPLY_ORDER)]
    if pgconn not in _PREPARED:
        made = pgconn.prepare(_APPLY, _APPLY_SQL)
        if made.error_field(DiagnosticField.SQLSTATE) != b"42P05":  # 42P05: prepared on it already
            _check(pgconn, made, encoding)  # (the connection was another thread's, back from the pool)
        _PREPARED.add(pgconn)
    result = pgconn.exec_prepared(_APPLY, values)
    if result.error_field(DiagnosticField.SQLSTATE) == b"26000":  # the statement was deallocated: prepare it again
        _PREPARED.discard(pgconn)
        return _apply(conn, params)
    return int(_check(pgconn, result, encoding).get_value(0, 0))


def _check(pgconn, result, encoding: str):
    if result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
        return result
    if pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError(pgconn.get_error_message(encoding))
    raise psycopg.errors.error_from_result(result, encoding=encoding)


def _held_connection(renew: bool = False) -> psycopg.Connection:
    held = getattr(_local, "conns", None)
    if held is None:
        held = _local.conns = {}
    conn = held.get(db.engine)
    if renew and conn is not None:
        conn.invalidate()
        conn.close()
        conn = None
    if conn is None or conn.closed:
        conn = held[db.engine] = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return conn.connection.driver_connection


def transfer_batch(items: Sequence[dict], *, actor=None, batch: str | None = None) -> list[Transfer]:
    """A linked batch: every transfer applied, or none (a savepoint undoes a partial batch).

    Each item takes transfer()'s keyword arguments. Replayed
    as a whole when every key exists with the same parameters."""
    if not items:
        return []
    specs = [spec_of(i["debit"], i["credit"], i["amount"], i["unit"], i["reason"], i.get("subject"), i["key"],
                     i.get("pending")) for i in items]
    if len({s.key for s in specs}) != len(specs):
        raise field_error("key", "Keys repeat inside the batch.")
    nested = db.session.begin_nested()
    try:
        result = engine.apply(specs, actor, batch=batch or uuid.uuid4().hex)
    except Exception:
        nested.rollback()
        raise
    nested.commit()
    return result


def post_pending(pending_id: int, *, reason: str, key: str, actor=None) -> Transfer:
    """Post (确认入账) a pending transfer in full: what it reserved becomes posted."""
    return _resolve(pending_id, "post", reason=reason, key=key, actor=actor)


def void_pending(pending_id: int, *, reason: str, key: str, actor=None) -> Transfer:
    """Void (作废) a pending transfer: what it reserved is released."""
    return _resolve(pending_id, "void", reason=reason, key=key, actor=actor)


def _resolve(pending_id: int, kind: str, *, reason: str, key: str, actor) -> Transfer:
    pending = db.session.execute(select(Transfer).where(Transfer.id == pending_id)).scalar_one_or_none()
    if pending is None:
        raise NotFound("No such pending transfer.", code="pending_not_found")
    if pending.kind != "pending":
        raise RuleViolation("Only a pending transfer can be posted or voided.", code="not_pending")
    return engine.apply([spec_resolving(pending, kind, reason=reason, key=key)], actor)[0]


def get_transfer(transfer_id: int) -> Transfer:
    t = db.session.get(Transfer, transfer_id)
    if t is None:
        raise NotFound(code="transfer_not_found")
    return t


def transfer_by_key(key: str) -> Transfer | None:
    return db.session.execute(select(Transfer).where(Transfer.key == as_key(key))).scalar_one_or_none()
