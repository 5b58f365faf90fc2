"""Writing audit events and chaining them (SEC-1, issue 16); the design is in loyalty/audit/service.py.

`record` seals an event in the writer's transaction. After that transaction commits, the session
hook chains what waits. On PostgreSQL (`_lead`) a writer never waits for the head row: it takes it
unless another step holds it (SKIP LOCKED), in the same statement reads what waits, and in one more
statement links those events and moves the head, committed asynchronously; the step holding the
head looks again after each commit, so it chains what writers that skipped committed meanwhile:
under load one step chains many writers' events. `chain_pending` (SQLite, the checkpoint job's
sweep, a checkpoint) waits for the head instead."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.audit.formats import GENESIS, _chain_key, _event_mac, _head_mac, _jsonable, _link
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.extensions import db

log = logging.getLogger(__name__)


UNCHAINED = "audit_unchained"  # Session.info: [(id, mac)] of the events this transaction wrote


def _next_id() -> int:
    """The new event's id before its INSERT, since its mac covers it: from the sequence on
    PostgreSQL (no lock), after the highest on SQLite (whose writers hold the database's lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.execute(text("SELECT nextval('audit_events_id_seq')")).scalar_one()
    return (db.session.execute(select(func.max(AuditEvent.id))).scalar_one() or 0) + 1


def record(actor: Any, entity: str, entity_id: Any, action: str,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Write one sealed event in the caller's transaction; it is chained after that transaction
    commits (`chain_pending`). `actor` is a Staff or None (the system)."""
    _chain_key()
    event = AuditEvent(
        id=_next_id(), at=clock.now(),
        actor_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or "system",
        entity=entity, entity_id=str(entity_id), action=action,
        before=_jsonable(before), after=_jsonable(after),
    )
    event.mac = _event_mac(event)
    db.session.add(event)
    db.session.info.setdefault(UNCHAINED, []).append((event.id, event.mac))
    return event


CHAIN_BATCH = 1_000
_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__


def chain_pending(conn: Connection, durable: bool = False) -> int:
    """Chain every sealed event not chained yet, in id order, in the caller's transaction on
    `conn` (commit it at once: the head row stays locked until then); how many it chained.

    On PostgreSQL the step commits asynchronously unless `durable`: losing it in a crash loses
    no event (their writers committed them) but only their places, which the next step gives
    again. `durable` (for a checkpoint about to vouch for the head) commits synchronously,
    which also flushes every asynchronous step before it."""
    pg = conn.dialect.name == "postgresql"
    lock = ("SELECT seq, hash, keyed_from, {} FROM audit_head WHERE id = 1 FOR UPDATE".format(
        "txid_current()" if durable else "set_config('synchronous_commit', 'off', true)") if pg
        else "SELECT seq, hash, keyed_from, 0 FROM audit_head WHERE id = 1")
    head = conn.execute(text(lock)).one_or_none()
    if head is None:  # the migration seeds it; tolerate a hand-made database
        conn.execute(_HEAD.insert().values(id=1, seq=0, hash=GENESIS))
        head = (0, GENESIS, None, None)
    seq, tip, keyed_from = head[0], head[1], head[2]
    total = 0
    while True:  # read after the lock is held: what an earlier step chained is visible now
        waiting = conn.execute(select(_EVENTS.c.id, _EVENTS.c.mac)
                               .where(_EVENTS.c.seq.is_(None), _EVENTS.c.mac.is_not(None))
                               .order_by(_EVENTS.c.id).limit(CHAIN_BATCH)).all()
        if not waiting:
            break
        links = []
        for event_id, mac in waiting:
            seq += 1
            digest = _link(seq, tip, mac)
            links.append({"eid": event_id, "s": seq, "p": tip, "h": digest})
            tip = digest
        keyed_from = keyed_from if keyed_from is not None else links[0]["s"]
        conn.execute(_EVENTS.update().where(_EVENTS.c.id == bindparam("eid"), _EVENTS.c.seq.is_(None))
                     .values(seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h")), links)
        total += len(links)
        if len(waiting) < CHAIN_BATCH:
            break
    if total:
        conn.execute(_HEAD.update().where(_HEAD.c.id == 1).values(
            seq=seq, hash=tip, keyed_from=keyed_from, mac=_head_mac(seq, tip, keyed_from)))
    return total


def chain_now(engine: Engine, durable: bool = False) -> int:
    with engine.begin() as conn:
        done = chain_pending(conn, durable=durable)
    _lead(engine)  # events committed while we held the head, whose writers did not wait for it
    return done


def chain_waiting(durable: bool = False) -> int:
    """Chain what waits, in the session's transaction, and commit (jobs, checkpoints)."""
    done = chain_pending(db.session.connection(), durable=durable)
    db.session.commit()
    _lead(db.session.get_bind())
    return done


def _chain_after_commit(session: Session) -> None:
    """Session hook: a transaction that wrote events has committed; chain them now, in a short
    transaction of its own. A failure leaves them sealed and waiting (the next sweep chains them)."""
    if _inside_savepoint(session) or not session.info.pop(UNCHAINED, None):
        return
    try:
        engine = session.get_bind()
        if engine.dialect.name == "postgresql":
            _lead(engine)
        else:  # SQLite: one writer at a time anyway
            chain_now(engine)
    except Exception:  # the writer's work is committed: its response must not fail for this
        log.exception("chaining audit events failed; they wait, sealed, for the next chaining step")


# PostgreSQL: lock the head unless another step holds it, and read what waits, in one statement.
_LEAD = text("SELECT seq, hash, keyed_from, set_config('synchronous_commit', 'off', true), "
             "ARRAY(SELECT id FROM audit_events WHERE seq IS NULL AND mac IS NOT NULL ORDER BY id LIMIT :n), "
             "ARRAY(SELECT mac FROM audit_events WHERE seq IS NULL AND mac IS NOT NULL ORDER BY id LIMIT :n) "
             "FROM audit_head WHERE id = 1 FOR UPDATE SKIP LOCKED")
_ANY_WAITING = text("SELECT EXISTS (SELECT 1 FROM audit_events WHERE seq IS NULL AND mac IS NOT NULL)")
# Link those events and move the head in one statement; no row back when one of them was not waiting.
_LINK = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:seqs AS integer[]), "
    "CAST(:prevs AS varchar[]), CAST(:hashes AS varchar[])) AS v(id, seq, prev_hash, hash)), "
    "e AS (UPDATE audit_events a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash FROM v "
    "WHERE a.id = v.id AND a.seq IS NULL AND a.mac IS NOT NULL RETURNING a.id) "
    "UPDATE audit_head SET seq = :seq, hash = :hash, keyed_from = :keyed_from, mac = :mac "
    "WHERE id = 1 AND (SELECT count(*) FROM e) = :n RETURNING seq")
