"""Referral request bodies and the views of a referral, one schema per audience.

The record values a delivery check compares (the referrer's name and vehicle as the directory
holds them) are part of the answer key (SEC-5): the showroom's view of a referral carries the
per-field results only; admins read the side-by-side comparison. The checking manager sees it
in the check's own answer (verification.delivery.schemas)."""
from __future__ import annotations

from marshmallow import fields, validate

from loyalty.directory.identity import mask_phone
from loyalty.schemas import InputSchema, KeysetQuery, Schema, page_of
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


class PartySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.Function(lambda c: mask_phone(c.phone))


class ReferrerRefSchema(Schema):
    """The old customer without his name on record: the claim names him as the new customer did."""
    id = fields.Integer()
    phone = fields.Function(lambda c: mask_phone(c.phone))


class CheckSummarySchema(Schema):
    """A decided delivery check: who, when, the outcome and the result per field."""
    id = fields.Integer()
    checked_at = fields.DateTime()
    checked_by_id = fields.Integer()
    outcome = fields.String()
    delivered_at = fields.DateTime()
    checks = fields.Dict()
    reopened_at = fields.DateTime(allow_none=True)
    reopened_by_id = fields.Integer(allow_none=True)
    reopen_reason = fields.String(allow_none=True)


class CheckDetailSchema(CheckSummarySchema):
    """For admins: what was entered and the claim, the licence and the record side by side."""
    licence = fields.Dict()
    comparison = fields.Dict()


class ReferralSchema(Schema):
    """The showroom's view. No callback plan here, ever (CB-4); no record values (SEC-5)."""
    id = fields.Integer()
    status = fields.String()
    store_id = fields.Integer()
    referrer = fields.Nested(ReferrerRefSchema)
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
    delivery_check_history = fields.List(fields.Nested(CheckSummarySchema), attribute="check_records")
    reopened = fields.Function(lambda r: r.reopened_check is not None)
    reason = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    reward_amount = fields.Integer(allow_none=True)
    reward_unit = fields.String(allow_none=True)


class ReferralAdminSchema(ReferralSchema):
    """Admins see all: the referrer as on record and every check side by side."""
    referrer = fields.Nested(PartySchema)
    delivery_check_history = fields.List(fields.Nested(CheckDetailSchema), attribute="check_records")


class CreatedSchema(Schema):
    id = fields.Integer()
    status = fields.String()


class ReferralQuery(KeysetQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    store_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    consultant_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                   metadata={"description": "who registered it (managers, admins)"})
    q = fields.String(validate=validate.Length(max=60), metadata={"description": "a name or a phone's last 4 digits"})
    mine = fields.Boolean(load_default=False)
    queue = fields.String(validate=validate.OneOf(["acknowledge", "review", "delivery"]))


ReferralPage = page_of(ReferralSchema)
ReferralAdminPage = page_of(ReferralAdminSchema)


def view_for(actor) -> type[ReferralSchema]:
    """The schema of a referral as this actor may read it."""
    return ReferralAdminSchema if actor is not None and actor.role == "admin" else ReferralSchema


def page_view_for(actor) -> type[Schema]:
    return ReferralAdminPage if actor is not None and actor.role == "admin" else ReferralPage


def queue_actions(actor, referral, queue: str) -> tuple[str, ...]:
    """What a manager may do with a referral in one of the managers' queues (ARCHITECTURE
    example 14); the page offers these and holds no rule. Whoever registered a referral does not
    check its delivery (REG-1, DEL-1): another manager does (the review queue already leaves
    their own referrals out)."""
    own = actor is None or referral.registered_by_id == actor.id
    if queue == "delivery":
        return () if own else ("check_delivery",)
    if queue == "acknowledge":  # nor does he acknowledge it (REG-1)
        return () if own else ("acknowledge",)
    return (queue,)  # review
