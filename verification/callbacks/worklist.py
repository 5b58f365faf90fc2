"""What waits at the call desk and in the managers' answer reviews, counted for the home pages:
one grouped query per question, never a query per callback or per review."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select

from loyalty import clock
from loyalty.extensions import db
from loyalty.scoping import in_stores
from verification.callbacks import confirmations, reviews
from verification.callbacks.models import CLAIMED, PLANNED, AnswerReview, Callback, Confirmation

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


def answers_to_review(actor) -> tuple[int, datetime | None]:
    """Open answer reviews this manager may decide (those reviews.list_reviews lists): how many, the oldest."""
    return tuple(db.session.execute(reviews.open_reviews(actor, func.count(), func.min(AnswerReview.created_at))).one())


def verdicts_to_confirm(actor) -> tuple[int, datetime | None]:
    """Held verdicts this manager may settle (those confirmations.list_open lists)."""
    return tuple(db.session.execute(
        confirmations.open_confirmations(actor, func.count(), func.min(Confirmation.created_at))).one())
