"""The service advisor's part of the home pages (工作队列): customers whose points lapse soon, each
linked to their points page, and catalog items running out. loyalty.app registers them."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _

from loyalty.points import worklist
from loyalty.points.statement import EXPIRY_WARNING_DAYS
from loyalty.web.blueprint import grouped, localdate
from loyalty.web.worklists import Link, Tile, provide


def service_tiles(actor) -> list[Tile]:
    customers, points, first = worklist.lapsing_points(actor)
    zone = actor.store.timezone if actor.store else "Asia/Shanghai"
    lapsing = Tile("points_lapsing", _("Points lapsing within %(days)s days", days=EXPIRY_WARNING_DAYS), customers,
                   note=_("%(points)s points in all", points=grouped(points)) if customers else None,
                   items=tuple(Link(_("%(name)s: %(points)s points, first on %(date)s", name=item.name,
                                      points=f"{item.points:,}", date=localdate(item.first_expiry, zone)),
                                    url_for("points_web.statement", customer_id=item.customer_id))
                               for item in first))
    low = worklist.running_out(actor)
    left = _(", ").join(_("%(name)s (sold out)", name=item.name_zh) if item.stock == 0 else
                        _("%(name)s (%(stock)s left)", name=item.name_zh, stock=item.stock) for item in low)
    stock = Tile("stock_low", _("Catalog items running out or sold out"), len(low), note=left or None)
    return [lapsing, stock]


def register(app: Flask) -> None:
    provide(app, "service", service_tiles)
