"""Referral request bodies and the showroom's view of a referral."""
from __future__ import annotations

from marshmallow import fields, validate

from loyalty.directory.identity import mask_phone
from loyalty.schemas import InputSchema, PageQuery, Schema, page_of
from verification.referrals.models import STATUSES


class ClaimSchema(InputSchema):
    """What the new customer said about the referrer, at registration (姓名、电话、车型、颜色)."""
    referrer_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    referrer_phone = fields.String(required=True, validate=validate.Length(min=3, max=32))
    referrer_model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    referrer_colour = fields.String(required=True, validate=validate.Length(min=1, max=30))


class ReferralInSchema(InputSchema):
    store_id = fields.Integer(required=True, strict=True)
    referrer_id = fields.Integer(required=True, strict=True)
    referee_id = fields.Integer(required=True, strict=True)
    claim = fields.Nested(ClaimSchema, required=True)


class ReviewInSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "reject"]))
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))


class DeliveredVehicleSchema(InputSchema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    colour = fields.String(required=True, validate=validate.Length(min=1, max=30))
    transmission = fields.String(required=True, validate=validate.OneOf(["automatic", "manual"]))
    vin = fields.String(allow_none=True, validate=validate.Length(max=17))
    plate = fields.String(allow_none=True, validate=validate.Length(max=16))


class LicenceSchema(InputSchema):
    """The referrer's vehicle licence (行驶证) as the manager reads it."""
    owner_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    plate = fields.String(required=True, validate=validate.Length(min=1, max=16))
    model = fields.String(required=True, validate=validate.Length(min=1, max=60))
    vin = fields.String(allow_none=True, validate=validate.Length(max=17))
    colour = fields.String(allow_none=True, validate=validate.Length(max=30))


class DeliveryInSchema(InputSchema):
    delivered_at = fields.AwareDateTime(required=True, format="iso")
    vehicle = fields.Nested(DeliveredVehicleSchema, required=True)
    licence = fields.Nested(LicenceSchema, required=True)


class PartySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.Function(lambda c: mask_phone(c.phone))


class ReferralSchema(Schema):
    """The showroom's view. No callback plan here, ever (CB-4)."""
    id = fields.Integer()
    status = fields.String()
    store_id = fields.Integer()
    referrer = fields.Nested(PartySchema)
    referee = fields.Nested(PartySchema)
    claim = fields.Function(lambda r: {
        "referrer_name": r.claim_referrer_name, "referrer_phone": mask_phone(r.claim_referrer_phone),
        "referrer_model": r.claim_referrer_model, "referrer_colour": r.claim_referrer_colour})
    registered_by_id = fields.Integer()
    registered_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by_id = fields.Integer(allow_none=True)
    review_required = fields.String(allow_none=True)
    review_decision = fields.String(allow_none=True)
    review_reason = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    delivery_checked_by_id = fields.Integer(allow_none=True)
    checks = fields.Dict(attribute="delivery_checks", allow_none=True)
    reason = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    reward_amount = fields.Integer(allow_none=True)
    reward_unit = fields.String(allow_none=True)


class CreatedSchema(Schema):
    id = fields.Integer()
    status = fields.String()


class DeliveryResultSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)
    checks = fields.Dict(attribute="delivery_checks", allow_none=True)


class ReferralQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    mine = fields.Boolean(load_default=False)
    queue = fields.String(validate=validate.OneOf(["acknowledge", "review", "delivery"]))


ReferralPage = page_of(ReferralSchema)
