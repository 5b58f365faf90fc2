"""Reading the report counts of a period, and folding the writers' deltas into the summary (issue 16).

A period's whole days come from `report_counts` plus the deltas not folded in yet, read in one
statement (one snapshot: a compaction committing meanwhile is seen entirely or not at all); the
parts of a period that are not whole days of the group (a period from 10:30) are counted live
from the base rows with the same SQL as the rebuild, through the referrals' (registered_at) index.
The cost is the summary rows of the period (stores x days x staff x metrics), not the referrals.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, union_all

from loyalty.auth import access
from loyalty.extensions import db
from loyalty.reports import totals
from loyalty.web.tables import GROUP_TZ
from verification.referrals.models import STATUSES
from verification.reports.models import ReportCount, ReportCountDelta
from verification.reports.sources import COLUMNS, RING_METRICS, TIME_METRICS, families

Key = tuple[int, int, str, int]  # (store_id, staff_id, metric, bucket)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(GROUP_TZ))


def split(start: datetime | None, end: datetime | None):
    """([first, last) whole days of the group inside [start, end), or None; the instant ranges left
    over, counted live). An unbounded side is None."""
    zone = ZoneInfo(GROUP_TZ)
    first = last = None
    if start is not None:
        local = start.astimezone(zone)
        first = local.date() if _midnight(local.date()) == start else local.date() + timedelta(days=1)
    if end is not None:
        last = end.astimezone(zone).date()
    if first is not None and last is not None and first >= last:
        return None, ([(start, end)] if start < end else [])
    live = []
    if start is not None and start < _midnight(first):
        live.append((start, _midnight(first)))
    if end is not None and _midnight(last) < end:
        live.append((_midnight(last), end))
    return (first, last), live


def counts(actor, start: datetime | None, end: datetime | None, metrics: tuple[str, ...]) -> Counter[Key]:
    """n per (store, staff, metric, bucket) over the referrals registered in [start, end) in the
    stores `actor` may see."""
    store_ids = access.visible_store_ids(actor)
    days, live = split(start, end)
    out: Counter[Key] = Counter()
    if days is not None:
        parts = []
        for table in (ReportCount, ReportCountDelta):
            query = select(*(getattr(table, c) for c in COLUMNS)).where(table.metric.in_(metrics))
            if days[0] is not None:
                query = query.where(table.day >= days[0])
            if days[1] is not None:
                query = query.where(table.day < days[1])
            if store_ids is not None:
                query = query.where(table.store_id.in_(store_ids))
            parts.append(query)
        _add(out, union_all(*parts).subquery())
    for piece in live:
        rows = families(*piece, store_ids, rates=any(m not in TIME_METRICS for m in metrics),
                        times=any(m in TIME_METRICS for m in metrics)).subquery()
        _add(out, select(rows).where(rows.c.metric.in_(metrics)).subquery())
    return out


class ConsultantDays:
    """What the ring signals read of a consultant's window (verification.rings.load.use_day_counts):
    its whole days from the counts and their deltas, so a registration costs the same whatever the
    consultant's history (issue 16)."""

    @staticmethod
    def split(start: datetime, at: datetime):
        days, _ = split(start, at)
        return None if days is None else (*days, _midnight(days[0]), _midnight(days[1]))

    @staticmethod
    def rows(consultant, first, last):
        parts = [select(t.metric, t.bucket.label("manager"), t.n).where(
            t.staff_id == consultant, t.day >= first, t.day < last, t.metric.in_((*STATUSES, *RING_METRICS)))
            for t in (ReportCount, ReportCountDelta)]
        rows = union_all(*parts).subquery()
        return select(rows.c.metric, rows.c.manager, func.sum(rows.c.n).label("n")).group_by(rows.c.metric, rows.c.manager)


def _add(out: Counter[Key], rows) -> None:
    keys = (rows.c.store_id, rows.c.staff_id, rows.c.metric, rows.c.bucket)
    for store_id, staff_id, metric, bucket, n in db.session.execute(
            select(*keys, func.sum(rows.c.n)).group_by(*keys)):
        if n:
            out[(store_id, staff_id, metric, bucket)] += int(n)


# ---- the job --------------------------------------------------------------------------------

_FOLD = totals.fold_sql("report_counts", "report_count_deltas", COLUMNS[:-1])


def compact(limit: int = 50_000) -> bool:
    """Fold up to `limit` deltas into the summary (loyalty.reports.totals.fold: SKIP LOCKED and key
    order on PostgreSQL, so two schedulers never fold a delta twice nor deadlock, and a writer's
    delta not yet committed stays for the next run), then drop the counts gone to zero; True when
    some were folded."""
    folded = totals.fold(_FOLD, ReportCountDelta, limit)
    if folded:
        db.session.execute(ReportCount.__table__.delete().where(ReportCount.n == 0))
    return folded
