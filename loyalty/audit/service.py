"""Appending to and verifying the audit hash chain (SEC-1).

Each event's hash is the HMAC-SHA256, under a key the database does not hold
(AUDIT_HMAC_KEY), of its own fields and the previous event's hash. Events written
before the key existed keep their plain SHA-256 hashes: the head row records the first
keyed seq (`keyed_from`) and carries the key's MAC, so the chain cannot be rewound or
switched back to plain SHA-256 without the key. Someone with write access to the
database can still rebuild every event as unkeyed and clear the head's MAC; the signed
checkpoints of the head kept outside the database (`checkpoints.py`) catch that, and a
tail deleted together with an older copy of the head row.

Writers do not wait on one another (issue 16). `record` writes the event in the caller's
transaction with no place in the chain yet (seq, prev_hash and hash NULL) but sealed: `mac` is
the key's HMAC over its content and its id, so it cannot be edited, nor copied into a second
event, without the key. Once that transaction commits, `chain_pending` runs a short transaction
of its own: it locks the `audit_head` row, gives every sealed event not chained yet its seq (in
id order), its link and its hash (the key's HMAC over seq, previous hash and the event's mac),
and moves the head. Only that step is serialised, for a few statements, never for a writer's
whole transaction; `seq` stays dense and unique, so two steps can never extend the same tip. An
event whose chaining step did not run (the process died between the two commits) is chained by
the next writer's step or the checkpoint job; `flask audit verify` checks the seal of every
event still waiting.
"""
from __future__ import annotations

import hmac
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import func, select, text

from loyalty import clock
from loyalty.audit import checkpoints
from loyalty.audit.chaining import (  # noqa: F401 - writing and chaining are read through this module too
    CHAIN_BATCH,
    UNCHAINED,
    chain_now,
    chain_pending,
    chain_waiting,
    listen,
    record,
)
from loyalty.audit.checkpoints import BadLine, Checkpoint
from loyalty.audit.formats import (  # noqa: F401 - the formats are read through this module too
    GENESIS,
    Settings,
    _canonical,
    _chain_key,
    _digest,
    _event_mac,
    _head_mac,
    _jsonable,
    _link,
    _sealed,
    configure,
    derive_key,
    settings,
)
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.extensions import db
from loyalty.paging import page_of

log = logging.getLogger(__name__)
def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of a model as JSON-safe values, for before/after."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}



# ---- verifying ---------------------------------------------------------------------------

@dataclass
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None
    keyed_from: int | None = None  # the first seq hashed with the key (None: none yet)
    unkeyed: int = 0  # events written before the key existed (plain SHA-256)
    unchained: int = 0  # sealed events waiting for the chaining step (their seals checked)
    checkpoints: int = 0  # valid checkpoints the chain was compared with
    last_checkpoint: Checkpoint | None = None
    bad_checkpoints: list[BadLine] = field(default_factory=list)
    head: tuple[int, str, int | None] | None = None  # (seq, hash, keyed_from) of the head verified


class ChainBroken(Exception):
    def __init__(self, report: ChainReport) -> None:
        self.report = report
        super().__init__(report.problem)


def read_checkpoints() -> tuple[list[Checkpoint], list[BadLine]]:
    if not settings.checkpoint_path:
        return [], []
    return checkpoints.read(settings.checkpoint_path, key=settings.checkpoint_key, key_id=settings.key_id)


def verify_chain(progress: Callable[[int], None] | None = None, resume: bool = False) -> ChainReport:
    """Walk the whole chain in seq order, compare it with every checkpoint outside the
    database, and name the first event that does not hold. `progress(n)` is told every
    PROGRESS_EVERY events walked; `resume` walks only the events after the last checkpoint
    (whose own event must still match it), as `audit checkpoint` does."""
    marks, bad = read_checkpoints()
    since = marks[-1] if resume and marks else None
    report = _verify(marks if since is None else [since], since=since, progress=progress)
    report.bad_checkpoints = bad
    if report.ok and bad:
        first = bad[0]
        report.ok = False
        report.problem = f"checkpoint file {settings.checkpoint_path}, line {first.line}: {first.problem}"
    return report


def _read_head() -> AuditHead | None:
    return db.session.execute(select(AuditHead).where(AuditHead.id == 1)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


PROGRESS_EVERY = 10_000
STREAM_ROWS = 5_000  # rows per fetch from the server-side cursor
_EVENT_COLUMNS = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor,
                  AuditEvent.entity, AuditEvent.entity_id, AuditEvent.action, AuditEvent.before, AuditEvent.after,
                  AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.mac)


