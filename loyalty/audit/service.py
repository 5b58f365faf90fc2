"""Appending to and verifying the audit hash chain (SEC-1).

Each event's hash covers its own fields and the previous event's hash. Appends
are serialised by locking the single `audit_head` row (PostgreSQL) or by the
write lock every SQLite transaction takes at BEGIN IMMEDIATE, and `seq` is
unique, so two writers can never both extend the same tip.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import select

from loyalty import clock
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.extensions import db

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of a model as JSON-safe values, for before/after."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq, "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id, "actor": event.actor, "entity": event.entity,
        "entity_id": event.entity_id, "action": event.action,
        "before": event.before, "after": event.after, "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(actor: Any, entity: str, entity_id: Any, action: str,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Append one event in the caller's transaction. `actor` is a Staff or None (the system)."""
    head = db.session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)  # the locked row, not a copy cached earlier
    ).scalar_one_or_none()
    if head is None:  # the migration seeds it; tolerate a hand-made database
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        db.session.add(head)
        db.session.flush()
    event = AuditEvent(
        seq=head.seq + 1,
        at=clock.now(),
        actor_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or "system",
        entity=entity, entity_id=str(entity_id), action=action,
        before=_jsonable(before), after=_jsonable(after), prev_hash=head.hash,
    )
    event.hash = _digest(event)
    db.session.add(event)
    head.seq, head.hash = event.seq, event.hash
    db.session.flush()
    return event


@dataclass
class ChainReport:
    ok: bool
    events: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str | None = None


def verify_chain() -> ChainReport:
    """Walk the chain in seq order; name the first event that does not hold."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    # yield_per streams through a server-side cursor on PostgreSQL: close it even when we
    # stop early at a break, or it stays open in the transaction.
    result = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    with result:
        for event in result.scalars():
            count += 1
            if event.seq != expected_seq:
                return ChainReport(False, count, expected_seq, event.id,
                                   f"event seq {expected_seq} is missing (next found: {event.seq})")
            if event.prev_hash != prev_hash:
                return ChainReport(False, count, event.seq, event.id,
                                   "previous-hash link broken (an event was removed or reordered)")
            if _digest(event) != event.hash:
                return ChainReport(False, count, event.seq, event.id,
                                   "content does not match its hash (edited)")
            prev_hash, expected_seq = event.hash, expected_seq + 1
    head = db.session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        return ChainReport(False, count, expected_seq, None,
                           f"chain ends at seq {expected_seq - 1} but the head says {head_seq} (tail removed)")
    return ChainReport(True, count)


def list_events(entity: str | None = None, entity_id: str | None = None,
                page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    total = db.session.execute(select(db.func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(
        query.order_by(AuditEvent.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    ).scalars().all()
    return list(items), total
