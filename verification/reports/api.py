"""/api/v1/reports/fraud and /timeliness (JSON, and CSV beside each)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from loyalty.auth.access import allow, current_actor
from loyalty.schemas import QuerySchema
from loyalty.web.tables import period
from verification.reports import service
from verification.reports.views import fraud_csv, timeliness_csv

blp = Blueprint("referral_reports", __name__, url_prefix="/api/v1/reports",
                description="Fraud, rejection and verification rates; callback timeliness")

READERS = ("manager", "finance", "admin")


class PeriodQuery(QuerySchema):
    date_from = fields.Date(data_key="from", metadata={"description": "registered on or after (YYYY-MM-DD)"})
    date_to = fields.Date(data_key="to", metadata={"description": "registered on or before (YYYY-MM-DD)"})


class FraudQuery(PeriodQuery):
    by = fields.String(load_default="store", validate=validate.OneOf(service.GROUPINGS))


class RateRowSchema(Schema):
    key = fields.Integer(metadata={"description": "staff id (by consultant) or store id"})
    label = fields.String()
    store_code = fields.String()
    registered = fields.Integer()
    open = fields.Integer()
    decided = fields.Integer()
    verified = fields.Integer()
    fraudulent = fields.Integer()
    rejected = fields.Integer()
    unverifiable = fields.Integer()
    expired = fields.Integer()
    unwound = fields.Integer()
    verification_rate = fields.Float(allow_none=True)
    fraud_rate = fields.Float(allow_none=True)
    rejection_rate = fields.Float(allow_none=True)
    penalties = fields.Integer(metadata={"description": "fen charged to the consultants (ledger)"})
    reopened = fields.Integer(metadata={"description": "referrals whose delivery-check rejection was reopened"})
    fact_changes = fields.Integer(metadata={
        "description": "verification facts or vehicles changed while a referral was live (CB-10): by consultant, "
                       "the changes this staff member made; by store, those on the store's referrals"})
    held = fields.Integer(metadata={"description": "passing verdicts held for a manager's confirmation (CB-11)"})


class FraudReportSchema(Schema):
    by = fields.String()
    items = fields.List(fields.Nested(RateRowSchema))


class TimelinessRowSchema(Schema):
    store_id = fields.Integer()
    label = fields.String()
    store_code = fields.String()
    decided = fields.Integer()
    mean_hours = fields.Float()
    median_hours = fields.Float()
    max_hours = fields.Float()
    attempts = fields.Integer()
    mean_attempts = fields.Float()
    first_call_share = fields.Float()


class TimelinessSchema(Schema):
    items = fields.List(fields.Nested(TimelinessRowSchema))


def _period(query: dict) -> dict:
    start, end = period(query.get("date_from"), query.get("date_to"))
    return {"start": start, "end": end}


@blp.route("/fraud", methods=["GET"])
@allow(*READERS)
@blp.arguments(FraudQuery, location="query")
@blp.response(200, FraudReportSchema)
@blp.doc(summary="Fraud and verification rates",
         description="Registered, verified, fraudulent, rejected, unverifiable, expired and unwound referrals and "
                     "their rates, by store or by consultant, for a registration date range.")
def fraud(query):
    return {"by": query["by"], "items": service.fraud_rates(current_actor(), by=query["by"], **_period(query))}


@blp.route("/fraud.csv", methods=["GET"])
@allow(*READERS)
@blp.arguments(FraudQuery, location="query")
@blp.doc(summary="Fraud and verification rates (CSV)",
         description="The fraud report as CSV (UTF-8 with a BOM, for Excel).")
def fraud_download(query):
    return fraud_csv(service.fraud_rates(current_actor(), by=query["by"], **_period(query)), query["by"])


@blp.route("/timeliness", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, TimelinessSchema)
@blp.doc(summary="Callback timeliness",
         description="Per store: hours from delivery to the verdict (mean, median, max), attempts per referral and the"
                     " share decided on the first call.")
def timeliness(query):
    return {"items": service.timeliness(current_actor(), **_period(query))}


@blp.route("/timeliness.csv", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.doc(summary="Callback timeliness (CSV)",
         description="The timeliness report as CSV (UTF-8 with a BOM, for Excel).")
def timeliness_download(query):
    return timeliness_csv(service.timeliness(current_actor(), **_period(query)))
