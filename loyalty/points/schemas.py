"""What the points endpoints accept and show."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.schemas import InputSchema


class VisitInSchema(InputSchema):
    store_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12),
                            metadata={"description": "what the visit cost, in fen"})


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


class RedemptionInSchema(InputSchema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12))
    item = fields.String(required=True, validate=validate.Length(min=1, max=120))


class LotUseSchema(Schema):
    lot_id = fields.Integer()
    points = fields.Integer()


class RedemptionSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    points = fields.Integer()
    item = fields.String()
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
