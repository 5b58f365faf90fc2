"""The open payables per store, kept current for the liabilities report (issue 16).

`payout_totals` holds, per store and open payout status (awaiting_approval, approved), the gross
fen the `payout_totals` job has folded in; `payout_total_deltas` what writers appended since, in
their own transaction (insert only: no writer waits on a store's total row, none is lost). The
report reads both in one statement, so it shows exactly what the payouts say."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db


class PayoutTotal(db.Model):
    __tablename__ = "payout_totals"
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class PayoutTotalDelta(db.Model):
    __tablename__ = "payout_total_deltas"
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(BigInteger)
