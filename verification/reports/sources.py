"""The report counts computed from the base rows, as set-based SQL (issue 16).

One statement per kind of count, all of the shape (day, store_id, staff_id, metric, bucket, n)
that `report_counts` keeps (verification/reports/models.py). The same statements rebuild the
summary from scratch (`flask reports rebuild`) and compute, live, the pieces of a period that are
not whole days. A day is a calendar day of the dealer group (GROUP_TZ), as report periods are.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, case, cast, extract, func, literal, select, union_all
from sqlalchemy.sql import Select

from loyalty.extensions import db
from loyalty.ledger.models import Account, Transfer
from loyalty.reports import totals
from loyalty.web.tables import GROUP_TZ
from verification.callbacks.models import Callback, CallbackAttempt, Confirmation
from verification.delivery.models import CheckRecord
from verification.referrals.models import (
    FRAUDULENT,
    STATUSES,
    UNVERIFIABLE,
    VERIFIED,
    FactChange,
    Referral,
    bad_outcome_sql,
)
from verification.reports.models import ReportCount, ReportCountDelta

VERDICTS = (VERIFIED, FRAUDULENT, UNVERIFIABLE)
RATE_METRICS = (*STATUSES, "penalties", "reopened", "fact_changes", "held")
# per registering consultant, what the ring signals read of his window (verification.rings.load)
RING_METRICS = ("ring_acknowledged", "ring_checked", "ring_bad")
TIME_METRICS = ("hours", "calls", "first_call")
COLUMNS = ("day", "store_id", "staff_id", "metric", "bucket", "n")
NOBODY = 0  # staff_id of counts kept per store only, and of fact changes with no staff on record
TENTH = 360_000_000  # microseconds in a tenth of an hour


def group_day(at: datetime):
    """The dealer group's calendar day of an instant."""
    return at.astimezone(ZoneInfo(GROUP_TZ)).date()


