"""The referral lists (推荐列表) of the pages and the API: filters, search and keyset paging
(issue 15 item 3, issue 16).

    page = referral_page(actor, status="registered", store_id=1, date_from=..., date_to=...,
                         consultant_id=3, q="张", cursor=None, per_page=50)

The newest first by (registered_at, id); store-bound staff see their store (SEC-2), consultants
their own registrations. Search finds the new customer or the claimed referrer by name, a phone
as the searcher may search it (the last 4 digits or the whole number, loyalty.directory.search,
SEC-3), and, for managers and admins only, a plate of the new customer's cars: plates are part
of the answer key a consultant never reads (SEC-5).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, or_, select

from loyalty.directory import search
from loyalty.directory.models import Customer, Vehicle
from loyalty.paging import Page, deep_page, keyset
from loyalty.scoping import in_stores
from verification.referrals.models import REGISTERED, UNDER_REVIEW, Referral, parties_joined_without_cars

PLATE_READERS = ("manager", "admin")

PHONE_REGION = "CN"


def referral_query(actor, *, status: str | None = None, mine: bool = False, queue: str | None = None,
                   store_id: int | None = None, consultant_id: int | None = None,
                   date_from: datetime | None = None, date_to: datetime | None = None,
                   q: str | None = None, region: str = PHONE_REGION) -> Select:
    """The referrals `actor` may list, narrowed by every filter given (unordered)."""
    query = in_stores(select(Referral).options(*parties_joined_without_cars()), actor, Referral.store_id, store_id=store_id)
    if actor.role == "consultant" or mine:
        query = query.where(Referral.registered_by_id == actor.id)
    elif consultant_id is not None:
        query = query.where(Referral.registered_by_id == consultant_id)
    if status:
        query = query.where(Referral.status == status)
    if date_from is not None:
        query = query.where(Referral.registered_at >= date_from)
    if date_to is not None:
        query = query.where(Referral.registered_at < date_to)
    if queue == "acknowledge":
        query = query.where(Referral.acknowledged_at.is_(None), Referral.status.in_((REGISTERED, UNDER_REVIEW)))
    elif queue == "review":
        query = query.where(Referral.status == UNDER_REVIEW, Referral.registered_by_id != actor.id)
    elif queue == "delivery":
        query = query.where(Referral.status == REGISTERED, Referral.acknowledged_at.is_not(None))
    if q and q.strip():
        query = query.where(_matches(actor, q.strip(), region))
    return query


def _matches(actor, q: str, region: str):
    """The new customer's name or phone (as `actor` may search it), the claimed referrer's name,
    or (managers, admins) a plate of the new customer's cars."""
    referee = select(Customer.id).where(Customer.id == Referral.referee_id,  # names through their index (0012n)
                                        search.text_match(actor, q, region, indexed=True))
    conditions = [exists(referee), Referral.claim_referrer_name.contains(q, autoescape=True)]
    if actor.role in PLATE_READERS:
        plate = "".join(q.split()).upper()
        conditions.append(exists(select(Vehicle.id).where(Vehicle.customer_id == Referral.referee_id,
                                                          Vehicle.plate == plate)))
    return or_(*conditions)


ORDER = (Referral.registered_at, Referral.id)


def referral_page(actor, *, cursor: str | None = None, per_page: int = 50, oldest_first: bool = False,
                  count: bool = True, **filters) -> Page:
    """One page of the list, newest first (a work queue: oldest first), after (or before) `cursor`;
    no cap on how far it goes."""
    return keyset(referral_query(actor, **filters), ORDER, cursor=cursor, per_page=per_page,
                  newest_first=not oldest_first, count=count)


def list_referrals(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Referral], int, bool]:
    """OFFSET paging (the API's `page` parameter): (rows, total, exact?). The skip is over the ids
    alone (loyalty.paging's deferred join: ix_referrals_registered_id, or the store's or the
    registrant's (…, registered_at, id) index, read index-only), and the total counts at most
    COUNT_BOUND rows past the page (exact when the list ends within them)."""
    return deep_page(referral_query(actor, **filters).order_by(Referral.registered_at.desc(), Referral.id.desc()),
                     page, per_page, key=Referral.id)
