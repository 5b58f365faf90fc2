"""/api/v1/rings (the rings, CSV beside), /rings/report and /referrals/{id}/risk: managers and admins."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from loyalty.auth.access import allow, current_actor
from loyalty.schemas import QuerySchema
from loyalty.web.tables import period
from verification.referrals import service as referrals
from verification.rings import graph, labels, service
from verification.rings.signals import KINDS
from verification.rings.views import report_csv, rings_csv

blp = Blueprint("rings", __name__, url_prefix="/api/v1", description="Ring detection: risk signals and rings")

READERS = graph.READERS


class PeriodQuery(QuerySchema):
    date_from = fields.Date(data_key="from", metadata={"description": "registered on or after (YYYY-MM-DD)"})
    date_to = fields.Date(data_key="to", metadata={"description": "registered on or before (YYYY-MM-DD)"})


class SignalSchema(Schema):
    kind = fields.String(metadata={"description": "one of " + ", ".join(KINDS)})
    label = fields.Function(lambda s: labels.kind_label(s.kind))
    weight = fields.Integer()
    reason = fields.Function(labels.reason, metadata={"description": "the reason with its evidence, translated"})
    linked = fields.List(fields.Integer(), metadata={"description": "the referrals it links to"})


class RiskSchema(Schema):
    referral_id = fields.Integer()
    score = fields.Integer()
    computed_at = fields.DateTime()
    signals = fields.List(fields.Nested(SignalSchema))


class RingSignalSchema(SignalSchema):
    referral_id = fields.Integer()


class RingSchema(Schema):
    risk = fields.Integer()
    referrals = fields.List(fields.Integer())
    people = fields.Function(lambda r: [{"key": k, "name": n, "kind": kind} for k, (n, kind) in r.nodes.items()])
    edges = fields.Function(lambda r: [{"from": a, "to": b, "kinds": sorted(k)} for (a, b), k in r.edges.items()])
    signals = fields.Function(lambda r: RingSignalSchema(many=True).dump([s for _rid, s in r.signals]))


class RingsSchema(Schema):
    items = fields.List(fields.Nested(RingSchema))


class ReportRowSchema(Schema):
    store_id = fields.Integer()
    store = fields.String()
    consultant_id = fields.Integer()
    consultant = fields.String()
    total = fields.Integer()
    counts = fields.Function(lambda r: {k: r[k] for k in KINDS})


class ReportSchema(Schema):
    items = fields.List(fields.Nested(ReportRowSchema))


def _period(query: dict) -> dict:
    start, end = period(query.get("date_from"), query.get("date_to"))
    return {"start": start, "end": end}


@blp.route("/rings", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, RingsSchema)
@blp.doc(summary="Rings", description="Connected groups of customers and staff linked by referrals that raised a "
                                      "signal, riskiest first: a manager's own store, every store for an admin.")
def rings(query):
    return {"items": graph.rings(current_actor(), **_period(query))}


@blp.route("/rings.csv", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.doc(summary="Rings (CSV)", description="The rings as CSV (UTF-8 with a BOM, for Excel).")
def rings_download(query):
    return rings_csv(graph.rings(current_actor(), **_period(query), limit=10_000))


@blp.route("/rings/report", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, ReportSchema)
@blp.doc(summary="Signals by consultant and store", description="Flagged referrals per signal kind, by store and "
                                                                "registering consultant, for a registration period.")
def report(query):
    return {"items": graph.report(current_actor(), **_period(query))}


@blp.route("/rings/report.csv", methods=["GET"])
@allow(*READERS)
@blp.arguments(PeriodQuery, location="query")
@blp.doc(summary="Signals by consultant and store (CSV)",
         description="The report of signals by consultant and store as CSV (UTF-8 with a BOM, for Excel).")
def report_download(query):
    return report_csv(graph.report(current_actor(), **_period(query)))


@blp.route("/referrals/<int:referral_id>/risk", methods=["GET"])
@allow(*READERS)
@blp.response(200, RiskSchema)
@blp.doc(summary="A referral's ring risk", description="The signals that fired, each with its reason and the "
                                                       "referrals it links to. Managers and admins only.")
def risk(referral_id):
    referral = referrals.get_referral(current_actor(), referral_id)
    return service.visible_risk(current_actor(), referral) or {"referral_id": referral.id, "score": 0, "signals": []}
