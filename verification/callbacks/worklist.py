"""What waits at the call desk and in the managers' answer reviews, counted for the home pages:
one grouped query per question, never a query per callback or per review."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from loyalty import clock
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.scoping import in_stores
from verification.callbacks.confirmations import CONFIRMERS
from verification.callbacks.models import CLAIMED, PLANNED, AnswerReview, Callback, Confirmation
from verification.referrals.models import AWAITING_CALLBACK, Referral

# A call still untaken this long after its due time is overdue on the admin's store health.
OVERDUE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class CallQueue:
    """The agent's queue: calls due now (the oldest due time) and when the next one falls due."""
    due: int
    oldest_due: datetime | None
    later: int
    next_due: datetime | None


def _claimable(now: datetime):
    """What claim_next may hand out: planned and due, or claimed on a lease that ran out."""
    return and_(Callback.due_at <= now, or_(Callback.status == PLANNED,
                                            and_(Callback.status == CLAIMED, Callback.lease_until <= now)))


def call_queue(agent) -> CallQueue:
    """Counted in one query over the agent's stores, as claim_next sees them."""
    now = clock.now()
    is_due = _claimable(now)
    is_later = and_(Callback.status == PLANNED, Callback.due_at > now)
    row = db.session.execute(in_stores(select(
        func.count(case((is_due, 1))), func.min(case((is_due, Callback.due_at))),
        func.count(case((is_later, 1))), func.min(case((is_later, Callback.due_at))),
    ), agent, Callback.store_id).where(Callback.status.in_((PLANNED, CLAIMED)))).one()
    return CallQueue(*row)


def overdue_by_store(actor) -> dict[int, int]:
    """Calls nobody took within OVERDUE_AFTER of their due time, per store."""
    now = clock.now()
    query = in_stores(select(Callback.store_id, func.count()), actor, Callback.store_id).where(
        _claimable(now), Callback.due_at <= now - OVERDUE_AFTER).group_by(Callback.store_id)
    return dict(db.session.execute(query).all())


def _untouched_by(actor_id: int):
    """The SQL twin of facts.involved_staff: `actor_id` neither registered, acknowledged, reviewed
    nor checked the referral, and has no audited action on it (CB-10's insiders)."""
    on_row = (Referral.registered_by_id, Referral.acknowledged_by_id, Referral.reviewed_by_id,
              Referral.delivery_checked_by_id)
    return and_(*(or_(column.is_(None), column != actor_id) for column in on_row),
                ~exists().where(AuditEvent.entity == "referral", AuditEvent.actor_id == actor_id,
                                AuditEvent.entity_id == cast(Referral.id, String)))


def answers_to_review(actor) -> tuple[int, datetime | None]:
    """Open answer reviews this manager may decide (as reviews.list_reviews lists them): how many,
    the oldest."""
    later = aliased(Callback)
    query = in_stores(select(func.count(), func.min(AnswerReview.created_at)), actor, AnswerReview.store_id).join(
        Referral, Referral.id == AnswerReview.referral_id).join(Callback, Callback.id == AnswerReview.callback_id).where(
        AnswerReview.decided_at.is_(None), Referral.status == AWAITING_CALLBACK,
        ~exists().where(later.referral_id == Callback.referral_id, later.sequence > Callback.sequence),
        _untouched_by(actor.id))
    return tuple(db.session.execute(query).one())


def verdicts_to_confirm(actor) -> tuple[int, datetime | None]:
    """Held verdicts this manager may settle (as confirmations.list_open lists them)."""
    if actor.role not in CONFIRMERS:
        return 0, None
    reviewed = exists().where(AnswerReview.referral_id == Referral.id, AnswerReview.reviewer_id == actor.id)
    query = in_stores(select(func.count(), func.min(Confirmation.created_at)), actor, Confirmation.store_id).join(
        Referral, Referral.id == Confirmation.referral_id).where(
        Confirmation.decided_at.is_(None), Referral.status == AWAITING_CALLBACK, ~reviewed, _untouched_by(actor.id))
    return tuple(db.session.execute(query).one())
