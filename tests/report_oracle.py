"""The referral reports computed from the base rows, as they were before the summaries (issue 16):
the oracle the summary-backed reports must equal. Timeliness hours are each referral's exact tenths
(half a tenth up), the definition the summary's histogram keeps."""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, cast, func, select

from loyalty.auth import access
from loyalty.directory.models import Store
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account, Transfer
from loyalty.payouts.models import APPROVED, AWAITING_APPROVAL, Payout
from loyalty.reports.service import Liabilities, StoreLiability
from loyalty.scoping import in_stores
from verification.callbacks.models import Callback, CallbackAttempt, Confirmation
from verification.delivery.models import CheckRecord
from verification.referrals.models import FRAUDULENT, UNVERIFIABLE, VERIFIED, FactChange, Referral
from verification.reports.service import RateRow, _label

VERDICTS = (VERIFIED, FRAUDULENT, UNVERIFIABLE)


def _scoped(query, actor, start: datetime | None, end: datetime | None):
    query = in_stores(query, actor, Referral.store_id)
    if start is not None:
        query = query.where(Referral.registered_at >= start)
    if end is not None:
        query = query.where(Referral.registered_at < end)
    return query


def fraud_rates(actor, *, by: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """One row per consultant (the registering staff) or per store, busiest first."""
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


def _tenths(delta: timedelta) -> int:
    return (delta // timedelta(microseconds=1) + 180_000_000) // 360_000_000


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
        per_store.setdefault(store_id, []).append((_tenths(closed_at - delivered_at), int(calls or 0)))
    stores = {s.id: s for s in db.session.execute(select(Store).where(Store.id.in_(list(per_store))))
              .unique().scalars()} if per_store else {}
    rows = []
    for store_id, items in sorted(per_store.items(), key=lambda kv: stores[kv[0]].code):
        hours = [h for h, _ in items]  # tenths
        calls = [a for _, a in items]
        rows.append({"store_id": store_id, "label": f"{stores[store_id].code} {stores[store_id].name}",
                     "store_code": stores[store_id].code, "decided": len(items),
                     "mean_hours": round(sum(hours) / (10 * len(hours)), 1),
                     "median_hours": round(statistics.median(hours) / 10, 1), "max_hours": max(hours) / 10, "attempts": sum(calls),
                     "mean_attempts": round(statistics.fmean(calls), 2),
                     "first_call_share": round(sum(1 for a in calls if a <= 1) / len(calls), 4)})
    return rows


# ---- money: the liabilities report summing the open payouts -------------------------------------

def liabilities(actor) -> Liabilities:
    ids = access.visible_store_ids(actor)
    query = select(Store).order_by(Store.code)
    if ids is not None:
        query = query.where(Store.id.in_(ids))
    stores = {s.id: StoreLiability(s.id, s.code, s.name) for s in db.session.execute(query).unique().scalars()}
    owners = {f"store:{i}": i for i in stores}
    for account in db.session.execute(select(Account).where(
            Account.owner.in_(list(owners)), Account.purpose == "referral_expense", Account.unit == "CNY")).scalars():
        stores[owners[account.owner]].pending = ledger.balance_of(account)["pending"]
    for store_id, status, total in db.session.execute(
            select(Payout.store_id, Payout.status, func.sum(Payout.gross_amount))
            .where(Payout.store_id.in_(list(stores)), Payout.status.in_((AWAITING_APPROVAL, APPROVED)))
            .group_by(Payout.store_id, Payout.status)):
        if status == AWAITING_APPROVAL:
            stores[store_id].awaiting = int(total)
        else:
            stores[store_id].approved = int(total)
    report = Liabilities(list(stores.values()))
    if ids is None:
        report.ledger_payable = _sum_balances("reward_payable")
        report.ledger_receivable = _sum_balances("reward_receivable")
    return report


def _sum_balances(purpose: str) -> int:
    """The posted balances of every `purpose` account in CNY, summed over the accounts (what the report
    summed before the kept totals, issue 16)."""
    credit_normal = Account.normal == "credit"
    posted = func.sum(case((credit_normal, Account.credits_posted - Account.debits_posted),
                           else_=Account.debits_posted - Account.credits_posted))
    return int(db.session.execute(select(func.coalesce(posted, 0)).where(
        Account.purpose == purpose, Account.unit == "CNY")).scalar_one())