def tenths(delivered_at: datetime, closed_at: datetime) -> int:
    """Tenths of an hour from delivery to the verdict, half a tenth rounded up, in exact integers."""
    return ((closed_at - delivered_at) // timedelta(microseconds=1) + TENTH // 2) // TENTH


def _day(column, dialect: str):
    if dialect == "postgresql":
        return cast(func.timezone(GROUP_TZ, column), Date)
    # SQLite keeps naive UTC text: shift by the zone's offset (Asia/Shanghai has kept +08:00 since 1991)
    minutes = int(ZoneInfo(GROUP_TZ).utcoffset(datetime.now()).total_seconds() // 60)
    return func.date(column, f"{minutes:+d} minutes", type_=Date)


def _micros(column):
    """SQLite: microseconds since the epoch of a stored 'YYYY-MM-DD HH:MM:SS.ffffff', exactly."""
    seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    return seconds * 1_000_000 + cast(func.substr(column, 21, 6), Integer)


def _tenths(delivered, closed, dialect: str):
    if dialect == "postgresql":
        micros = extract("epoch", closed - delivered) * 1_000_000
        return cast(func.floor((micros + TENTH // 2) / TENTH), Integer)
    return (_micros(closed) - _micros(delivered) + TENTH // 2) // TENTH


def _in(query: Select, start, end, store_ids) -> Select:
    if start is not None:
        query = query.where(Referral.registered_at >= start)
    if end is not None:
        query = query.where(Referral.registered_at < end)
    if store_ids is not None:
        query = query.where(Referral.store_id.in_(store_ids))
    return query


def families(start: datetime | None = None, end: datetime | None = None,
             store_ids: list[int] | None = None, *, rates: bool = True, times: bool = True,
             dialect: str | None = None) -> Select:
    """Every count of the referrals registered in [start, end) of these stores, from the base rows."""
    dialect = dialect or db.session.get_bind().dialect.name
    day = _day(Referral.registered_at, dialect).label("day")
    zero = literal(0, Integer)
    parts = []
    if rates:
        parts += _rates(day, zero, start, end, store_ids)
    if times:
        parts += _times(day, zero, dialect, start, end, store_ids)
    return union_all(*(part.with_only_columns(*(column.label(name) for column, name in
                                                zip(part.selected_columns, COLUMNS))) for part in parts))


def _rates(day, zero, start, end, store_ids) -> list[Select]:
    registrant = Referral.registered_by_id
    statuses = _in(select(day, Referral.store_id, registrant, Referral.status, zero, func.count())
                   .group_by(day, Referral.store_id, registrant, Referral.status), start, end, store_ids)
    # the stores' penalty_income transfers, found by their referral's id (as fraud_rates read them)
    penalty_income = select(Account.id).where(Account.purpose == "penalty_income")
    referral_of = cast(func.substr(Transfer.subject, len("referral:") + 1), Integer)
    penalties = _in(select(day, Referral.store_id, registrant, literal("penalties"), zero, func.sum(Transfer.amount))
                    .select_from(Transfer).join(Referral, Referral.id == referral_of)
                    .where(Transfer.credit_account_id.in_(penalty_income), Transfer.subject.like("referral:%"),
                           Transfer.key.like("referral:%:penalty"))
                    .group_by(day, Referral.store_id, registrant), start, end, store_ids)
    reopened = _in(select(day, Referral.store_id, registrant, literal("reopened"), zero,
                          func.count(func.distinct(Referral.id)))
                   .join(CheckRecord, CheckRecord.referral_id == Referral.id)
                   .where(CheckRecord.reopened_at.is_not(None)).group_by(day, Referral.store_id, registrant),
                   start, end, store_ids)
    changer = func.coalesce(FactChange.changed_by_id, NOBODY)
    changes = _in(select(day, Referral.store_id, changer, literal("fact_changes"), zero, func.count(FactChange.id))
                  .join(Referral, Referral.id == FactChange.referral_id)
                  .group_by(day, Referral.store_id, changer), start, end, store_ids)
    held = _in(select(day, Referral.store_id, registrant, literal("held"), zero, func.count(Confirmation.id))
               .join(Confirmation, Confirmation.referral_id == Referral.id)
               .group_by(day, Referral.store_id, registrant), start, end, store_ids)
    decided = [_in(select(day, Referral.store_id, registrant, literal(metric), manager, func.count())
                   .where(manager.is_not(None)).group_by(day, Referral.store_id, registrant, manager), start, end, store_ids)
               for metric, manager in (("ring_acknowledged", Referral.acknowledged_by_id),
                                       ("ring_checked", Referral.delivery_checked_by_id))]
    bad = _in(select(day, Referral.store_id, registrant, literal("ring_bad"), zero, func.count())
              .where(bad_outcome_sql()).group_by(day, Referral.store_id, registrant), start, end, store_ids)
    return [statuses, penalties, reopened, changes, held, *decided, bad]


def _times(day, zero, dialect, start, end, store_ids) -> list[Select]:
    calls = (select(func.count(CallbackAttempt.id)).join(Callback, CallbackAttempt.callback_id == Callback.id)
             .where(Callback.referral_id == Referral.id).correlate(Referral).scalar_subquery())
    decided = _in(select(day, Referral.store_id,
                         _tenths(Referral.delivered_at, Referral.closed_at, dialect).label("tenths"),
                         calls.label("calls"))
                  .where(Referral.status.in_(VERDICTS), Referral.delivered_at.is_not(None),
                         Referral.closed_at.is_not(None)), start, end, store_ids).cte("decided")
    nobody = literal(NOBODY, Integer)
    hours = select(decided.c.day, decided.c.store_id, nobody, literal("hours"), decided.c.tenths, func.count()
                   ).group_by(decided.c.day, decided.c.store_id, decided.c.tenths)
    made = select(decided.c.day, decided.c.store_id, nobody, literal("calls"), zero, func.sum(decided.c.calls)
                  ).group_by(decided.c.day, decided.c.store_id)
    first = select(decided.c.day, decided.c.store_id, nobody, literal("first_call"), zero,
                   func.sum(case((decided.c.calls <= 1, 1), else_=0))).group_by(decided.c.day, decided.c.store_id)
    return [hours, made, first]


def rebuild() -> int:
    """Recompute every count from the base rows (set-based), replacing the summary and its deltas
    (`loyalty.reports.totals.replace_summary`: the lock and the snapshot). The caller commits."""
    return totals.replace_summary(ReportCount, ReportCountDelta, list(COLUMNS), families())
