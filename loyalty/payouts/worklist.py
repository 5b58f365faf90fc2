"""What waits for finance (待审批, 已审批未支付), counted for the home pages: one grouped query,
with each group's total in fen (what is paid out: the reward less any receivable it settles)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.payouts.models import APPROVED, AWAITING_APPROVAL, OPEN, Payout
from loyalty.scoping import in_stores


@dataclass(frozen=True)
class Waiting:
    count: int = 0
    total: int = 0  # fen
    oldest: datetime | None = None


def open_payouts(actor) -> dict[str, Waiting]:
    """Awaiting approval and approved-unpaid payouts in the actor's stores, by status."""
    query = in_stores(select(Payout.status, func.count(), func.sum(Payout.gross_amount - Payout.offset_amount),
                             func.min(Payout.requested_at)), actor, Payout.store_id).where(
        Payout.status.in_(OPEN)).group_by(Payout.status)
    found = {status: Waiting(count, int(total or 0), oldest) for status, count, total, oldest in db.session.execute(query)}
    return {status: found.get(status, Waiting()) for status in (AWAITING_APPROVAL, APPROVED)}


def waiting_by_store(actor) -> dict[int, int]:
    """Payouts awaiting approval or payment, per store."""
    query = in_stores(select(Payout.store_id, func.count()), actor, Payout.store_id).where(
        Payout.status.in_(OPEN)).group_by(Payout.store_id)
    return dict(db.session.execute(query).all())
