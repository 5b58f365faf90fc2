"""The menu (导航): one entry per page, shown to whoever that page's `@allow` admits.

The template holds no role rule: an entry appears when the actor's role is in the audience
its endpoint declares (loyalty/audience.py), the same check the request hook makes, so the
menu and the doors cannot disagree. Endpoints are named as strings (no import of the pages).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from loyalty.audience import ANY_STAFF, audience_of


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: object            # a lazy string
    test: str                # data-test="nav-..."
    current: tuple[str, ...]  # endpoints that mark it current ("web.store*": any that starts so)
    args: tuple = ()
    consultant_label: object = None  # a consultant sees only their own referrals


MENU = (
    Entry("web.home", _l("Home"), "nav-home", ("web.home",)),
    Entry("web.customers", _l("Customers"), "nav-customers", ("web.customer*",)),
    Entry("web.stores", _l("Stores"), "nav-stores", ("web.store*",)),
    Entry("web.staff_list", _l("Staff"), "nav-staff", ("web.staff*",)),
    Entry("referrals_web.register", _l("Register a referral"), "nav-register", ("referrals_web.register",)),
    Entry("referrals_web.mine", _l("Referrals"), "nav-referrals", ("referrals_web.mine",),
          consultant_label=_l("My referrals")),
    Entry("referrals_web.queue", _l("Referral queues"), "nav-queue", ("referrals_web.queue",)),
    Entry("callbacks_web.reviews", _l("Answer reviews"), "nav-reviews", ("callbacks_web.reviews",)),
    Entry("delivery_web.deliveries", _l("Deliveries on record"), "nav-deliveries",
          ("delivery_web.deliveries", "delivery_web.import_deliveries")),
    Entry("callbacks_web.calls", _l("Callbacks"), "nav-calls", ("callbacks_web.call*",)),
    Entry("callbacks_web.questions", _l("Question bank"), "nav-questions", ("callbacks_web.questions",)),
    Entry("catalog_web.catalog_page", _l("Redemption catalog"), "nav-catalog", ("catalog_web.*",)),
    Entry("payouts_web.queue", _l("Payouts"), "nav-payouts", ("payouts_web.*",)),
    Entry("rings_web.rings", _l("Rings"), "nav-rings", ("rings_web.*",)),
    Entry("referral_reports_web.fraud", _l("Reports"), "nav-reports",
          ("referral_reports_web.*", "money_reports_web.*"), args=(("by", "store"),)),
)


def _admits(endpoint: str, actor) -> bool:
    audience = audience_of(endpoint) or frozenset()
    return ANY_STAFF in audience or actor.role in audience


def _is_current(entry: Entry, endpoint: str) -> bool:
    return any(endpoint.startswith(c[:-1]) if c.endswith("*") else endpoint == c for c in entry.current)


def menu_for(actor, endpoint: str | None) -> list[dict]:
    """The entries this actor may open, each with its link, label and whether it is the current page."""
    if actor is None:
        return []
    endpoint = endpoint or ""
    return [{"href": url_for(e.endpoint, **dict(e.args)), "test": e.test, "current": _is_current(e, endpoint),
             "label": e.consultant_label if e.consultant_label and actor.role == "consultant" else e.label}
            for e in MENU if _admits(e.endpoint, actor)]
