"""Schema building blocks shared by every package."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, pre_load, validate


class InputSchema(Schema):
    """Request bodies: unknown fields are an error, so typos do not pass silently.

    Text loses its leading and trailing spaces before validation, so a name of only
    spaces is an empty name (a field error), never stored blank. Passwords are kept
    exactly as typed."""
    class Meta:
        unknown = RAISE

    @pre_load
    def _strip_text(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        return {k: (v.strip() if isinstance(v, str) and "password" not in k else v) for k, v in data.items()}


class QuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE


class PageQuery(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ErrorSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw())


def page_of(item_schema: type[Schema], name: str | None = None) -> type[Schema]:
    """`{"items": [...], "total", "page", "per_page"}` for a list response."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
    }, name=name or f"{item_schema.__name__.removesuffix('Schema')}Page")


def page_body(items, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}


Str = fields.String
NonEmpty = validate.Length(min=1)
