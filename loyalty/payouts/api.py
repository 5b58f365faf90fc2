"""/api/v1/payouts: the finance queue, approve / reject / paid (Idempotency-Key), the export."""
from __future__ import annotations

from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.payouts import export, service
from loyalty.payouts import schemas as s
from loyalty.web.tables import download, period
from loyalty.schemas import page_body
from loyalty.web.idempotency import current_key, idempotent

blp = Blueprint("payouts", __name__, url_prefix="/api/v1/payouts", description="Reward payouts and approvals")

BOOKS = ("finance", "admin")


def _filters(query: dict) -> dict:
    start, end = period(query.pop("date_from", None), query.pop("date_to", None))
    return {**query, "date_from": start, "date_to": end}


@blp.route("", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.PayoutQuery, location="query")
@blp.response(200, s.PayoutPage)
def list_payouts(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    items, total = service.list_payouts(current_actor(), page=page, per_page=per_page, **_filters(query))
    return page_body(items, total, page, per_page)


@blp.route("/<int:payout_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.PayoutSchema)
def get_payout(payout_id):
    return service.get_payout(current_actor(), payout_id)


@blp.route("/<int:payout_id>/approve", methods=["POST"])
@allow("finance")
@blp.arguments(s.ApproveInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
def approve(body, payout_id):
    return service.approve(current_actor(), payout_id, key=current_key())


@blp.route("/<int:payout_id>/reject", methods=["POST"])
@allow("finance")
@blp.arguments(s.RejectInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
def reject(body, payout_id):
    return service.reject(current_actor(), payout_id, **body)


@blp.route("/<int:payout_id>/paid", methods=["POST"])
@allow("finance")
@blp.arguments(s.PaidInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
def mark_paid(body, payout_id):
    return service.mark_paid(current_actor(), payout_id, **body)


@blp.route("/export.csv", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.ExportQuery, location="query")
def export_csv(query):
    return download(export.to_csv(export.build(current_actor(), **_filters(query))), "payouts.csv",
                    "text/csv; charset=utf-8")


@blp.route("/export.xlsx", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.ExportQuery, location="query")
def export_xlsx(query):
    return download(export.to_xlsx(export.build(current_actor(), **_filters(query))), "payouts.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
