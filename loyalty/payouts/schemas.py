"""What the payout API accepts and shows (the evidence never holds a callback's answer key)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.payouts.models import METHODS, STATUSES
from loyalty.schemas import InputSchema, KeysetQuery, QuerySchema, page_of


class ApprovalSchema(Schema):
    approver_id = fields.Integer()
    approver = fields.Function(lambda a: a.approver.display_name)
    at = fields.DateTime()


class PayoutSchema(Schema):
    id = fields.Integer()
    # The SPEC's name for the requester's reference (every payout today pays a referral reward);
    # handed over with the subject, never parsed out of it.
    referral_id = fields.Integer(attribute="reference", allow_none=True)
    subject = fields.String()
    label = fields.String(allow_none=True)
    store_id = fields.Integer()
    payee = fields.String()
    payee_name = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "fen to pay: the reward net of any receivable it settles"})
    gross_amount = fields.Integer(metadata={"description": "the reward, fen"})
    offset_amount = fields.Integer(metadata={"description": "the payee's receivable this payout settles, fen"})
    unit = fields.String()
    status = fields.String()
    approvals_required = fields.Integer()
    approvals = fields.List(fields.Nested(ApprovalSchema))
    requested_at = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    method = fields.String(allow_none=True)
    external_reference = fields.String(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    reverse_transfer_id = fields.Integer(allow_none=True)
    offset_transfer_id = fields.Integer(allow_none=True)
    paid_transfer_id = fields.Integer(allow_none=True)
    clawback_transfer_id = fields.Integer(allow_none=True)
    evidence = fields.Dict(metadata={"description": "the requester's snapshot, as handed over"})
    evidence_rows = fields.List(fields.Dict(), metadata={"description": "the evidence as labelled rows"})


PayoutPage = page_of(PayoutSchema)


class PayoutQuery(KeysetQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    store_id = fields.Integer()
    referral_id = fields.Integer(attribute="reference", metadata={"description": "the requester's reference"})
    date_from = fields.Date(data_key="from", metadata={"description": "requested on or after (YYYY-MM-DD)"})
    date_to = fields.Date(data_key="to", metadata={"description": "requested on or before (YYYY-MM-DD)"})


class ExportQuery(QuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    store_id = fields.Integer()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


class ApproveInSchema(InputSchema):
    pass


class RejectInSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PaidInSchema(InputSchema):
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    external_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
