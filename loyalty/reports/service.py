"""Money reports (资金报表): reward liabilities by store, reconciled with the ledger.

pending   what delivery checks have reserved and callbacks have not yet decided
          (the store's referral_expense pending balance, CNY);
awaiting  posted rewards whose payouts wait for approval; approved: approved, not yet paid;
payable   awaiting + approved (what the store still owes referrers, gross of offsets).
The group line compares the payouts' payable with the ledger's reward_payable accounts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from loyalty.auth import access
from loyalty.directory.models import Store
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account
from loyalty.payouts.models import AWAITING_APPROVAL
from loyalty.reports import totals


@dataclass
class StoreLiability:
    store_id: int
    code: str
    name: str
    pending: int = 0
    awaiting: int = 0
    approved: int = 0

    @property
    def payable(self) -> int:
        return self.awaiting + self.approved

    def as_dict(self) -> dict:
        return {"store_id": self.store_id, "code": self.code, "name": self.name, "pending": self.pending,
                "awaiting_approval": self.awaiting, "approved": self.approved, "payable": self.payable}


@dataclass
class Liabilities:
    stores: list[StoreLiability] = field(default_factory=list)
    ledger_payable: int | None = None  # all referrers' reward_payable (group-level viewers only)
    ledger_receivable: int | None = None

    @property
    def totals(self) -> dict:
        return {"pending": sum(s.pending for s in self.stores), "payable": sum(s.payable for s in self.stores),
                "awaiting_approval": sum(s.awaiting for s in self.stores),
                "approved": sum(s.approved for s in self.stores)}


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
    # the open payables per store kept current by the writers (issue 16), not every open payout
    for (store_id, status), total in totals.open_payables(list(stores)).items():
        if status == AWAITING_APPROVAL:
            stores[store_id].awaiting = int(total)
        else:
            stores[store_id].approved = int(total)
    report = Liabilities(list(stores.values()))
    if ids is None:  # the posted totals kept by every transfer (issue 16), not every referrer's account
        kept = ledger.posted_totals(("reward_payable", "reward_receivable"), "CNY")
        report.ledger_payable, report.ledger_receivable = kept["reward_payable"], kept["reward_receivable"]
    return report
