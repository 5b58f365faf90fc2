"""Verifying the audit chain (SEC-1): `flask audit verify`, GET /audit/verify and every checkpoint.

The chain from genesis (or from a point already vouched for: the last checkpoint, or how far an
interrupted verify got) is walked in spans of seqs (loyalty/audit/walking.py), in this process or
in `jobs` worker processes with connections of their own (loyalty.scanning). The spans' results
are read in seq order, so the report names the same first broken event as one walk would. Then the
end of the chain is held against the head row, the checkpoints and the events waiting to be chained.

Resuming (issue 16): after each span that holds, in order, the seq and hash reached are kept in a
progress record in the instance folder, signed with a key derived from AUDIT_HMAC_KEY (the database
holds neither). `--resume` starts after the later of that record and the last checkpoint, and only
if the event there still carries the hash recorded: like a checkpoint, the record vouches for the
events before it as they were when the interrupted verify walked them; someone who can write the
database but not sign cannot make a verify skip an event, and a plain verify walks everything.
"""
from __future__ import annotations

import hmac
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, select

from loyalty.audit import checkpoints
from loyalty.audit.checkpoints import BadLine, Checkpoint
from loyalty.audit.formats import GENESIS, _event_mac, _head_mac, settings
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.audit.walking import Walk, problem, use_keys, walk_span
from loyalty.extensions import db
from loyalty.scanning import ProgressRecord, driver_target, here, in_order, spans, start_worker, walk_remote


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
    resumed_after: Checkpoint | None = None  # the point a resumed verify started after


class ChainBroken(Exception):
    def __init__(self, report: ChainReport) -> None:
        self.report = report
        super().__init__(report.problem)


def read_checkpoints() -> tuple[list[Checkpoint], list[BadLine]]:
    if not settings.checkpoint_path:
        return [], []
    return checkpoints.read(settings.checkpoint_path, key=settings.checkpoint_key, key_id=settings.key_id)


def progress_record(path: str | Path) -> ProgressRecord:
    """Where a verify run keeps how far it got (`flask audit verify` passes the instance folder's file)."""
    return ProgressRecord(path, "audit-verify", db.engine.url.render_as_string(hide_password=True),
                          settings.checkpoint_key or b"")


def starting_point(marks: list[Checkpoint], resume: bool, record: ProgressRecord | None) -> Checkpoint | None:
    """Where a verify starts after (None: genesis): with `resume`, the later of the last checkpoint
    and the point an interrupted verify reached."""
    if not resume:
        return None
    since = marks[-1] if marks else None
    state = record.load() if record is not None else None
    if state is not None and (since is None or state["seq"] > since.seq):
        when = datetime.fromtimestamp(state["written"], UTC).isoformat(timespec="seconds")
        since = Checkpoint(state["seq"], state["hash"], state["keyed_from"], f"the interrupted verify of {when}")
    return since


def verify_chain(progress: Callable[[int], None] | None = None, resume: bool = False, jobs: int = 1,
                 progress_path: str | Path | None = None) -> ChainReport:
    """Walk the chain in seq order, compare it with every checkpoint outside the database, and name
    the first event that does not hold. `progress(n)` is told as spans of n events are done; `jobs`
    processes walk the spans (1: this one, on the session's connection); `resume` starts after the
    last checkpoint or an interrupted verify's progress (`progress_path`), whichever is later."""
    marks, bad = read_checkpoints()
    record = progress_record(progress_path) if progress_path else None
    since = starting_point(marks, resume, record)
    if record is not None and not resume:
        record.clear()  # a fresh verify: an older interrupted one's progress is not this one's
    compared = marks if since is None else [m for m in marks if m.seq >= since.seq]
    report = _verify(compared, since=since, progress=progress, jobs=jobs, record=record, pinned=marks)
    if record is not None:
        record.clear()  # this verify completed: the next starts from scratch (or its last checkpoint)
    report.bad_checkpoints = bad
    if report.ok and bad:
        first = bad[0]
        report.ok = False
        report.problem = f"checkpoint file {settings.checkpoint_path}, line {first.line}: {first.problem}"
    return report


def _read_head() -> AuditHead | None:
    return db.session.execute(select(AuditHead).where(AuditHead.id == 1)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


STREAM_ROWS = 5_000
_EVENT_COLUMNS = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.actor,
                  AuditEvent.entity, AuditEvent.entity_id, AuditEvent.action, AuditEvent.before, AuditEvent.after,
                  AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.mac)


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