LEAD_ROUNDS = 100


def _link_and_move(conn: Connection, seq: int, tip: str, keyed_from: int | None, ids: list[int],
                   macs: list[str]) -> bool:
    """Link these waiting events after the head (seq, tip) and move it, in one statement."""
    seqs, prevs, hashes = [], [], []
    for mac in macs:
        seq += 1
        digest = _link(seq, tip, mac)
        seqs.append(seq), prevs.append(tip), hashes.append(digest)
        tip = digest
    keyed_from = keyed_from if keyed_from is not None else seqs[0]
    return conn.execute(_LINK, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes, "seq": seq, "hash": tip,
                                "keyed_from": keyed_from, "n": len(ids),
                                "mac": _head_mac(seq, tip, keyed_from)}).first() is not None


def _lead(engine: Engine) -> None:
    """PostgreSQL: chain whatever waits, as long as something does, without ever waiting for the head.

    When another step holds the head we leave at once: that step looks again once it has
    committed (the loop below), so it finds what we committed before we tried. A step leaves only
    when a look begun after its commit finds nothing waiting."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        for _ in range(LEAD_ROUNDS):
            conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin() as transaction:
                head = conn.execute(_LEAD, {"n": CHAIN_BATCH}).one_or_none()
                if head is None:
                    return  # another step holds the head, and will look again after its commit
                seq, tip, keyed_from, _, ids, macs = head
                if ids and not _link_and_move(conn, seq, tip, keyed_from, ids, macs):
                    transaction.rollback()  # one was chained meanwhile: undo this round, look again
            # Look again in a snapshot taken after our commit (autocommit: one round trip): a writer
            # that found the head taken while we held it left its events to us.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            waiting = conn.execute(_ANY_WAITING).scalar_one()
            conn.rollback()
            if not waiting:
                return
    log.warning("audit chaining stopped after %s rounds; the rest waits for the next step", LEAD_ROUNDS)


def _forget_unchained(session: Session) -> None:
    if not _inside_savepoint(session):
        session.info.pop(UNCHAINED, None)


def _inside_savepoint(session: Session) -> bool:
    """The hooks fire for a savepoint too: its events are committed (or gone) only with the real transaction."""
    return session.in_nested_transaction()


def listen(session: Any) -> None:
    """Called by the composition root with the app's session (scoped session or class)."""
    if not sa_event.contains(session, "after_commit", _chain_after_commit):
        sa_event.listen(session, "after_commit", _chain_after_commit)
        sa_event.listen(session, "after_rollback", _forget_unchained)
