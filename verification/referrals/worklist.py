"""What waits in the showroom (工作队列), counted for the home pages: one grouped query per
question, never a query per referral. Each count comes with the oldest waiting time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, select

from loyalty.extensions import db
from loyalty.scoping import in_stores
from verification.referrals.models import LIVE, REGISTERED, UNDER_REVIEW, Referral


def _grouped(query) -> dict[str, tuple[int, datetime | None]]:
    return {key: (count, oldest) for key, count, oldest in db.session.execute(query) if key is not None}


def my_referrals_by_status(actor) -> dict[str, tuple[int, datetime | None]]:
    """The referrals `actor` registered, per status: (how many, the oldest registration)."""
    query = in_stores(select(Referral.status, func.count(), func.min(Referral.registered_at)), actor,
                      Referral.store_id).where(Referral.registered_by_id == actor.id).group_by(Referral.status)
    return _grouped(query)


def manager_queues(actor) -> dict[str, tuple[int, datetime | None]]:
    """The managers' three referral queues, as `list_referrals(queue=...)` defines them, counted
    in one query: to acknowledge, to review (not one's own registration), awaiting the delivery check."""
    queue = case(
        ((Referral.acknowledged_at.is_(None)) & Referral.status.in_((REGISTERED, UNDER_REVIEW)), literal("acknowledge")),
        else_=None)
    review = case(((Referral.status == UNDER_REVIEW) & (Referral.registered_by_id != actor.id), literal("review")),
                  else_=None)
    delivery = case(((Referral.status == REGISTERED) & Referral.acknowledged_at.is_not(None), literal("delivery")),
                    else_=None)
    counts: dict[str, tuple[int, datetime | None]] = {}
    # a referral under review and not yet acknowledged sits in two queues: one query, three columns;
    # it waits for the delivery check since it was acknowledged, for the rest since it was registered
    since = (Referral.registered_at, Referral.registered_at, Referral.acknowledged_at)
    row = db.session.execute(in_stores(select(
        *(func.count(column) for column in (queue, review, delivery)),
        *(func.min(case((column.is_not(None), start))) for column, start in zip((queue, review, delivery), since, strict=True)),
    ), actor, Referral.store_id).where(Referral.status.in_((REGISTERED, UNDER_REVIEW)))).one()
    for i, name in enumerate(("acknowledge", "review", "delivery")):
        counts[name] = (row[i], row[3 + i])
    return counts


def open_by_store(actor) -> dict[int, int]:
    """Live referrals (registered, under review, awaiting the callback) per store."""
    query = in_stores(select(Referral.store_id, func.count()), actor, Referral.store_id).where(
        Referral.status.in_(LIVE)).group_by(Referral.store_id)
    return dict(db.session.execute(query).all())
