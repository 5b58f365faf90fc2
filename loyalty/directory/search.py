"""How customers are searched (客户查询) without the search giving away what the screen hides (SEC-3).

Staff who see phones masked (138****8000) may find a customer by phone only with what they
could see or already know: the last four digits, or the whole number typed in full (any
spelling `normalise_phone` accepts). A partial number matches nothing for them, otherwise
`+861380`, `+8613800`, ... would recover a masked phone one digit at a time. Admins, who see
phones in full, may search by any part of a number. Names match anywhere. Every LIKE pattern
is built with `autoescape`, so `%`, `_` and the escape character typed by a user match
themselves.

A search by text is found in two steps (`found`), so its cost follows the rows it finds, not the
table: a probe reads the ids of at most COUNT_BOUND + 1 matches through ix_customers_name_grams
(PostgreSQL, migration 0012n_name_grams: the names' characters and pairs of characters); then
the page is read with the plain LIKE, among those ids when they are all (a rare name: a few
index rows), else in id order (many matches: the first page is near). The planner is never left
to guess from `LIKE '%q%'`'s statistics whether an id-ordered walk will find 50 matches soon or
read the whole table. A name part the index's statistics count in more than COMMON_SHARE and
COMMON_ROWS of the customers (a common surname, 王 or 李, in a large group) skips the probe, which
would list every match (100,000 at 3M customers) to keep 1,001: the id-ordered walk and its
bounded count are near then.
"""
from __future__ import annotations

import re

from sqlalchemy import ARRAY, Boolean, Select, Text, and_, bindparam, false, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from loyalty.auth import access
from loyalty.directory import identity, tails
from loyalty.directory.models import PLATE_SEPARATORS, Customer, Vehicle, plate_key_of
from loyalty.errors import field_error
from loyalty.extensions import db
from loyalty.paging import Page, keyset, page_of, probed
from loyalty.scoping import in_stores
from loyalty.settings import settings

_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().\uff10-\uff19\uff0b]+$")  # digits, +, spaces, dashes, full width


def _digits(text: str) -> str:
    return "".join(ch for ch in text.translate({c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}) if ch.isdigit())


def _whole_number(text: str, region: str) -> str | None:
    try:
        return identity.normalise_phone(text, region)
    except identity.InvalidPhone:
        return None


def phone_match(actor, text: str, region: str, *, strict: bool = False) -> ColumnElement:
    """The condition on Customer.phone for a phone typed by `actor`.

    With `strict` (a field meant for phones only) a partial number a masked viewer may not
    search by is a field error instead of matching nothing."""
    whole = _whole_number(text, region)
    digits = _digits(text)
    if access.can_see_full_phone(actor):
        conditions = [Customer.phone == whole] if whole else []
        if digits:
            conditions.append(Customer.phone.contains(digits, autoescape=True))
        return or_(*conditions) if conditions else false()
    if whole:
        return Customer.phone == whole
    if len(digits) == tails.DIGITS and len(text.strip()) == tails.DIGITS:
        return Customer.phone.endswith(digits, autoescape=True) & \
            (func.length(Customer.phone) >= tails.MASK_SHOWS_LAST_4)
    if strict:
        raise field_error("phone", "Type the whole phone number or its last 4 digits.")
    return false()


# Who may find a customer by a vehicle's plate: the service desk (the car is in front of it) and
# admins. Only the whole plate matches (spaces, dots and case ignored), so a search reveals
# nothing the searcher did not already hold; the showroom never searches by plate (SEC-5).
PLATE_SEARCHERS = ("service", "admin")
# a province (or a letter), 5-10 letters, digits and separators, and the suffix of some plates (港, 学, 挂...)
_PLATE_LIKE = re.compile(r"^[\u4e00-\u9fffA-Za-z][A-Za-z0-9·.\s-]{4,9}[\u4e00-\u9fff]?$")


def plate_key(text: str) -> str:
    """`text` as models.plate_key_of keys a stored plate: whitespace and separators left out, upper case."""
    return "".join(ch for ch in text.upper() if not ch.isspace() and ch not in PLATE_SEPARATORS)


