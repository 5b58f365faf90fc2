"""What waits at the service desk (服务台), counted for the service advisor's home page: customers
whose points lapse soon (call them in before they lose them) and catalog items running out. Each
is one grouped query, scoped by the viewer's stores."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from loyalty import clock
from loyalty.directory.models import Customer
from loyalty.extensions import db
from loyalty.points.models import CatalogItem, PointsLot
from loyalty.points.statement import EXPIRY_WARNING_DAYS
from loyalty.scoping import in_stores

LOW_STOCK = 5  # a counted item with this many units or fewer is running out


@dataclass(frozen=True)
class Lapsing:
    customer_id: int
    name: str
    points: int
    first_expiry: datetime


def lapsing_points(actor, *, days: int = EXPIRY_WARNING_DAYS, limit: int = 5) -> tuple[int, int, list[Lapsing]]:
    """Customers holding points that lapse within `days`: how many, how many points in all, and
    the first `limit` of them, soonest expiry first."""
    now = clock.now()
    lots = in_stores(select(PointsLot.customer_id, func.sum(PointsLot.remaining).label("points"),
                            func.min(PointsLot.expires_at).label("first_expiry")), actor, PointsLot.store_id).where(
        PointsLot.remaining > 0, PointsLot.expired_at.is_(None), PointsLot.expires_at > now,
        PointsLot.expires_at <= now + timedelta(days=days)).group_by(PointsLot.customer_id).subquery()
    customers, points = db.session.execute(select(func.count(), func.coalesce(func.sum(lots.c.points), 0))).one()
    first = db.session.execute(
        select(lots.c.customer_id, Customer.name, lots.c.points, lots.c.first_expiry)
        .join(Customer, Customer.id == lots.c.customer_id)
        .order_by(lots.c.first_expiry, lots.c.customer_id).limit(limit)).all()
    return int(customers), int(points), [Lapsing(*row) for row in first]


def running_out(actor, *, low: int = LOW_STOCK) -> list[CatalogItem]:
    """Active counted catalog items offered in the actor's stores (or group-wide) with `low` units
    or fewer left, the emptiest first."""
    query = select(CatalogItem).where(CatalogItem.active.is_(True), CatalogItem.stock.is_not(None),
                                      CatalogItem.stock <= low)
    if actor.store_id is not None and actor.role != "admin":
        query = query.where(or_(CatalogItem.store_id.is_(None), CatalogItem.store_id == actor.store_id))
    return list(db.session.scalars(query.order_by(CatalogItem.stock, CatalogItem.code)))
