"""What the points endpoints accept and show."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from loyalty.limits import MAX_FEN
from loyalty.schemas import InputSchema, PageQuery, StrictBoolean, page_of


class VisitInSchema(InputSchema):
    store_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_FEN),
                            metadata={"description": "what the visit cost, in fen: 1 to 1000000000 "
                                                     "(¥10,000,000.00, the most the service desk page accepts)"})


class LotSchema(Schema):
    id = fields.Integer()
    store_id = fields.Integer()
    points = fields.Integer()
    remaining = fields.Integer()
    source = fields.String()
    visit_amount = fields.Integer(allow_none=True)
    reason = fields.String()
    earned_at = fields.DateTime()
    expires_at = fields.DateTime()
    expired_at = fields.DateTime(allow_none=True)
    transfer_id = fields.Integer()


class VisitSchema(Schema):
    points = fields.Integer(metadata={"description": "points earned by this visit"})
    lot = fields.Nested(LotSchema, allow_none=True)


class ItemRef(fields.Field):
    """A catalog item named by its id (an integer) or its code (text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value in ("", 0):
            raise ValidationError("Pick an item of the redemption catalog.")
        return value


class RedemptionInSchema(InputSchema):
    item = ItemRef(required=True, metadata={"description": "the catalog item's id or code",
                                            "oneOf": [{"type": "integer", "minimum": 1},
                                                      {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}]})
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=10**6))
    points = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**12), metadata={
        "description": "optional; when given it must equal the item's price times the quantity"})


class LotUseSchema(Schema):
    lot_id = fields.Integer()
    points = fields.Integer()


class RedemptionSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    points = fields.Integer()
    item = fields.String(metadata={"description": "the catalog item's name when it was redeemed"})
    catalog_item_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    transfer_id = fields.Integer()
    created_at = fields.DateTime()
    uses = fields.List(fields.Nested(LotUseSchema))


class BalanceSchema(Schema):
    posted = fields.Integer()
    pending = fields.Integer()
    available = fields.Integer()


class PointsSchema(Schema):
    customer_id = fields.Function(lambda s: s["customer"].id)
    account_id = fields.Function(lambda s: s["account"].id)
    balance = fields.Nested(BalanceSchema)
    lots = fields.List(fields.Nested(LotSchema))


class CatalogItemSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name_zh = fields.String()
    price = fields.Integer(metadata={"description": "points per unit"})
    stock = fields.Integer(allow_none=True, metadata={"description": "units left; null: not counted"})
    active = StrictBoolean()
    store_id = fields.Integer(allow_none=True, metadata={"description": "null: every store of the group"})
    created_at = fields.DateTime()


CatalogItemPage = page_of(CatalogItemSchema)
_CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$", error="Letters, digits, - and _ only (1 to 32).")


class CatalogItemInSchema(InputSchema):
    code = fields.String(required=True, validate=_CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=120))
    price = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))
    stock = fields.Integer(allow_none=True, load_default=None, strict=True, validate=validate.Range(min=0, max=10**9))
    active = StrictBoolean(load_default=True)
    store_id = fields.Integer(allow_none=True, load_default=None, strict=True, validate=validate.Range(min=1))


class CatalogItemPatchSchema(InputSchema):
    code = fields.String(validate=_CODE)
    name_zh = fields.String(validate=validate.Length(min=1, max=120))
    price = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**9))
    stock = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10**9))
    active = StrictBoolean()
    store_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1))


class CatalogQuery(PageQuery):
    store_id = fields.Integer(validate=validate.Range(min=1))
    active = fields.Boolean()  # a query string: "true"/"false"
