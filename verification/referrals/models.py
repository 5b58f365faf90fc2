"""Referrals (推荐购车报备) and the flags that send a referrer's claims to review."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, and_, func, literal_column, or_, text
from sqlalchemy.orm import Mapped, joinedload, lazyload, mapped_column, relationship

from loyalty import clock
from loyalty.directory.models import Customer, Staff, Store
from loyalty.extensions import db
from loyalty.types import UTCDateTime

REGISTERED = "registered"            # 已报备
UNDER_REVIEW = "under_review"        # 待审核
AWAITING_CALLBACK = "awaiting_callback"  # 待回访
VERIFIED = "verified"                # 已核实
FRAUDULENT = "fraudulent"            # 作假
UNVERIFIABLE = "unverifiable"        # 无法核实
REJECTED = "rejected"                # 已驳回
EXPIRED = "expired"                  # 已过期
UNWOUND = "unwound"                  # 已退车

STATUSES = (REGISTERED, UNDER_REVIEW, AWAITING_CALLBACK, VERIFIED, FRAUDULENT,
            UNVERIFIABLE, REJECTED, EXPIRED, UNWOUND)
# A referee has at most one referral in these (REG-4).
LIVE = (REGISTERED, UNDER_REVIEW, AWAITING_CALLBACK)
_LIVE_SQL = "status IN ('registered', 'under_review', 'awaiting_callback')"

# from -> allowed next statuses
TRANSITIONS: dict[str, tuple[str, ...]] = {
    REGISTERED: (AWAITING_CALLBACK, REJECTED, EXPIRED, UNDER_REVIEW),  # held later: a ring risk found by the job
    UNDER_REVIEW: (REGISTERED, REJECTED, EXPIRED),
    AWAITING_CALLBACK: (VERIFIED, FRAUDULENT, UNVERIFIABLE, UNWOUND),
    VERIFIED: (UNWOUND,),
    FRAUDULENT: (),
    UNVERIFIABLE: (),
    REJECTED: (REGISTERED,),  # only a delivery-check rejection, reopened once (DEL-3)
    EXPIRED: (),
    UNWOUND: (),
}


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("uq_referrals_live_referee", "referee_id", unique=True,
              postgresql_where=text(_LIVE_SQL), sqlite_where=text(_LIVE_SQL)),
        Index("ix_referrals_referrer_registered", "referrer_id", "registered_at"),
        Index("ix_referrals_store_status", "store_id", "status"),
        # keyset paging of the lists, newest first (migration 0010l_list_indexes)
        Index("ix_referrals_registered_id", "registered_at", "id"),
        Index("ix_referrals_store_registered_id", "store_id", "registered_at", "id"),
        Index("ix_referrals_registrant_registered_id", "registered_by_id", "registered_at", "id"),
        # a list searched by the claimed referrer's name, as customers' names are (0015c; PostgreSQL)
        Index("ix_referrals_store_claim_name_grams", "store_id", func.name_grams(literal_column("claim_referrer_name")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    referee_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(20), default=REGISTERED)
    # The claim as the new customer stated it at registration.
    claim_referrer_name: Mapped[str] = mapped_column(String(60))
    claim_referrer_phone: Mapped[str] = mapped_column(String(20))
    claim_referrer_model: Mapped[str] = mapped_column(String(60))
    claim_referrer_colour: Mapped[str] = mapped_column(String(30))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    review_required: Mapped[str | None] = mapped_column(String(200))  # why it went to review
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    review_decision: Mapped[str | None] = mapped_column(String(10))
    review_reason: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    delivery_checks: Mapped[dict | None] = mapped_column(JSON)
    delivered_vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    reason: Mapped[str | None] = mapped_column(String(40))  # machine reason of a rejection/expiry
    reason_text: Mapped[str | None] = mapped_column(String(500))
    reward_amount: Mapped[int | None] = mapped_column()
    reward_unit: Mapped[str | None] = mapped_column(String(3))
    reward_transfer_id: Mapped[int | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    store: Mapped[Store] = relationship(lazy="select")
    referrer: Mapped[Customer] = relationship(foreign_keys=[referrer_id], lazy="selectin")
    referee: Mapped[Customer] = relationship(foreign_keys=[referee_id], lazy="selectin")
    registered_by: Mapped[Staff] = relationship(foreign_keys=[registered_by_id], lazy="select")
    acknowledged_by: Mapped[Staff | None] = relationship(foreign_keys=[acknowledged_by_id])
    reviewed_by: Mapped[Staff | None] = relationship(foreign_keys=[reviewed_by_id])
    delivery_checked_by: Mapped[Staff | None] = relationship(foreign_keys=[delivery_checked_by_id])
    # every decided delivery check, oldest first (verification.delivery.models.CheckRecord)
    check_records: Mapped[list[CheckRecord]] = relationship(  # noqa: F821
        "CheckRecord", viewonly=True, order_by="CheckRecord.id", lazy="selectin")

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def reopened_check(self):
        """The delivery check whose rejection was reopened (at most one), or None."""
        return next((record for record in self.check_records if record.reopened_at is not None), None)


def for_a_verdict() -> tuple:
    """Loader options of the referral a verdict locks: both parties without their cars and the store
    with its policy (the payout's evidence and approval threshold, a fraud's penalty), joined into
    the locked read, whose FOR UPDATE names the referral alone; its delivery check history not at
    all (a verdict reads the checks' summary column). Five statements fewer per verdict (issue 16)."""
    return (*parties_joined_without_cars(), joinedload(Referral.store).joinedload(Store.policy),
            lazyload(Referral.check_records))


def parties_joined_without_cars() -> tuple:
    """Loader options: a referral's two parties without their cars, joined into the read's own
    statement (two joins on the customers' key): for a list's page, no second and third statement,
    and 13 % less CPU for a page of 50 (19.2 -> 16.7 ms, api16_1m)."""
    return (joinedload(Referral.referrer).options(lazyload(Customer.vehicles)),
            joinedload(Referral.referee).options(lazyload(Customer.vehicles)))


def bad_outcome(status: str, reason: str | None) -> bool:
    """A referral that counts against its consultant and referrer (the ring signals' history): found
    fraudulent, or rejected by a manager's review."""
    return status == FRAUDULENT or (status == REJECTED and reason == "review_rejected")


def bad_outcome_sql():
    """`bad_outcome` as a SQL condition on the referrals table."""
    return or_(Referral.status == FRAUDULENT, and_(Referral.status == REJECTED, Referral.reason == "review_rejected"))


class ReferrerFlag(db.Model):
    """A referrer caught in an earlier fraud: their next referrals go to review (REG-5, LED-9)."""
    __tablename__ = "referrer_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    reason: Mapped[str] = mapped_column(String(200))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FactChange(db.Model):
    """A verification fact or vehicle of a party recorded while the referral was live (CB-10).

    Shown to the managers on the referral and counted per staff member in the reports; the value
    itself is not kept here (it is the answer key)."""
    __tablename__ = "referral_fact_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    party: Mapped[str] = mapped_column(String(10))  # referrer | referee
    fact: Mapped[str] = mapped_column(String(20))   # employer ... occupation | vehicle
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    desk: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    changed_by: Mapped[Staff | None] = relationship(lazy="select")
