"""How customers are searched (客户查询) without the search giving away what the screen hides (SEC-3).

Staff who see phones masked (138****8000) may find a customer by phone only with what they
could see or already know: the last four digits, or the whole number typed in full (any
spelling `normalise_phone` accepts). A partial number matches nothing for them, otherwise
`+861380`, `+8613800`, ... would recover a masked phone one digit at a time. Admins, who see
phones in full, may search by any part of a number. Names match anywhere. Every LIKE pattern
is built with `autoescape`, so `%`, `_` and the escape character typed by a user match
themselves.
"""
from __future__ import annotations

import re

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.sql import ColumnElement

from loyalty.auth import access
from loyalty.directory import identity
from loyalty.directory.models import Customer
from loyalty.errors import field_error
from loyalty.scoping import in_stores
from loyalty.settings import settings

_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().\uff10-\uff19\uff0b]+$")  # digits, +, spaces, dashes, full width
_LAST_DIGITS = 4
# Only phones whose mask shows the last four digits may be found by them: `mask_phone` shows
# the last 4 of a national number longer than 7 digits, and `+` + a 3-digit country code +
# 8 digits is 12 characters (shorter numbers are still found when typed in full).
_MASK_SHOWS_LAST_4 = 12


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
    if len(digits) == _LAST_DIGITS and len(text.strip()) == _LAST_DIGITS:
        return Customer.phone.endswith(digits, autoescape=True) & \
            (func.length(Customer.phone) >= _MASK_SHOWS_LAST_4)
    if strict:
        raise field_error("phone", "Type the whole phone number or its last 4 digits.")
    return false()


# Who may find a customer by a vehicle's plate: the service desk (the car is in front of it) and
# admins. Only the whole plate matches (spaces, dots and case ignored), so a search reveals
# nothing the searcher did not already hold; the showroom never searches by plate (SEC-5).
PLATE_SEARCHERS = ("service", "admin")
_PLATE_LIKE = re.compile(r"^[\u4e00-\u9fffA-Za-z][A-Za-z0-9·.\s-]{4,9}$")


def plate_key(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum() or "\u4e00" <= ch <= "\u9fff")


def plate_match(text: str) -> ColumnElement:
    from loyalty.directory.models import Vehicle
    key = plate_key(text)
    plate = func.upper(func.replace(func.replace(Vehicle.plate, " ", ""), "·", ""))
    return Customer.id.in_(select(Vehicle.customer_id).where(plate == key))


def text_match(actor, q: str, region: str) -> ColumnElement:
    """`q` from a search box: a name (anywhere in it), a phone as `phone_match` allows, or for
    PLATE_SEARCHERS a whole plate."""
    q = q.strip()
    by_name = Customer.name.contains(q, autoescape=True)
    if _PHONE_LIKE.match(q) and _digits(q):
        return or_(by_name, phone_match(actor, q, region))
    if getattr(actor, "role", None) in PLATE_SEARCHERS and _PLATE_LIKE.match(q):
        return or_(by_name, plate_match(q))
    return by_name


def customers_query(actor, *, q: str | None = None, phone: str | None = None, store_id: int | None = None) -> Select:
    """The customers `actor` may find by name/plate text `q` and by `phone`, in their stores."""
    query = in_stores(select(Customer), actor, Customer.store_id, store_id=store_id)
    region = settings.phone_region
    if phone:
        query = query.where(phone_match(actor, phone, region, strict=True))
    if q and q.strip():
        query = query.where(text_match(actor, q, region))
    return query
