"""Where fakes come from (LED-9): fraud, rejection and verification rates by consultant or
store, with the penalties, the delivery-check rejections reopened (DEL-3), the facts changed
while a referral was live (CB-10) and the verdicts held for a manager (CB-11); and callback
timeliness (delivery to verdict, attempts).

A referral counts in the period it was registered in (the group's calendar days).
Rates are over the referrals *decided* (no longer live): verified, fraudulent,
unverifiable, rejected, expired or unwound; live ones are shown as `open`.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, cast, func, select

from loyalty.directory.models import Staff, Store
from loyalty.errors import field_error
from loyalty.extensions import db
from loyalty.ledger.models import Account, Transfer
from loyalty.scoping import in_stores
from verification.callbacks.models import Callback, CallbackAttempt, Confirmation
from verification.delivery.models import CheckRecord
from verification.referrals.models import (
    EXPIRED,
    FRAUDULENT,
    LIVE,
    REJECTED,
    UNVERIFIABLE,
    UNWOUND,
    VERIFIED,
    FactChange,
    Referral,
)

GROUPINGS = ("consultant", "store")
VERDICTS = (VERIFIED, FRAUDULENT, UNVERIFIABLE)


@dataclass
class RateRow:
    key: int
    label: str
    store_code: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    penalties: int = 0  # fen, from the ledger
    reopened: int = 0   # referrals whose delivery-check rejection was reopened
    fact_changes: int = 0  # facts or vehicles changed while a referral was live (CB-10)
    held: int = 0          # passing verdicts held for a manager (CB-11)

    @property
    def registered(self) -> int:
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        return sum(self.counts.get(s, 0) for s in LIVE)

    @property
    def decided(self) -> int:
        return self.registered - self.open

    def rate(self, status: str) -> float | None:
        return round(self.counts.get(status, 0) / self.decided, 4) if self.decided else None

    def as_dict(self) -> dict:
        c = self.counts.get
        return {"key": self.key, "label": self.label, "store_code": self.store_code,
                "registered": self.registered, "open": self.open, "decided": self.decided,
                "verified": c(VERIFIED, 0), "fraudulent": c(FRAUDULENT, 0), "rejected": c(REJECTED, 0),
                "unverifiable": c(UNVERIFIABLE, 0), "expired": c(EXPIRED, 0), "unwound": c(UNWOUND, 0),
                "verification_rate": self.rate(VERIFIED), "fraud_rate": self.rate(FRAUDULENT),
                "rejection_rate": self.rate(REJECTED), "penalties": self.penalties,
                "reopened": self.reopened, "fact_changes": self.fact_changes, "held": self.held}


def _scoped(query, actor, start: datetime | None, end: datetime | None):
    query = in_stores(query, actor, Referral.store_id)
    if start is not None:
        query = query.where(Referral.registered_at >= start)
    if end is not None:
        query = query.where(Referral.registered_at < end)
    return query


def fraud_rates(actor, *, by: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """One row per consultant (the registering staff) or per store, busiest first."""
    if by not in GROUPINGS:
        raise field_error("by", "consultant or store")
    column = Referral.registered_by_id if by == "consultant" else Referral.store_id
    rows: dict[int, RateRow] = {}
    counts = db.session.execute(_scoped(select(column, Referral.status, func.count(Referral.id))
                                        .group_by(column, Referral.status), actor, start, end))
    for key, status, n in counts:
        rows.setdefault(key, RateRow(key, "")).counts[status] = n
    # The penalty transfers are few (one per fraud) and credited to the stores' penalty_income
    # accounts: read them through that index and find their referral by its id, instead of
    # computing 'referral:'||id||':penalty' for every referral of the period (issue 16).
    penalty_income = select(Account.id).where(Account.purpose == "penalty_income")
    referral_of = cast(func.substr(Transfer.subject, len("referral:") + 1), Integer)
    penalties = db.session.execute(_scoped(
        select(column, func.sum(Transfer.amount)).select_from(Transfer)
        .join(Referral, Referral.id == referral_of)
        .where(Transfer.credit_account_id.in_(penalty_income), Transfer.subject.like("referral:%"),
               Transfer.key.like("referral:%:penalty")).group_by(column),
        actor, start, end))
    for key, total in penalties:
        if key in rows:
            rows[key].penalties = int(total or 0)
    reopened = db.session.execute(_scoped(
        select(column, func.count(func.distinct(Referral.id)))
        .join(CheckRecord, CheckRecord.referral_id == Referral.id)
        .where(CheckRecord.reopened_at.is_not(None)).group_by(column), actor, start, end))
    for key, n in reopened:
        if key in rows:
            rows[key].reopened = int(n)
    # a fact change counts against whoever made it (a manager too), on referrals of the period
    changer = FactChange.changed_by_id if by == "consultant" else Referral.store_id
    changed = db.session.execute(_scoped(
        select(changer, func.count(FactChange.id)).join(Referral, Referral.id == FactChange.referral_id)
        .where(changer.is_not(None)).group_by(changer), actor, start, end))
    for key, n in changed:
        rows.setdefault(key, RateRow(key, "")).fact_changes = int(n)
    held = db.session.execute(_scoped(
        select(column, func.count(Confirmation.id)).join(Confirmation, Confirmation.referral_id == Referral.id)
        .group_by(column), actor, start, end))
    for key, n in held:
        if key in rows:
            rows[key].held = int(n)
    _label(rows, by)
    return [r.as_dict() for r in sorted(rows.values(), key=lambda r: (-r.registered, r.label))]


def _label(rows: dict[int, RateRow], by: str) -> None:
    if not rows:
        return
    if by == "store":
        for store in db.session.execute(select(Store).where(Store.id.in_(list(rows)))).unique().scalars():
            rows[store.id].label, rows[store.id].store_code = f"{store.code} {store.name}", store.code
        return
    for staff in db.session.execute(select(Staff).where(Staff.id.in_(list(rows)))).unique().scalars():
        code = staff.store.code if staff.store else ""
        rows[staff.id].label, rows[staff.id].store_code = staff.display_name, code


# ---- callback timeliness -------------------------------------------------------------------

def _hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def timeliness(actor, *, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """Per store, over referrals registered in the period and decided by a callback:
    hours from delivery to the verdict (mean, median, max) and calls made per referral."""
    # the calls made for each referral in the same statement, through the callbacks' referral index
    # (issue 16: one query, not one IN list per 500 referrals)
    calls_made = (select(func.count(CallbackAttempt.id)).join(Callback, CallbackAttempt.callback_id == Callback.id)
                  .where(Callback.referral_id == Referral.id).correlate(Referral).scalar_subquery())
    decided = db.session.execute(_scoped(
        select(Referral.store_id, Referral.delivered_at, Referral.closed_at, calls_made)
        .where(Referral.status.in_(VERDICTS), Referral.delivered_at.is_not(None), Referral.closed_at.is_not(None)),
        actor, start, end))
    per_store: dict[int, list[tuple[float, int]]] = {}
    for store_id, delivered_at, closed_at, calls in decided:
        per_store.setdefault(store_id, []).append((_hours(closed_at - delivered_at), int(calls or 0)))
    stores = {s.id: s for s in db.session.execute(select(Store).where(Store.id.in_(list(per_store))))
              .unique().scalars()} if per_store else {}
    rows = []
    for store_id, items in sorted(per_store.items(), key=lambda kv: stores[kv[0]].code):
        hours = [h for h, _ in items]
        calls = [a for _, a in items]
        rows.append({"store_id": store_id, "label": f"{stores[store_id].code} {stores[store_id].name}",
                     "store_code": stores[store_id].code, "decided": len(items),
                     "mean_hours": round(statistics.fmean(hours), 1),
                     "median_hours": round(statistics.median(hours), 1),
                     "max_hours": max(hours), "attempts": sum(calls),
                     "mean_attempts": round(statistics.fmean(calls), 2),
                     "first_call_share": round(sum(1 for a in calls if a <= 1) / len(calls), 4)})
    return rows
