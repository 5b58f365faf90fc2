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

import logging
from typing import Any, Iterable

from sqlalchemy import select, text

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
from loyalty.audit.checkpoints import Checkpoint
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
from loyalty.audit.models import AuditEvent
from loyalty.audit.verifying import (  # noqa: F401 - verifying is read through this module too
    ChainBroken,
    ChainReport,
    _verify,
    events_to_walk,
    progress_record,
    read_checkpoints,
    starting_point,
    verify_chain,
)
from loyalty.audit.walking import problem as _problem  # noqa: F401
from loyalty.extensions import db
from loyalty.paging import page_of

log = logging.getLogger(__name__)
def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of a model as JSON-safe values, for before/after."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}



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
