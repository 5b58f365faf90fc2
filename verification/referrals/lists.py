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

from sqlalchemy import Select, or_, select

from loyalty.directory import search
from loyalty.directory.models import Customer
from loyalty.paging import Page, deep_page, keyset, page_of, probed
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
    or (managers, admins) a plate of the new customer's cars. The new customer is looked up per
    referral by a scalar subquery, which PostgreSQL neither joins nor hashes: a list walked newest
    first (many matches, `searched`) tests the rows it reads and stops at the page. As a join or an
    EXISTS, the planner guessed few matches from the LIKEs and read every referral instead (a merge
    join over 1M and a sort: 1.1-1.8 s for an admin's 4 digits on 3,000 new customers' phones)."""
    referee = select(_referee_matches(actor, q, region)).where(Customer.id == Referral.referee_id)
    return or_(referee.scalar_subquery(), Referral.claim_referrer_name.contains(q, autoescape=True))


def _referee_matches(actor, q: str, region: str, *, indexed: bool = False):
    return search.text_match(actor, q, region, indexed=indexed, plates=actor.role in PLATE_READERS)


def searched(actor, **filters) -> tuple[Select, tuple[int, bool] | None]:
    """The list's query for `filters`, and (how many rows, exact?) when a search `q` has already
    told (loyalty.paging.probed): the probes read the claimed referrers' names through migration
    0015c's index, then the new customers' names, phones and plates through theirs. A rare name
    then costs a few index rows, not a walk of the whole list testing every row (1-2 s at 1M)."""
    query = referral_query(actor, **filters)
    q = (filters.get("q") or "").strip()
    if not q:
        return query, None
    base = referral_query(actor, **{**filters, "q": None}).with_only_columns(Referral.id)
    claims = base.where(search.name_contains(q, Referral.claim_referrer_name))
    referees = base.join(Customer, Customer.id == Referral.referee_id).where(
        _referee_matches(actor, q, filters.get("region", PHONE_REGION), indexed=True))
    # the claims first: one table; a name common among customers who are not new customers in this
    # list makes the referees' probe read all of them (100,000: 0.4 s at 1M)
    return probed(query, Referral.id, [claims, referees])


ORDER = (Referral.registered_at, Referral.id)


def referral_page(actor, *, cursor: str | None = None, per_page: int = 50, oldest_first: bool = False,
                  count: bool = True, **filters) -> Page:
    """One page of the list, newest first (a work queue: oldest first), after (or before) `cursor`;
    no cap on how far it goes."""
    query, total = searched(actor, **filters)
    return keyset(query, ORDER, cursor=cursor, per_page=per_page, newest_first=not oldest_first, count=count,
                  known=total)


def list_referrals(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Referral], int, bool]:
    """OFFSET paging (the API's `page` parameter): (rows, total, exact?). The skip is over the ids
    alone (loyalty.paging's deferred join: ix_referrals_registered_id, or the store's or the
    registrant's (…, registered_at, id) index, read index-only), and the total counts at most
    COUNT_BOUND rows past the page (exact when the list ends within them)."""
    query, total = searched(actor, **filters)
    ordered = query.order_by(Referral.registered_at.desc(), Referral.id.desc())
    if total is None or not total[1]:  # no search, or more matches than the probe's bound: counted past the page
        return deep_page(ordered, page, per_page, key=Referral.id)
    return page_of(ordered, page, per_page, key=Referral.id, count=False)[0], total[0], True
