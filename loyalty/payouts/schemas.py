"""What the payout API accepts and shows (the evidence never holds a callback's answer key)."""
from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from loyalty.payouts.models import DONE, EXPORT_STATUSES, METHODS, STATUSES
from loyalty.schemas import InputSchema, KeysetQuery, QuerySchema, StrictBoolean, page_of


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


class ExportRequestSchema(InputSchema):
    """A background export: the direct export's filters, or `all` for every payout."""
    status = fields.String(validate=validate.OneOf(STATUSES))
    store_id = fields.Integer()
    date_from = fields.Date(data_key="from", metadata={"description": "requested on or after (YYYY-MM-DD)"})
    date_to = fields.Date(data_key="to", metadata={"description": "requested on or before (YYYY-MM-DD)"})
    everything = StrictBoolean(data_key="all", load_default=False,
                               metadata={"description": "every payout (no period); without it and without "
                                                        "`from`/`to`, the last 90 days"})


class PayoutExportSchema(Schema):
    """A background export's progress; `download` once its file is written."""
    id = fields.Integer()
    status = fields.String(metadata={"enum": list(EXPORT_STATUSES)})
    rows_done = fields.Integer()
    rows_total = fields.Integer(allow_none=True)
    percent = fields.Integer()
    filters = fields.Dict(metadata={"description": "as asked (instants in ISO 8601), and `upto_id`: the newest "
                                                   "payout when it was asked for"})
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    url = fields.Function(lambda e: url_for("payouts.get_export", export_id=e.id))
    download = fields.Function(lambda e: url_for("payouts.export_file", export_id=e.id) if e.status == DONE else None,
                               allow_none=True)


class PayoutExportList(Schema):
    items = fields.List(fields.Nested(PayoutExportSchema))
