"""Deliveries on record (交车记录) and the record of each delivery check (提车核对记录)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.directory.models import Customer, Staff, Store, Vehicle
from loyalty.extensions import db
from loyalty.types import UTCDateTime

# How a delivery came on record.
FROM_CHECK = "check"  # the delivery check of a referral, whatever its outcome
FROM_API = "api"      # POST /deliveries: recorded without a referral
FROM_DMS = "dms"      # a row of the dealer's sales system export (CSV)
SOURCES = (FROM_CHECK, FROM_API, FROM_DMS)

# Outcomes of a decided delivery check.
PASSED, LICENCE_MISMATCH, LATE_CLAIM = "passed", "licence_mismatch", "late_claim"


class Delivery(db.Model):
    """A car this group handed over: who took it, when, which vehicle (one delivery per vehicle).

    `time_known` is false when the sales system gave only the day: `delivered_at` is then the
    store's local midnight of that day, and the delivery check asks the manager for the time."""
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("uq_deliveries_vehicle_id", "vehicle_id", unique=True),
        Index("ix_deliveries_store_delivered", "store_id", "delivered_at"),
        Index("ix_deliveries_delivered_id", "delivered_at", "id"),  # keyset paging (0010l_list_indexes)
        CheckConstraint("source IN ('check', 'api', 'dms')", name="source_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_known: Mapped[bool] = mapped_column(default=True, server_default=true())
    source: Mapped[str] = mapped_column(String(10), default=FROM_CHECK, server_default=FROM_CHECK)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    store: Mapped[Store] = relationship(lazy="select")
    customer: Mapped[Customer] = relationship(lazy="selectin")
    vehicle: Mapped[Vehicle] = relationship(lazy="selectin")
    recorded_by: Mapped[Staff] = relationship(lazy="select")


class CheckRecord(db.Model):
    """One decided delivery check, kept for replay in a dispute: what the manager entered from
    the licence, the claim, the licence and the record side by side with the result per field,
    the delivery it was about, and (once) who reopened its rejection and why (DEL-3)."""
    __tablename__ = "delivery_check_records"
    __table_args__ = (
        CheckConstraint("outcome IN ('passed', 'licence_mismatch', 'late_claim')", name="outcome_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    # None only for checks decided before deliveries were recorded on rejection (migration 0008)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    outcome: Mapped[str] = mapped_column(String(20))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    licence: Mapped[dict] = mapped_column(JSON)      # as entered
    checks: Mapped[dict] = mapped_column(JSON)       # field -> result
    comparison: Mapped[dict] = mapped_column(JSON)   # field -> {claim, licence, record, result, note}
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reopen_reason: Mapped[str | None] = mapped_column(String(500))

    checked_by: Mapped[Staff] = relationship(foreign_keys=[checked_by_id], lazy="select")
    reopened_by: Mapped[Staff | None] = relationship(foreign_keys=[reopened_by_id], lazy="select")