# PostgreSQL: the time already as the hashes cover it (UTC, ISO 8601 with microseconds), read
# through the driver's own server-side cursor: no datetime nor SQLAlchemy row per event.
_PG_CHAINED = ("SELECT id, seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') AS at, "
               "actor_id, actor, entity, entity_id, action, before, after, prev_hash, hash, mac "
               "FROM audit_events WHERE seq >= %(low)s AND seq <= %(high)s ORDER BY seq")


@contextmanager
def _chained_rows(low: int, high: int | None) -> Iterator[Iterable[Any]]:
    """The chained events from seq `low` to `high` (None: the last) in seq order, streamed (issue 16);
    the cursor is closed even when the walk stops early at a break."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        from psycopg.rows import namedtuple_row
        with conn.connection.driver_connection.cursor(name="audit_verify", row_factory=namedtuple_row) as cursor:
            cursor.execute(_PG_CHAINED, {"low": low, "high": high if high is not None else 2**31 - 1})
            yield (row for rows in iter(lambda: cursor.fetchmany(STREAM_ROWS), []) for row in rows)
        return
    query = select(*_EVENT_COLUMNS).where(AuditEvent.seq >= low).order_by(AuditEvent.seq)
    if high is not None:
        query = query.where(AuditEvent.seq <= high)
    with db.session.execute(query.execution_options(yield_per=STREAM_ROWS)) as result:
        yield result


def _problem(event: Any, keyed: bool) -> str | None:
    """Why a chained event does not hold (None: it does): its seal, then its hash."""
    if event.mac is not None:
        if not keyed:
            return "a sealed event inside the part of the chain from before the key (rewritten)"
        if not hmac.compare_digest(_event_mac(event), event.mac):
            return "content does not match its seal (edited, or copied under another id)"
        if not hmac.compare_digest(_digest(event), event.hash or ""):
            return "its hash does not match its place and seal (rehashed without the key)"
        return None
    if not hmac.compare_digest(_digest(event, keyed), event.hash or ""):
        return ("content does not match its hash (edited, or rehashed without the key)" if keyed
                else "content does not match its hash (edited)")
    return None


def _unchained_problem() -> tuple[int, int | None, str | None]:
    """The events not chained yet: how many, and the first whose seal does not hold (id, problem)."""
    count = 0
    result = db.session.execute(select(*_EVENT_COLUMNS).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
                                .execution_options(yield_per=STREAM_ROWS))
    with result:
        for event in result:
            count += 1
            if event.mac is None:
                return count, event.id, "neither chained nor sealed (written behind the service's back)"
            if not hmac.compare_digest(_event_mac(event), event.mac):
                return count, event.id, "waiting to be chained, but does not match its seal (edited or forged)"
    return count, None, None


def events_to_walk(since: Checkpoint | None = None) -> int:
    """How many events a verify from `since` (None: genesis) walks, for a progress bar."""
    head = _read_head()
    return max(0, (head.seq if head else 0) - (since.seq if since else 0))


def _verify(marks: list[Checkpoint], since: Checkpoint | None,
            progress: Callable[[int], None] | None = None) -> ChainReport:
    """The chain from genesis, or only the events after the checkpoint `since`, up to the
    head as it was when we began: appends committed while we walk are left for next time
    (an append moves the head in its own transaction, so what we walk is consistent)."""
    head = _read_head()
    # The file outside the database is trusted over the head row for where keying began.
    pinned = next((m.keyed_from for m in reversed(marks) if m.keyed_from is not None), None)
    keyed_from = pinned if pinned is not None else (head.keyed_from if head else None)
    by_seq: dict[int, list[Checkpoint]] = {}
    for mark in marks:
        by_seq.setdefault(mark.seq, []).append(mark)
    base = dict(keyed_from=keyed_from, checkpoints=len(marks), last_checkpoint=marks[-1] if marks else None)

    def broken(count: int, seq: int | None, event_id: int | None, problem: str) -> ChainReport:
        return ChainReport(False, count, seq, event_id, problem, **base)

    expected_seq, prev_hash, count, unkeyed = 1, GENESIS, 0, 0
    good_mark_seq, first_after_mark_id = 0, None  # the last checkpoint the walk matched
    if since is not None and since.seq > 0:
        expected_seq, prev_hash, good_mark_seq = since.seq + 1, since.hash, since.seq
        found = db.session.execute(select(*_EVENT_COLUMNS).where(AuditEvent.seq == since.seq)).one_or_none()
        keyed = keyed_from is not None and since.seq >= keyed_from
        if found is None or found.hash != since.hash or _problem(found, keyed) is not None:
            return broken(0, since.seq, found.id if found else None,
                          f"event seq {since.seq} no longer matches the checkpoint of {since.at} "
                          f"(edited, deleted or rebuilt)")
    with _chained_rows(expected_seq, head.seq if head is not None else None) as result:
        for event in result:
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
            if first_after_mark_id is None:
                first_after_mark_id = event.id
            if event.seq != expected_seq:
                return broken(count, expected_seq, event.id,
                              f"event seq {expected_seq} is missing (next found: {event.seq})")
            if event.prev_hash != prev_hash:
                return broken(count, event.seq, event.id,
                              "previous-hash link broken (an event was removed or reordered)")
            keyed = keyed_from is not None and event.seq >= keyed_from
            problem = _problem(event, keyed)
            if problem is not None:
                return broken(count, event.seq, event.id, problem)
            unkeyed += not keyed
            for mark in by_seq.get(event.seq, ()):
                if mark.hash != event.hash:
                    return broken(count, good_mark_seq + 1, first_after_mark_id,
                                  f"event seq {event.seq} does not match the checkpoint of {mark.at}: events "
                                  f"{good_mark_seq + 1}..{event.seq} were rewritten since")
            if event.seq in by_seq:
                good_mark_seq, first_after_mark_id = event.seq, None
            prev_hash, expected_seq = event.hash, expected_seq + 1
    last = expected_seq - 1
    beyond = max((m for m in marks if m.seq > last), key=lambda m: m.seq, default=None)
    if beyond is not None:
        return broken(count, last + 1, None,
                      f"the chain ends at seq {last} but the checkpoint of {beyond.at} names seq {beyond.seq}: "
                      f"events {last + 1}..{beyond.seq} were deleted (tail removed)")
    head_seq, head_hash, head_keyed = (head.seq, head.hash, head.keyed_from) if head else (0, GENESIS, None)
    if head is not None and (head.mac is not None or keyed_from is not None):
        if head.mac is None or not hmac.compare_digest(head.mac, _head_mac(head.seq, head.hash, head.keyed_from)):
            return broken(count, last + 1, None, "the head row does not match its MAC "
                                                 "(rewound or edited without the key: tail removed?)")
        if head.keyed_from != keyed_from:
            return broken(count, keyed_from, None, f"the head says keyed hashes begin at seq {head.keyed_from}, "
                                                   f"the checkpoints say {keyed_from}")
    if head_seq != last or head_hash != prev_hash:
        return broken(count, last + 1, None,
                      f"chain ends at seq {last} but the head says {head_seq} (tail removed)")
    # Events past the head: none can be committed without moving it (read the newest first).
    newest = db.session.execute(select(func.max(AuditEvent.seq))).scalar_one_or_none() or 0
    now_head = _read_head()
    if newest > (now_head.seq if now_head else 0):
        return broken(count, head_seq + 1, None, f"events up to seq {newest} lie past the head "
                                                 f"(written behind the service's back)")
    unchained, bad_id, problem = _unchained_problem()
    if bad_id is not None:
        return broken(count, None, bad_id, problem)
    return ChainReport(True, count, unkeyed=unkeyed, unchained=unchained, head=(head_seq, head_hash, head_keyed),
                       **base)


# ---- checkpoints -------------------------------------------------------------------------

class CheckpointsOff(Exception):
    """No checkpoint file is configured (AUDIT_CHECKPOINT_PATH)."""


def write_checkpoint() -> Checkpoint | None:
    """Verify the events since the last checkpoint, then append a signed checkpoint of the
    head to the file outside the database; None when the head has not moved since.
    Raises ChainBroken (nothing written) when the chain does not hold: a checkpoint must
    never vouch for a tampered chain."""
    if not settings.checkpoint_path:
        raise CheckpointsOff("AUDIT_CHECKPOINT_PATH is not set")
    chain_waiting(durable=True)  # vouch for every event written so far, once it is durable
    marks, bad = read_checkpoints()
    if bad:
        raise ChainBroken(ChainReport(False, 0, None, None, f"checkpoint file {settings.checkpoint_path}, "
                                                                  f"line {bad[0].line}: {bad[0].problem}"))
    last = marks[-1] if marks else None
    report = _verify([last] if last else [], since=last)
    if not report.ok:
        raise ChainBroken(report)
    seq, head_hash, keyed_from = report.head  # the head just verified, not one appended since
    if last is not None and (last.seq, last.hash) == (seq, head_hash):
        return None
    _make_durable()  # the head may have been moved by a step committed asynchronously
    return checkpoints.append(settings.checkpoint_path, seq=seq, hash=head_hash, keyed_from=keyed_from,
                              at=clock.now().isoformat(timespec="microseconds"),
                              key=settings.checkpoint_key, key_id=settings.key_id)


def _make_durable() -> None:
    """PostgreSQL: flush the WAL up to now, by committing a transaction that has an id with the
    synchronous commit of the session, so no chaining step read so far can be lost in a crash
    after a checkpoint vouched for it."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT txid_current()"))
    db.session.commit()


def list_events(entity: str | None = None, entity_id: str | None = None,
                page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    return page_of(query.order_by(AuditEvent.seq.desc()), page, per_page)
