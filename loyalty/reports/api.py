"""/api/v1/reports/liabilities: reward liabilities (pending and payable) by store."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from loyalty.auth.access import allow, current_actor
from loyalty.reports import service
from loyalty.reports.views import liabilities_csv

blp = Blueprint("money_reports", __name__, url_prefix="/api/v1/reports", description="Money reports")

READERS = ("manager", "finance", "admin")


class StoreLiabilitySchema(Schema):
    store_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    pending = fields.Integer(metadata={"description": "fen reserved, awaiting the callback"})
    awaiting_approval = fields.Integer()
    approved = fields.Integer()
    payable = fields.Integer(metadata={"description": "fen posted and not yet paid"})


class LiabilitiesSchema(Schema):
    items = fields.List(fields.Nested(StoreLiabilitySchema))
    totals = fields.Dict()
    ledger_payable = fields.Integer(allow_none=True)
    ledger_receivable = fields.Integer(allow_none=True)


@blp.route("/liabilities", methods=["GET"])
@allow(*READERS)
@blp.response(200, LiabilitiesSchema)
@blp.doc(summary="Reward liabilities by store",
         description="Per store: fen reserved and awaiting the callback, awaiting approval, approved, and payable; "
                     "with totals and the ledger's payable and receivable balances.")
def liabilities():
    report = service.liabilities(current_actor())
    return {"items": [s.as_dict() for s in report.stores], "totals": report.totals,
            "ledger_payable": report.ledger_payable, "ledger_receivable": report.ledger_receivable}


@blp.route("/liabilities.csv", methods=["GET"])
@allow(*READERS)
@blp.doc(summary="Reward liabilities by store (CSV)",
         description="The liabilities report as CSV (UTF-8 with a BOM, for Excel).")
def liabilities_download():
    return liabilities_csv(service.liabilities(current_actor()))
