"""Finance's part of the home pages (工作队列): payouts awaiting approval and approved-unpaid, with
their totals, and the admin's store-health column of payouts waiting. loyalty.app registers them."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from loyalty.payouts import worklist
from loyalty.payouts.models import APPROVED, AWAITING_APPROVAL
from loyalty.web.worklists import Tile, provide, store_column


def finance_tiles(actor) -> list[Tile]:
    waiting = worklist.open_payouts(actor)
    titles = {AWAITING_APPROVAL: ("awaiting_approval", _("Awaiting approval")),
              APPROVED: ("approved_unpaid", _("Approved, not yet paid"))}
    return [Tile(key, title, waiting[status].count, url_for("payouts_web.queue", status=status),
                 waiting[status].oldest, total=waiting[status].total)
            for status, (key, title) in titles.items()]


def register(app: Flask) -> None:
    provide(app, "finance", finance_tiles)
    store_column(app, "payouts_waiting", _l("Payouts waiting"), worklist.waiting_by_store)
