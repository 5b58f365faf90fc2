"""Loyalty points (积分): lots earned per service visit, redemptions, and which lots paid for them.

The balance itself lives in the ledger (account customer:{id}/points, PTS); a lot
records where points came from and when they expire, so redemptions can spend
the oldest first and expiry can move what is left to breakage (LED-5). The sum of
a customer's lots' `remaining` equals that account's posted balance.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.extensions import db
from loyalty.ledger.models import BigId
from loyalty.types import UTCDateTime


class PointsLot(db.Model):
    """积分批次: points earned at one time, spent oldest first, expiring at `expires_at`."""
    __tablename__ = "points_lots"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_within_points"),
        Index("ix_points_lots_customer_fifo", "customer_id", "earned_at", "id"),
        Index("ix_points_lots_expiry", "expires_at", "id"),
        Index("ix_points_lots_transfer_id", "transfer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    points: Mapped[int] = mapped_column()
    remaining: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(20), default="service_visit")  # or "reward", "adjustment"
    visit_amount: Mapped[int | None] = mapped_column(BigInteger)  # fen spent on the visit
    reason: Mapped[str] = mapped_column(String(200))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    transfer_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_transfers.id"))
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_transfer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_transfers.id"))
    actor_id: Mapped[int | None] = mapped_column()


class CatalogItem(db.Model):
    """兑换目录: what points may be spent on, at a price in points, with an optional stock.

    Group-wide when store_id is NULL, else only for that store's customers. The admin runs it;
    a redemption takes `stock` down in the same statement that checks it (no oversell)."""
    __tablename__ = "catalog_items"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column()  # points per unit
    stock: Mapped[int | None] = mapped_column()  # None: not counted
    active: Mapped[bool] = mapped_column(default=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PointsRedemption(db.Model):
    """积分兑换: points spent on `quantity` of a catalog item (a service, a voucher).

    `item` keeps the item's name as it was when redeemed (rows before the catalog: free text)."""
    __tablename__ = "points_redemptions"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    points: Mapped[int] = mapped_column()
    item: Mapped[str] = mapped_column(String(120))
    catalog_item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1, server_default="1")
    key: Mapped[str] = mapped_column(String(160), unique=True)
    # set right after the row exists, so the transfer can name the redemption as its subject
    transfer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_transfers.id"))
    actor_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    uses: Mapped[list[PointsLotUse]] = relationship(order_by="PointsLotUse.id", lazy="selectin")


class PointsLotUse(db.Model):
    """How many points of which lot one redemption took."""
    __tablename__ = "points_lot_uses"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("points_redemptions.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"), index=True)
    points: Mapped[int] = mapped_column()