def plate_match(text: str, *, indexed: bool = False) -> ColumnElement:
    """Customers with a vehicle whose plate is `text` (plate_key). `indexed`: in a form whose OR
    with the name's index condition PostgreSQL answers from both indexes (`_among`)."""
    owners = select(Vehicle.customer_id).where(plate_key_of(Vehicle.plate) == plate_key(text))
    return _among(Customer.id, owners.scalar_subquery()) if indexed else Customer.id.in_(owners)


class _among(FunctionElement):
    """`column IN (subquery)`, which PostgreSQL is given as `column = ANY(ARRAY(subquery))`: the
    subquery runs once, first, and its ids become an index condition, so an OR of it with the
    name's index condition is read as a BitmapOr of the two indexes. As `IN (subquery)` the OR is a
    filter on a walk of the store's customers (issue 16: a plate search at 1M, 3.2 s of 3.8)."""
    type = Boolean()
    inherit_cache = True
    name = "among"


@compiles(_among)
def _in_elsewhere(element, compiler, **kw):
    column, subquery = element.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(subquery, **kw)}"


@compiles(_among, "postgresql")
def _any_array_on_postgresql(element, compiler, **kw):
    column, subquery = element.clauses
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(subquery, **kw)})"


def name_grams(text: str) -> list[str]:
    """What a name holding `text` must have among its grams (the migration's name_grams): the
    pairs of adjacent characters of `text`, or its one character."""
    if len(text) < 2:
        return [text]
    return sorted({text[i:i + 2] for i in range(len(text) - 1)})


class _grams_cover(FunctionElement):
    """A LIKE on names that PostgreSQL answers from ix_customers_name_grams: a name holding q
    holds all of q's grams, so `name_grams(name) @> grams(q)` reads, from the index, a superset
    of the LIKE's rows (the same rows up to 2 characters; from 3, q's pairs may sit apart in a
    name), and the LIKE, evaluated first as the cheaper test, decides. The grams are rendered
    into the statement, so a prepared statement's generic plan never answers a common character
    with a plan made for a rare one. Elsewhere it is the LIKE alone."""
    type = Boolean()
    inherit_cache = True
    name = "grams_cover"


@compiles(_grams_cover)
def _like_elsewhere(element, compiler, **kw):
    _column, _grams, like = element.clauses
    return compiler.process(like, **kw)


@compiles(_grams_cover, "postgresql")
def _grams_on_postgresql(element, compiler, **kw):
    column, grams, like = element.clauses
    return compiler.process(and_(func.name_grams(column).op("@>")(grams), like), **kw)


def name_contains(q: str, column=Customer.name, *, indexed: bool = True) -> ColumnElement:
    """`column` (a name: Customer.name unless told) contains `q` (LIKE '%q%', `q` as typed),
    served by a name_grams index on PostgreSQL (the column's must exist); the plain LIKE without
    `indexed` (a row already in hand)."""
    like = column.contains(q, autoescape=True)
    if not q or not indexed:  # LIKE '%%': every name, which no gram stands for
        return like
    return _grams_cover(column, bindparam(None, name_grams(q), type_=ARRAY(Text), literal_execute=True), like)


def text_match(actor, q: str, region: str, *, indexed: bool = False, plates: bool | None = None) -> ColumnElement:
    """`q` from a search box: a name (anywhere in it), a phone as `phone_match` allows, or a whole
    plate when `plates` (by default for PLATE_SEARCHERS). `indexed`: in the forms PostgreSQL reads
    from their indexes (`name_contains`, `plate_match`), for a probe of few rows."""
    q = q.strip()
    by_name = name_contains(q, indexed=indexed)
    if _PHONE_LIKE.match(q) and _digits(q):
        return or_(by_name, phone_match(actor, q, region))
    if plates is None:
        plates = getattr(actor, "role", None) in PLATE_SEARCHERS
    if plates and _PLATE_LIKE.match(q):
        return or_(by_name, plate_match(q, indexed=indexed))
    return by_name


