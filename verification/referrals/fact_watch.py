"""Facts recorded while a referral is live are flagged on it (CB-10).

A consultant who wants a fake to pass could type, after registering, the very facts the callback
will ask. Such versions are never asked about (the planner reads the facts as registered), and
every change to a party's verification facts or vehicles while the referral is live is put on the
referral for the managers and counted per staff member in the reports. The value is not kept
here: it is the answer key.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from loyalty.audit import service as audit
from loyalty.extensions import db
from verification.referrals.models import LIVE, FactChange, Referral

# Recorded by the procedure itself, not a change: the new car the delivery check records.
ROUTINE_SOURCES = frozenset({"delivery"})


def flag_live_referrals(actor, customer_id: int, fact: str, desk: str, source: str | None) -> None:
    """directory listener: a fact or vehicle of `customer_id` was recorded."""
    if source in ROUTINE_SOURCES:
        return
    live = db.session.execute(select(Referral).where(
        or_(Referral.referrer_id == customer_id, Referral.referee_id == customer_id),
        Referral.status.in_(LIVE))).unique().scalars().all()
    for referral in live:
        party = "referrer" if referral.referrer_id == customer_id else "referee"
        change = FactChange(referral_id=referral.id, customer_id=customer_id, party=party, fact=fact,
                            desk=desk, changed_by_id=actor.id if actor is not None else None)
        db.session.add(change)
        db.session.flush()
        audit.record(actor, "referral", referral.id, "fact_changed", None,
                     {"party": party, "fact": fact, "desk": desk, "fact_change_id": change.id})


def changes_of(referral_id: int) -> list[FactChange]:
    return list(db.session.execute(select(FactChange).where(FactChange.referral_id == referral_id)
                                   .order_by(FactChange.id)).unique().scalars())
