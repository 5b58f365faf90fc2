"""Where fakes come from (LED-9): fraud, rejection and verification rates by consultant or
store, with the penalties, the delivery-check rejections reopened (DEL-3), the facts changed
while a referral was live (CB-10) and the verdicts held for a manager (CB-11); and callback
timeliness (delivery to verdict, attempts).

A referral counts in the period it was registered in (the group's calendar days).
Rates are over the referrals *decided* (no longer live): verified, fraudulent,
unverifiable, rejected, expired or unwound; live ones are shown as `open`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from loyalty.directory.models import Staff, Store
from loyalty.errors import field_error
from loyalty.extensions import db
from verification.referrals.models import (
    EXPIRED,
    FRAUDULENT,
    LIVE,
    REJECTED,
    STATUSES,
    UNVERIFIABLE,
    UNWOUND,
    VERIFIED,
)
from verification.reports.counts import counts
from verification.reports.sources import NOBODY, RATE_METRICS, TIME_METRICS

GROUPINGS = ("consultant", "store")


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


def fraud_rates(actor, *, by: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """One row per consultant (the registering staff) or per store, busiest first.

    Read from the report counts (issue 16: per day and store, kept current by the writers'
    deltas), not from every referral of the period."""
    if by not in GROUPINGS:
        raise field_error("by", "consultant or store")
    found = counts(actor, start, end, RATE_METRICS)
    rows: dict[int, RateRow] = {}
    for (store_id, staff_id, metric, _bucket), n in found.items():
        if metric in STATUSES:
            row = rows.setdefault(staff_id if by == "consultant" else store_id, RateRow(0, ""))
            row.counts[metric] = row.counts.get(metric, 0) + n
    for (store_id, staff_id, metric, _bucket), n in found.items():
        key = staff_id if by == "consultant" else store_id
        if metric == "fact_changes":
            # a fact change counts against whoever made it (a manager too), on referrals of the period
            if by == "store" or staff_id != NOBODY:
                rows.setdefault(key, RateRow(0, "")).fact_changes += n
        elif metric in ("penalties", "reopened", "held") and key in rows:
            setattr(rows[key], metric, getattr(rows[key], metric) + n)
    for key, row in rows.items():
        row.key = key
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

def timeliness(actor, *, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """Per store, over referrals registered in the period and decided by a callback:
    hours from delivery to the verdict (mean, median, max; each referral's to the tenth, half a
    tenth up) and calls made per referral. Read from the report counts: a histogram of tenths per
    day and store gives the exact median without reading the referrals (issue 16)."""
    per_store: dict[int, dict] = {}
    for (store_id, _staff, metric, bucket), n in counts(actor, start, end, TIME_METRICS).items():
        store = per_store.setdefault(store_id, {"hours": Counter(), "calls": 0, "first_call": 0})
        if metric == "hours":
            store["hours"][bucket] += n
        else:
            store[metric] += n
    per_store = {k: v for k, v in per_store.items() if sum(v["hours"].values())}
    stores = {s.id: s for s in db.session.execute(select(Store).where(Store.id.in_(list(per_store))))
              .unique().scalars()} if per_store else {}
    rows = []
    for store_id, got in sorted(per_store.items(), key=lambda kv: stores[kv[0]].code):
        hist, decided = got["hours"], sum(got["hours"].values())
        rows.append({"store_id": store_id, "label": f"{stores[store_id].code} {stores[store_id].name}",
                     "store_code": stores[store_id].code, "decided": decided,
                     "mean_hours": round(sum(t * k for t, k in hist.items()) / (10 * decided), 1),
                     "median_hours": round(median_tenths(hist) / 10, 1), "max_hours": max(hist) / 10,
                     "attempts": got["calls"], "mean_attempts": round(got["calls"] / decided, 2),
                     "first_call_share": round(got["first_call"] / decided, 4)})
    return rows


def median_tenths(histogram: Counter[int]) -> float:
    """The median of the values a histogram (value -> how many) holds, as statistics.median."""
    total, seen, middle = sum(histogram.values()), 0, []
    wanted = {(total - 1) // 2, total // 2}
    for value in sorted(histogram):
        for index in sorted(wanted):
            if seen <= index < seen + histogram[value]:
                middle.append(value)
        seen += histogram[value]
    return sum(middle) / len(middle)