def _event_at(seq: int) -> Any:
    return db.session.execute(select(AuditEvent.seq, AuditEvent.id).where(AuditEvent.seq == seq)).one_or_none()


def _verify(marks: list[Checkpoint], since: Checkpoint | None, progress: Callable[[int], None] | None = None,
            jobs: int = 1, record: ProgressRecord | None = None, pinned: list[Checkpoint] | None = None) -> ChainReport:
    """The chain from genesis, or only the events after `since`, up to the head as it was when we
    began: appends committed while we walk are left for next time (an append moves the head in its
    own transaction, so what we walk is consistent)."""
    head = _read_head()
    # The file outside the database is trusted over the head row for where keying began.
    keyed_from = next((m.keyed_from for m in reversed(pinned or marks) if m.keyed_from is not None),
                      head.keyed_from if head else None)
    base = dict(keyed_from=keyed_from, checkpoints=len(marks), last_checkpoint=marks[-1] if marks else None)

    def broken(count: int, seq: int | None, event_id: int | None, problem: str) -> ChainReport:
        return ChainReport(False, count, seq, event_id, problem, **base, resumed_after=since)

    start_seq, start_hash = 1, GENESIS
    if since is not None and since.seq > 0:
        start_seq, start_hash = since.seq + 1, since.hash
        found = db.session.execute(select(*_EVENT_COLUMNS).where(AuditEvent.seq == since.seq)).one_or_none()
        keyed = keyed_from is not None and since.seq >= keyed_from
        if found is None or found.hash != since.hash or problem(found, keyed) is not None:
            return broken(0, since.seq, found.id if found else None,
                          f"event seq {since.seq} no longer matches the checkpoint of {since.at} "
                          f"(edited, deleted or rebuilt)")
    high = head.seq if head is not None else (db.session.execute(select(func.max(AuditEvent.seq))).scalar() or 0)
    by_seq: dict[int, list[tuple[str, str]]] = {}
    for mark in marks:
        by_seq.setdefault(mark.seq, []).append((mark.hash, mark.at))
    conn = db.session.connection()
    walk = Walk(conn.dialect.name, settings.event_key, settings.chain_key, keyed_from, by_seq, start_seq, start_hash,
                since.seq if since is not None else 0)
    driver = here(conn.connection.driver_connection, conn.dialect.name)
    count, unkeyed, last, prev_hash = 0, 0, start_seq - 1, start_hash
    walked = in_order(lambda span: walk_span(driver, walk, span), spans(start_seq, high, jobs), jobs,
                      initializer=start_worker, initargs=(walk_span, walk, driver_target(conn.engine.url)[1], use_keys),
                      remote=walk_remote)
    with closing(walked):
        for _span, result in walked:
            count, unkeyed = count + result.count, unkeyed + result.unkeyed
            if result.broken is not None:
                seq, event_id, what = result.broken
                if event_id is None and seq is not None:
                    event_id = getattr(_event_at(seq), "id", None)
                return broken(count, seq, event_id, what)
            last, prev_hash = result.last_seq, result.last_hash
            if result.gap:  # the event after `last` is missing: name the next one, if any before the head
                following = db.session.execute(select(AuditEvent.seq, AuditEvent.id).where(
                    AuditEvent.seq > last, AuditEvent.seq <= high).order_by(AuditEvent.seq).limit(1)).one_or_none()
                if following is not None:
                    return broken(count + 1, last + 1, following.id,
                                  f"event seq {last + 1} is missing (next found: {following.seq})")
                break
            if record is not None:
                record.save(seq=last, hash=prev_hash, keyed_from=keyed_from)
            if progress is not None:
                progress(result.count)
    return _held_at_the_end(marks, head, last, prev_hash, count, unkeyed, keyed_from, base, broken, since)


def _held_at_the_end(marks, head, last, prev_hash, count, unkeyed, keyed_from, base, broken,
                     resumed_after) -> ChainReport:
    """The walk reached seq `last` (hash `prev_hash`): hold that against the checkpoints, the head
    row, events past the head and the events waiting to be chained."""
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
    unchained, bad_id, what = _unchained_problem()
    if bad_id is not None:
        return broken(count, None, bad_id, what)
    return ChainReport(True, count, unkeyed=unkeyed, unchained=unchained, head=(head_seq, head_hash, head_keyed),
                       resumed_after=resumed_after, **base)
