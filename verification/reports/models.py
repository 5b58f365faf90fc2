"""Summary tables of the referral reports (issue 16): counts per group calendar day and store.

`report_counts` holds what the compaction job has folded in; `report_count_deltas` what writers
have appended since, in their own transaction (insert only: no counter row is locked by a writer,
so no hot row serialises them, and no update is lost). A report reads both in one statement, so
it is never stale: the figures are those of the base rows as committed.

A row is (day, store, staff, metric, bucket) -> n:
- metric a referral status (registered ... unwound): referrals registered that day in that store
  by that consultant (staff), now in that status;
- `penalties` (fen), `reopened`, `held`: by the registering consultant;
- `fact_changes`: by the staff member who made the change (0: nobody on record);
- `ring_acknowledged` / `ring_checked` (bucket: the manager who acknowledged / delivery-checked it),
  `ring_bad` (fraudulent or review-rejected): by the registering consultant, the ring signals'
  view of his window (verification.rings.load);
- `hours` (bucket: tenths of an hour from delivery to the verdict), `calls` (calls made),
  `first_call` (decided on the first call): per store (staff 0), referrals decided by a callback.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db


class ReportCount(db.Model):
    __tablename__ = "report_counts"
    __table_args__ = (Index("ix_report_counts_staff_day", "staff_id", "day"),)  # a consultant's window
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ReportCountDelta(db.Model):
    __tablename__ = "report_count_deltas"
    __table_args__ = (Index("ix_report_count_deltas_day", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    store_id: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(20))
    bucket: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(BigInteger)
