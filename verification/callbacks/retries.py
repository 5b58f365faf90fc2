"""Nobody picked up (CB-9): the attempt recorded, then the retry job re-plans the callback."""
from __future__ import annotations

from sqlalchemy import select

from loyalty import clock
from loyalty.extensions import db
from verification.callbacks import outcomes, planning
from verification.callbacks.answers import INCONCLUSIVE_REASON, verdict_of
from verification.callbacks.models import (
    ANSWERED,
    CANCELLED,
    EXHAUSTED,
    PLANNED,
    UNREACHABLE,
    Callback,
    CallbackAttempt,
)
from verification.callbacks.operations import change_callback, locked
from verification.callbacks.plans import due_window, plan_call, plan_digest
from verification.callbacks.queue import held_callback
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK


def mark_unreachable(agent, callback_id: int) -> Callback:
    callback = held_callback(agent, callback_id)
    change_callback(agent, callback, "unreachable", status=UNREACHABLE, claimed_by_id=None, lease_until=None,
                    attempts_made=callback.attempts_made + 1, extra={"attempt": callback.attempts_made + 1})
    db.session.add(CallbackAttempt(callback_id=callback.id, number=callback.attempts_made,
                                   due_at=callback.due_at, agent_id=agent.id, outcome="unreachable"))
    db.session.flush()
    return callback


def unreachable_ids(limit: int = 100) -> list[int]:
    """The callbacks waiting to be re-planned after nobody picked up (the retry job's items)."""
    return list(db.session.execute(select(Callback.id).where(Callback.status == UNREACHABLE)
                                   .order_by(Callback.id).limit(limit)).scalars())


def retry_one(callback_id: int) -> bool:
    """Re-plan one unreachable callback exactly once, even with several schedulers: its row is locked
    (SKIP LOCKED) and re-read under the lock; False when another scheduler took it first.

    A new random time within the policy until `callback_attempts` are used, then the
    other party with questions about the first, then `unverifiable`.
    """
    callback = locked(Callback.id == callback_id, Callback.status == UNREACHABLE)
    if callback is None:
        return False
    _replan(callback)
    return True


def retry_unreachable(limit: int = 100) -> int:
    """Re-plan every unreachable callback in one go (the job does it one commit per callback)."""
    return sum(1 for callback_id in unreachable_ids(limit) if retry_one(callback_id))


def _replan(callback: Callback) -> None:
    referral = referrals.lock(callback.referral_id)
    if referral.status != AWAITING_CALLBACK:
        change_callback(None, callback, "cancelled", status=CANCELLED, extra={"why": "referral decided"})
        return
    now = clock.now()
    if callback.attempts_made < referral.store.policy.callback_attempts:
        due, _window = due_window(referral, now)
        change_callback(None, callback, "rescheduled", status=PLANNED, due_at=due,
                        extra=lambda c: {"attempt": c.attempts_made + 1, "plan_sha256": plan_digest(c)})
        return
    change_callback(None, callback, "exhausted", status=EXHAUSTED)
    if callback.sequence == 1:
        other = "referrer" if callback.party == "referee" else "referee"
        try:
            plan_call(None, referral, other, 2, now, only=True)
            return
        except planning.NotEnoughFacts:
            pass  # the other party cannot be asked about this one: nobody left to call
    first = _inconclusive_first_call(callback)
    if first is not None:
        # the first callee failed with his "don't know"s and the other party never answered:
        # the first call stands as the last one, "don't know" counted as wrong (no escape by not
        # picking up); an inconclusive call is two wrong or more once its unknowns count
        outcomes.settle(None, referral, verdict_of(first, final=True))
        return
    outcomes.settle(None, referral, "unverifiable")


def _inconclusive_first_call(callback: Callback) -> Callback | None:
    if callback.sequence < 2 or (callback.drawn or {}).get("reason") != INCONCLUSIVE_REASON:
        return None
    return db.session.execute(select(Callback).where(
        Callback.referral_id == callback.referral_id, Callback.sequence == 1, Callback.status == ANSWERED)
    ).unique().scalars().first()
