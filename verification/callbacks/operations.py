"""The one place a callback changes (ARCHITECTURE examples 5 and 6).

Every status move is checked against `models.TRANSITIONS` and written with an audit event
holding the before/after of `AUDIT_FIELDS`. Those fields never include the plan (callee, due
time, questions, truth): the audit trail carries only a digest of it (CB-4), added by the caller.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select

from loyalty import transitions
from loyalty.errors import Conflict
from loyalty.extensions import db
from verification.callbacks.models import CANCELLED, OPEN, TRANSITIONS, Callback

AUDIT_FIELDS = ("status", "referral_id", "sequence", "attempts_made", "claimed_by_id", "lease_until",
                "answered_by_id", "answered_at")


class InvalidTransition(Conflict):
    code = "invalid_transition"


Extra = dict[str, Any] | Callable[[Callback], dict[str, Any]] | None


def change_callback(actor, callback: Callback, action: str, *, extra: Extra = None, **changes: Any) -> Callback:
    """Apply `changes` through the transition table and audit them; `extra` adds facts that are not
    columns of the callback (a plan digest, the answers) to the after-image: a dict, or a function
    of the callback read once the change is flushed."""
    return transitions.change(actor, callback, entity="callback", action=action, audit_fields=AUDIT_FIELDS,
                              transitions=TRANSITIONS, error=InvalidTransition, changes=changes,
                              extra_after=extra if callable(extra) or extra is None else (lambda _c: extra))


def cancel_open(actor, referral_id: int, *, why: str, keep: int | None = None) -> list[int]:
    """Cancel the referral's callbacks still open (all but `keep`), each row locked and audited."""
    query = select(Callback).where(Callback.referral_id == referral_id, Callback.status.in_(OPEN))
    if keep is not None:
        query = query.where(Callback.id != keep)
    found = db.session.execute(query.order_by(Callback.id).with_for_update(of=Callback)
                               .execution_options(populate_existing=True)).unique().scalars().all()
    for callback in found:
        change_callback(actor, callback, "cancelled", status=CANCELLED, extra={"why": why})
    return [c.id for c in found]


def locked(*where) -> Callback | None:
    """The one callback matching `where`, row-locked and re-read; None when there is none or another
    transaction holds it (SKIP LOCKED: a second scheduler moves on instead of doing it twice)."""
    return db.session.execute(select(Callback).where(*where).with_for_update(skip_locked=True, of=Callback)
                              .execution_options(populate_existing=True)).unique().scalar_one_or_none()
