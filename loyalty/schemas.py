"""Schema building blocks shared by every package."""
from __future__ import annotations

from datetime import date, datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from loyalty.errors import ValidationFailed
from loyalty.text import text_problem

# ---- dates and instants: one sane range for every input (SEC-4) ----------------------------
# Year 1 in a query or body used to reach the database and fail there (a 500): converting
# 0001-01-01T00:00+08:00 to UTC leaves the calendar. Nothing this service records predates
# 1970, and 2999 leaves room for open-ended report periods such as to=2099-12-31.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
DATE_RANGE_MESSAGE = "Use a date from 1970-01-01 to 2999-12-31."
YEAR_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-"


def sane_moment(value: date | datetime | None) -> None:
    """Validator for every date and datetime input: inside [FIRST_DAY, LAST_DAY] as written."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(DATE_RANGE_MESSAGE)


def _guard_moments(field_obj: fields.Field) -> None:
    """Give a Date/DateTime field (or a List of them) the range check, once. A new list, never
    an append: bound fields are shallow copies sharing the declared field's list."""
    target = field_obj.inner if isinstance(field_obj, fields.List) else field_obj
    if isinstance(target, (fields.DateTime, fields.Date)) and sane_moment not in target.validators:
        target.validators = [*target.validators, sane_moment]
        # ... and the OpenAPI document says so (a pattern on the year), so clients and the
        # Schemathesis probe know a year-1 date is invalid before sending it.
        target.metadata = {**target.metadata, "pattern": YEAR_PATTERN}


def parse_day(text: str | None, field: str) -> date | None:
    """A YYYY-MM-DD value from a page's query string: empty is none, anything else must be a
    real day in range, else a field error naming `field` (the pages' twin of the schemas)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        sane_moment(day)
    except ValueError:
        raise ValidationFailed(fields={field: ["Not a valid date (YYYY-MM-DD)."]}) from None
    except ValidationError as error:
        raise ValidationFailed(fields={field: list(error.messages)}) from None
    return day


class StrictBoolean(fields.Boolean):
    """A JSON boolean and nothing else: marshmallow's Boolean also takes 0, 1, "yes", "on"..., which
    the OpenAPI document (type: boolean) does not allow (the Schemathesis probe sends `0`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class InputSchema(Schema):
    """Request bodies: unknown fields are an error, so typos do not pass silently.

    Text loses its leading and trailing spaces before validation, so a name of only
    spaces is an empty name (a field error), never stored blank. Passwords are kept
    exactly as typed. Text that shows nothing or carries bidi controls is refused
    (loyalty.text). Every date and datetime field, declared here or in any package,
    gets the sane range (`sane_moment`) when it is bound."""
    class Meta:
        unknown = RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _guard_moments(field_obj)

    @pre_load
    def _strip_text(self, data, **kwargs):
        """Trim text; then text showing nothing (only zero-width or other invisible characters)
        or carrying bidi controls is a field error, in every body of every package (loyalty.text)."""
        if not isinstance(data, dict):
            return data
        data = {k: (v.strip() if isinstance(v, str) and "password" not in k else v) for k, v in data.items()}
        errors = {key: [problem] for key, value in data.items()
                  if isinstance(value, str) and "password" not in key and (problem := text_problem(value))}
        if errors:
            raise ValidationError(errors)
        return data


class QuerySchema(Schema):
    """Query strings: unknown parameters are ignored; dates get the sane range as in InputSchema."""
    class Meta:
        unknown = EXCLUDE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _guard_moments(field_obj)


class PageQuery(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ErrorSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw())


class KeysetQuery(PageQuery):
    """A list paged by a cursor (loyalty.paging.keyset): `cursor` is a response's `next` or `prev`."""
    cursor = fields.String(validate=validate.Length(max=300), metadata={
        "description": "`next` or `prev` of the previous response; without it, the first page (or `page`, "
                       "an OFFSET page for old callers; `total_exact` says whether its `total` is exact)"})


def page_of(item_schema: type[Schema], name: str | None = None) -> type[Schema]:
    """`{"items": [...], "total", "page", "per_page"}` for a list response; keyset-paged lists also
    carry `next`/`prev` cursors and `total_exact` (False: `total` is a bound, "1,000 or more")."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(allow_none=True),
        "per_page": fields.Integer(),
        "total_exact": fields.Boolean(),
        "next": fields.String(allow_none=True, metadata={"description": "the cursor of the next page, or null"}),
        "prev": fields.String(allow_none=True, metadata={"description": "the cursor of the previous page, or null"}),
    }, name=name or f"{item_schema.__name__.removesuffix('Schema')}Page")


def paged_body(query: dict, keyset_page, offset_page, dump=lambda items: items) -> dict:
    """A list response from a query with `page`, `per_page` and `cursor`: the keyset page after the
    cursor (page 1 when there is none), or an OFFSET page when `page` > 1, with its total (exact
    unless `offset_page` says otherwise: a third value, loyalty.paging.deep_page)."""
    page, per_page, cursor = query.pop("page"), query.pop("per_page"), query.pop("cursor", None)
    if page > 1 and not cursor:
        items, total, *exact = offset_page(page=page, per_page=per_page, **query)  # (…, exact?) when bounded
        return {**page_body(dump(items), total, page, per_page), "total_exact": exact[0] if exact else True,
                "next": None, "prev": None}
    found = keyset_page(cursor=cursor, per_page=per_page, **query)
    return {"items": dump(found.items), "total": found.count, "total_exact": found.count_exact,
            "page": None if cursor else 1, "per_page": per_page, "next": found.next, "prev": found.prev}


def page_body(items, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}


Str = fields.String
NonEmpty = validate.Length(min=1)
