"""Stores (门店) with their policy, staff (员工), customers (客户) and vehicles (车辆)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.auth.models import Staff  # noqa: F401  (re-exported: staff log in, so auth keeps the model)
from loyalty.extensions import db
from loyalty.types import UTCDateTime

ROLES = ("consultant", "manager", "agent", "finance", "service", "admin")  # service: 服务顾问
TRANSMISSIONS = ("automatic", "manual")
GENDERS = ("male", "female")
REWARD_UNITS = ("CNY", "PTS")
# The verification facts (核实资料): what a callback asks about, the answer key (SEC-5).
FACTS = ("employer", "home_district", "business", "occupation")
# Where a fact value was recorded (CB-10): the showroom, the service desk, an import (DMS, demo,
# CLI, the values on record before provenance existed) or an administrator's correction.
DESKS = ("sales", "service", "import", "admin")


class Store(db.Model):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    policy: Mapped[StorePolicy] = relationship(back_populates="store", uselist=False, lazy="select")


class StorePolicy(db.Model):
    """One row per store; every default is SPEC.md's."""
    __tablename__ = "store_policies"
    __table_args__ = (
        CheckConstraint("reward_amount > 0", name="reward_amount_positive"),
        CheckConstraint("reward_unit IN ('CNY', 'PTS')", name="reward_unit_known"),
        CheckConstraint("callback_delay_min_hours <= callback_delay_max_hours", name="callback_window_ordered"),
        CheckConstraint("fen_per_point > 0", name="fen_per_point_positive"),
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    reward_amount: Mapped[int] = mapped_column(default=50000)
    reward_unit: Mapped[str] = mapped_column(String(3), default="CNY")
    registration_window_days: Mapped[int] = mapped_column(default=90)
    velocity_limit: Mapped[int] = mapped_column(default=5)
    velocity_window_days: Mapped[int] = mapped_column(default=30)
    callback_delay_min_hours: Mapped[int] = mapped_column(default=24)
    callback_delay_max_hours: Mapped[int] = mapped_column(default=72)
    calling_hours_start: Mapped[str] = mapped_column(String(5), default="09:00")
    calling_hours_end: Mapped[str] = mapped_column(String(5), default="20:00")
    callback_attempts: Mapped[int] = mapped_column(default=3)
    two_approver_threshold: Mapped[int] = mapped_column(default=200000)
    consultant_penalty: Mapped[int] = mapped_column(default=20000)
    fen_per_point: Mapped[int] = mapped_column(default=1000)
    points_expiry_months: Mapped[int] = mapped_column(default=24)
    clawback_window_days: Mapped[int] = mapped_column(default=90)
    # CB-11: the highest estimated chance, in basis points (500 = 5 %), that a callee coached with
    # what the referral's own staff could read or recorded passes the callback; above it the plan is
    # strengthened, or a manager must confirm a passing verdict.
    insider_pass_limit_bp: Mapped[int] = mapped_column(default=500, server_default="500")
    # Ring detection (issue 17; verification/rings/README.md defines each): the risk score from which a
    # registration goes to review and its payout needs two approvers, and the signals' thresholds.
    ring_review_score: Mapped[int] = mapped_column(default=50, server_default="50")
    ring_window_days: Mapped[int] = mapped_column(default=180, server_default="180")
    ring_concentration_min: Mapped[int] = mapped_column(default=6, server_default="6")
    ring_concentration_pct: Mapped[int] = mapped_column(default=60, server_default="60")
    ring_spread_days: Mapped[int] = mapped_column(default=30, server_default="30")
    ring_spread_consultants: Mapped[int] = mapped_column(default=3, server_default="3")
    ring_shared_min: Mapped[int] = mapped_column(default=3, server_default="3")
    ring_fact_edit_days: Mapped[int] = mapped_column(default=7, server_default="7")
    ring_pair_min: Mapped[int] = mapped_column(default=8, server_default="8")
    ring_pair_factor_pct: Mapped[int] = mapped_column(default=200, server_default="200")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    store: Mapped[Store] = relationship(back_populates="policy")


POLICY_FIELDS = (
    "reward_amount", "reward_unit", "registration_window_days", "velocity_limit",
    "velocity_window_days", "callback_delay_min_hours", "callback_delay_max_hours",
    "calling_hours_start", "calling_hours_end", "callback_attempts", "two_approver_threshold",
    "consultant_penalty", "fen_per_point", "points_expiry_months", "clawback_window_days",
    "insider_pass_limit_bp", "ring_review_score", "ring_window_days", "ring_concentration_min",
    "ring_concentration_pct", "ring_spread_days", "ring_spread_consultants", "ring_shared_min",
    "ring_fact_edit_days", "ring_pair_min", "ring_pair_factor_pct",
)


class Customer(db.Model):
    """新老客户. The phone is E.164 and unique; the national ID only as a keyed hash + last 4."""
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_national_id_hash", "national_id_hash"),
        # search by any part of a phone (LIKE '%q%'): trigram GIN on PostgreSQL (issue 16)
        Index("ix_customers_phone_trgm", "phone", postgresql_using="gin", postgresql_ops={"phone": "gin_trgm_ops"}),
        # by any part of a name: its characters and pairs of characters (the function is migration
        # 0012n's; loyalty.directory.search.name_contains), within a store too (btree_gin, 0012t),
        # on PostgreSQL only
        Index("ix_customers_store_name_grams", "store_id", func.name_grams(literal_column("name")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
        # by a phone's last 4 digits in id order, and (admins) by 4 digits elsewhere in it (0012t;
        # loyalty.directory.tails), on PostgreSQL only
        Index("ix_customers_phone_tail", func.right(literal_column("phone"), 4), "id").ddl_if(dialect="postgresql"),
        Index("ix_customers_store_phone_tail", "store_id", func.right(literal_column("phone"), 4),
              "id").ddl_if(dialect="postgresql"),
        Index("ix_customers_phone_inner_quads", func.phone_inner_quads(literal_column("phone")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    gender: Mapped[str | None] = mapped_column(String(6))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    national_id_hash: Mapped[str | None] = mapped_column(String(64))
    national_id_last4: Mapped[str | None] = mapped_column(String(4))
    employer: Mapped[str | None] = mapped_column(String(120))
    home_district: Mapped[str | None] = mapped_column(String(120))
    business: Mapped[str | None] = mapped_column(String(120))
    occupation: Mapped[str | None] = mapped_column(String(60))  # 职业: what they do for a living
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    store: Mapped[Store] = relationship(lazy="select")
    vehicles: Mapped[list[Vehicle]] = relationship(
        back_populates="customer", order_by="Vehicle.id", lazy="selectin")


PLATE_SEPARATORS = " ·.-"  # how a plate's letters and digits are set apart when typed (沪A·12345, 沪A-12345)


def plate_key_of(plate):
    """A plate as a search by a whole plate compares it: PLATE_SEPARATORS left out, upper case
    (search.plate_key is the same in Python); ix_vehicles_plate_key indexes this very expression
    (migration 0017k)."""
    for separator in PLATE_SEPARATORS:
        plate = func.replace(plate, separator, "")
    return func.upper(plate)


class Vehicle(db.Model):
    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint("transmission IN ('automatic', 'manual')", name="transmission_known"),
        CheckConstraint("desk IN ('sales', 'service', 'import', 'admin')", name="desk_known"),
        UniqueConstraint("vin", name="uq_vehicles_vin"),
        # a customer search by a whole plate (search.plate_match; migration 0014v)
        Index("ix_vehicles_plate_key", plate_key_of(literal_column("plate"))).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(60))
    colour: Mapped[str] = mapped_column(String(30))
    transmission: Mapped[str] = mapped_column(String(10))
    plate: Mapped[str | None] = mapped_column(String(16))
    vin: Mapped[str | None] = mapped_column(String(17))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)  # when it was recorded
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    desk: Mapped[str] = mapped_column(String(8), default="import", server_default="import")
    customer: Mapped[Customer] = relationship(back_populates="vehicles")


class FactVersion(db.Model):
    """One recorded value of a verification fact (CB-10): who recorded it, when, from which desk.

    Versions are only ever appended; the customer's column holds the newest value. A value of
    NULL records that the fact was cleared."""
    __tablename__ = "customer_fact_versions"
    __table_args__ = (
        CheckConstraint("fact IN ('employer', 'home_district', 'business', 'occupation')", name="fact_known"),
        CheckConstraint("desk IN ('sales', 'service', 'import', 'admin')", name="desk_known"),
        Index("ix_customer_fact_versions_lookup", "customer_id", "fact", "recorded_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    fact: Mapped[str] = mapped_column(String(20))
    value: Mapped[str | None] = mapped_column(String(120))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    desk: Mapped[str] = mapped_column(String(8))
    recorded_by: Mapped[Staff | None] = relationship(lazy="select")