def customers_query(actor, *, q: str | None = None, phone: str | None = None, store_id: int | None = None,
                    indexed: bool = False) -> Select:
    """The customers `actor` may find by name/plate text `q` and by `phone`, in their stores."""
    query = in_stores(select(Customer), actor, Customer.store_id, store_id=store_id)
    region = settings.phone_region
    if phone:
        query = query.where(phone_match(actor, phone, region, strict=True))
    if q and q.strip():
        query = query.where(text_match(actor, q, region, indexed=indexed))
    return query


COMMON_SHARE, COMMON_ROWS = 0.01, 20_000
_SHARES = sql_text("SELECT f.elem, f.share, f.share * c.reltuples FROM pg_stats s, pg_class c, "
               "unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS f(elem, share) "
               "WHERE s.schemaname = current_schema() AND s.tablename = :index "
               "AND s.attname = 'name_grams' AND c.oid = CAST(:table AS regclass) AND f.elem = ANY(:grams)")


def common_name(q: str, index: str = "ix_customers_store_name_grams", table: str = "customers") -> bool:
    """Whether every gram of name part `q` is in more than COMMON_SHARE of `table`'s rows and more
    than COMMON_ROWS of them, by the statistics PostgreSQL keeps of its name_grams `index` (none:
    not known to be common). Then an ordered walk meets 1,001 matches within a hundred thousand
    rows, while the probe would list all of them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    grams = name_grams(q)
    counted = {elem: (share, rows) for elem, share, rows in
               db.session.execute(_SHARES, {"grams": grams, "index": index, "table": table})}
    return len(counted) == len(grams) and all(share > COMMON_SHARE and rows > COMMON_ROWS
                                              for share, rows in counted.values())


def _tail(actor, filters: dict) -> tails.Tail | None:
    """The probe of a phone's last 4 digits (loyalty.directory.tails), or None (not one, or not on PostgreSQL)."""
    q = (filters.get("q") or "").strip()
    if not tails.searched(q):
        return None
    base = customers_query(actor, **{**filters, "q": None})
    return tails.probe(base, q, name_contains(q), access.can_see_full_phone(actor))


def common_across_the_group(actor, filters: dict, q: str, index: str = "ix_customers_store_name_grams",
                            table: str = "customers") -> bool:
    """Whether a search for name part `q` should walk instead of probing: `q` is common
    (`common_name`) and the search is not within some stores (a store's staff, or a store asked
    for), whose own entries of the (store_id, name_grams) `index` would answer it."""
    scoped = filters.get("store_id") is not None or access.visible_store_ids(actor) is not None
    return not scoped and common_name(q, index, table)


def found(actor, **filters) -> tuple[Select, tuple[int, bool] | None]:
    """The customers query to page for `filters`, and (how many rows, exact?) when a text search
    has already told: the probe's ids when they are at most COUNT_BOUND, else the plain query
    and "1,000+". Without text, or a name part common in the group searched across the group, the
    query as it is (keyset's bounded count). A phone's last 4 digits: loyalty.directory.tails."""
    tail = _tail(actor, filters)
    if tail is not None:
        return tail.query(customers_query(actor, **filters)), tail.total
    return _found(actor, filters)


def _found(actor, filters: dict) -> tuple[Select, tuple[int, bool] | None]:
    query = customers_query(actor, **filters)
    q = (filters.get("q") or "").strip()
    if not q or common_across_the_group(actor, filters, q):
        return query, None
    return probed(query, Customer.id, [customers_query(actor, **filters, indexed=True).with_only_columns(Customer.id)])


def customer_page(actor, *, cursor: str | None = None, per_page: int = 25, **filters) -> Page:
    """A keyset page of the customers `actor` finds (by id), with the probe's count when it has one."""
    tail = _tail(actor, filters)
    if tail is not None:
        query = tail.page_query(customers_query(actor, **filters), cursor, per_page)
        total = tail.total
    else:
        query, total = _found(actor, filters)
    return keyset(query, (Customer.id,), cursor=cursor, per_page=per_page, newest_first=False, known=total)


def customer_list(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Customer], int]:
    """An OFFSET page (by id) and the exact total, for the API's `page` parameter."""
    return page_of(found(actor, **filters)[0].order_by(Customer.id), page, per_page)
