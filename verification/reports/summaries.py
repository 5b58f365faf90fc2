"""Keeping the report counts current as the base rows change (issue 16).

Every flush that changes what a report counts appends the difference to `report_count_deltas`
in the writer's own transaction: a referral's status (an old referral decided weeks later moves
its counts from one status to the other on the day it was registered), its delivery and verdict
times (with the calls made), a penalty charged with a fraud, a reopened delivery check, a fact
change, a verdict held for a manager. Insert only, so concurrent writers never wait on a counter
row and no update is lost; `counts.compact` (the `report_summaries` job) folds the deltas into
`report_counts`. Whatever the ORM writes is seen, whichever service wrote it; a bulk UPDATE of
these tables outside the ORM would not be (`flask reports rebuild` recomputes everything).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from loyalty.ledger.models import Account, Transfer
from verification.callbacks.models import Callback, CallbackAttempt, Confirmation
from verification.delivery.models import CheckRecord
from verification.referrals.models import FRAUDULENT, FactChange, Referral, bad_outcome
from verification.reports.counts import ConsultantDays
from verification.reports.models import ReportCountDelta
from verification.reports.sources import NOBODY, VERDICTS, group_day, tenths
from verification.rings import load as ring_load

FIELDS = ("status", "store_id", "registered_by_id", "registered_at", "delivered_at", "closed_at",
          "acknowledged_by_id", "delivery_checked_by_id", "reason")
_OLD = "report_summaries.old"  # session.info: referral id -> its counted fields before the flush


def watch() -> None:
    """Called once by the composition root: every session's flushes keep the counts."""
    ring_load.use_day_counts(ConsultantDays)  # the ring hook reads a consultant's window from the counts
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _changed(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in FIELDS)


def _before_flush(session: Session, _context, _instances) -> None:
    """The counted fields of each changed referral as they were, from the history or the row."""
    session.info[_OLD] = old = {}  # this flush's own (a flush that failed leaves nothing behind)
    changed = [obj for obj in session.dirty if isinstance(obj, Referral) and _changed(obj)]
    unknown = []
    for obj in changed:
        values = {}
        for name in FIELDS:
            history = inspect(obj).attrs[name].history
            before = history.deleted or history.unchanged
            if not before:  # set on an expired attribute: the old value was never loaded
                unknown.append(obj.id)
                break
            values[name] = before[0]
        else:
            old[obj.id] = values
    if unknown:
        columns = [getattr(Referral, name) for name in FIELDS]
        for row in session.connection().execute(select(Referral.id, *columns).where(Referral.id.in_(unknown))):
            old[row.id] = dict(zip(FIELDS, row[1:]))


def _after_flush(session: Session, _context) -> None:
    old = session.info.pop(_OLD, {})
    conn = session.connection()
    deltas: Counter[tuple] = Counter()
    referrals = [obj for obj in session.new if isinstance(obj, Referral)] + \
        [obj for obj in session.dirty if isinstance(obj, Referral) and obj.id in old]
    for obj in referrals:
        now = {name: getattr(obj, name) for name in FIELDS}
        before = old.get(obj.id)
        calls = _calls(conn, obj.id) if _decided(now) or (before and _decided(before)) else 0
        if before is not None:
            _count(deltas, before, -1, calls)
        _count(deltas, now, +1, calls)
        if now["status"] == FRAUDULENT and (before is None or before["status"] != FRAUDULENT):
            _penalty(deltas, conn, obj.id, now)
    _others(session, conn, deltas)
    rows = [dict(zip(("day", "store_id", "staff_id", "metric", "bucket"), key), n=n)
            for key, n in deltas.items() if n]
    if rows:
        conn.execute(insert(ReportCountDelta.__table__), rows)


def _decided(values: dict[str, Any]) -> bool:
    return values["status"] in VERDICTS and values["delivered_at"] is not None and values["closed_at"] is not None


def _count(deltas: Counter, values: dict[str, Any], sign: int, calls: int) -> None:
    day, store, consultant = group_day(values["registered_at"]), values["store_id"], values["registered_by_id"]
    deltas[(day, store, consultant, values["status"], 0)] += sign
    for metric, manager in (("ring_acknowledged", values["acknowledged_by_id"]),
                            ("ring_checked", values["delivery_checked_by_id"])):
        if manager is not None:
            deltas[(day, store, consultant, metric, manager)] += sign
    if bad_outcome(values["status"], values["reason"]):
        deltas[(day, store, consultant, "ring_bad", 0)] += sign
    if _decided(values):
        deltas[(day, store, NOBODY, "hours", tenths(values["delivered_at"], values["closed_at"]))] += sign
        deltas[(day, store, NOBODY, "calls", 0)] += sign * calls
        deltas[(day, store, NOBODY, "first_call", 0)] += sign * (calls <= 1)


def _calls(conn, referral_id: int) -> int:
    """Calls made for a referral, counted when it reaches or leaves a verdict. A call is made only
    while its referral awaits the callback (deciding cancels the other open calls, and answers to a
    cancelled call are refused), so a verdict's count does not change afterwards."""
    return conn.execute(select(func.count(CallbackAttempt.id)).join(Callback, CallbackAttempt.callback_id == Callback.id)
                        .where(Callback.referral_id == referral_id)).scalar_one()


def _penalty(deltas: Counter, conn, referral_id: int, values: dict[str, Any]) -> None:
    """The consultant's penalty charged with the fraud (LED-9), as the report reads it from the ledger."""
    amount = conn.execute(select(func.sum(Transfer.amount)).join(Account, Account.id == Transfer.credit_account_id)
                          .where(Transfer.key == f"referral:{referral_id}:penalty",
                                 Transfer.subject == f"referral:{referral_id}",
                                 Account.purpose == "penalty_income")).scalar_one()
    if amount:
        deltas[(group_day(values["registered_at"]), values["store_id"], values["registered_by_id"], "penalties", 0)] \
            += int(amount)


def _rows(conn, ids) -> dict[int, dict[str, Any]]:
    columns = [getattr(Referral, name) for name in FIELDS]
    return {row.id: dict(zip(FIELDS, row[1:]))
            for row in conn.execute(select(Referral.id, *columns).where(Referral.id.in_(list(ids))))} if ids else {}


def _others(session: Session, conn, deltas: Counter) -> None:
    """Fact changes, held verdicts and reopened delivery checks, counted on their referral's day."""
    counted: list[tuple[int, int, str]] = []  # (referral, staff or -1 for its registrant, metric)
    for obj in session.new:
        if isinstance(obj, FactChange):
            counted.append((obj.referral_id, obj.changed_by_id or NOBODY, "fact_changes"))
        elif isinstance(obj, Confirmation):
            counted.append((obj.referral_id, -1, "held"))
    reopened = [obj for obj in list(session.new) + list(session.dirty)
                if isinstance(obj, CheckRecord) and obj.reopened_at is not None
                and not inspect(obj).attrs["reopened_at"].history.unchanged]
    for record in reopened:
        others = conn.execute(select(func.count(CheckRecord.id)).where(
            CheckRecord.referral_id == record.referral_id, CheckRecord.reopened_at.is_not(None),
            CheckRecord.id != record.id)).scalar_one()
        if not others:  # a referral counts once, however many of its checks were reopened
            counted.append((record.referral_id, -1, "reopened"))
    values = _rows(conn, {referral_id for referral_id, _, _ in counted})
    for referral_id, staff, metric in counted:
        v = values[referral_id]
        staff = v["registered_by_id"] if staff == -1 else staff
        deltas[(group_day(v["registered_at"]), v["store_id"], staff, metric, 0)] += 1
