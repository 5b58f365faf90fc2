"""/api/v1/payouts: the finance queue, approve / reject / paid (Idempotency-Key), the export."""
from __future__ import annotations

from flask import url_for
from flask_babel import get_locale
from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.payouts import export_direct, export_jobs, service
from loyalty.payouts import export_xlsx as export_xlsx_file
from loyalty.payouts import schemas as s
from loyalty.schemas import paged_body
from loyalty.web.idempotency import current_key, idempotent
from loyalty.web.tables import file_download, period, stream_download, temp_file_download

blp = Blueprint("payouts", __name__, url_prefix="/api/v1/payouts", description="Reward payouts and approvals")

BOOKS = ("finance", "admin")


def _filters(query: dict) -> dict:
    start, end = period(query.pop("date_from", None), query.pop("date_to", None))
    return {**query, "date_from": start, "date_to": end}


@blp.route("", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.PayoutQuery, location="query")
@blp.response(200, s.PayoutPage)
@blp.doc(summary="List payouts (the finance queue)",
         description="Reward payouts, the oldest first, keyset-paged (`cursor` = a response's `next`), filtered by "
                     "status, store, referral and requested-date range.")
def list_payouts(query):
    actor, paging = current_actor(), {k: query.pop(k) for k in ("page", "per_page", "cursor") if k in query}
    return paged_body({**paging, **_filters(query)}, lambda **q: service.payout_page(actor, **q),
                      lambda **q: service.list_payouts(actor, **q))


@blp.route("/<int:payout_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.PayoutSchema)
@blp.doc(summary="Read a payout",
         description="One payout with its approvals, the staff who may not approve it and the evidence handed over by "
                     "the referral side.")
def get_payout(payout_id):
    return service.get_payout(current_actor(), payout_id)


@blp.route("/<int:payout_id>/approve", methods=["POST"])
@allow("finance")
@blp.arguments(s.ApproveInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
@blp.doc(summary="Approve a payout",
         description="Records the caller's approval. Payouts above the two-approver threshold need two different "
                     "finance approvers; nobody approves a payout they registered or checked. Requires an Idempotency-"
                     "Key (LED-3); audited.")
def approve(body, payout_id):
    return service.approve(current_actor(), payout_id, key=current_key())


@blp.route("/<int:payout_id>/reject", methods=["POST"])
@allow("finance")
@blp.arguments(s.RejectInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
@blp.doc(summary="Reject a payout",
         description="Rejects a payout not yet paid, with a reason: the reward is reversed by a new transfer and the "
                     "requesting side hears why. Requires an Idempotency-Key (LED-3); audited.")
def reject(body, payout_id):
    return service.reject(current_actor(), payout_id, **body)


@blp.route("/<int:payout_id>/paid", methods=["POST"])
@allow("finance")
@blp.arguments(s.PaidInSchema)
@idempotent
@blp.response(200, s.PayoutSchema)
@blp.doc(summary="Mark a payout paid",
         description="Records that an approved payout was paid, with the method and the external reference. Requires "
                     "an Idempotency-Key (LED-3); audited.")
def mark_paid(body, payout_id):
    return service.mark_paid(current_actor(), payout_id, **body)


@blp.route("/export.csv", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.ExportQuery, location="query")
@blp.response(202, s.PayoutExportSchema, description="Too many rows for one request: a background export was "
              "queued (or the same one still running answered); `Location` is its progress.")
@blp.doc(summary="Export payouts (CSV)",
         description="The payouts matching the filters as CSV (UTF-8 with a BOM, for Excel), streamed. Without "
                     "`from` and `to`, the payouts requested in the last 90 days. Above the direct bound "
                     "(`EXPORT_DIRECT_MAX_ROWS`, default 20,000 rows) the answer is 202 and a background export. "
                     "Audited.")
def export_csv(query):
    out = export_direct.direct_export(current_actor(), "csv", locale=str(get_locale()), **_filters(query))
    if out.queued is not None:
        return _queued(out.queued)
    return stream_download(out.pieces, "payouts.csv", "text/csv; charset=utf-8")


def _queued(job):
    return job, 202, {"Location": url_for("payouts.get_export", export_id=job.id)}


@blp.route("/exports", methods=["POST"])
@allow(*BOOKS)
@blp.arguments(s.ExportRequestSchema)
@blp.response(202, s.PayoutExportSchema)
@blp.doc(summary="Ask for a background export (CSV)",
         description="Queues an export of the payouts matching the filters (the caller's stores only), written by "
                     "the scheduler; `Location` and `url` give its progress, `download` the file once done. Without "
                     "`from`/`to` the last 90 days; `all: true` every payout. Asking again while the same export is "
                     "queued or running answers that one. Audited.")
def request_export(body):
    everything = body.pop("everything")
    return _queued(export_jobs.request_export(current_actor(), locale=str(get_locale()), everything=everything,
                                              **_filters(body)))


@blp.route("/exports", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.PayoutExportList)
@blp.doc(summary="My background exports", description="The caller's 20 newest exports, the newest first.")
def list_exports():
    return {"items": export_jobs.my_exports(current_actor())}


@blp.route("/exports/<int:export_id>", methods=["GET"])
@allow(*BOOKS)
@blp.response(200, s.PayoutExportSchema)
@blp.doc(summary="A background export's progress",
         description="Status (queued, running, done, failed, expired), rows done of rows total. Only the caller's "
                     "own exports (an admin's: any); others are 404.")
def get_export(export_id):
    return export_jobs.get_export(current_actor(), export_id)


@blp.route("/exports/<int:export_id>/payouts.csv", methods=["GET"])
@allow(*BOOKS)
@blp.doc(summary="Download a background export",
         description="The file, read from disk (UTF-8 with a BOM, for Excel). 409 while the export is queued or "
                     "running, when it failed, or once its file expired. Only the requester (or an admin); audited.")
def export_file(export_id):
    return file_download(*export_jobs.file_of(current_actor(), export_id))


@blp.route("/export.xlsx", methods=["GET"])
@allow(*BOOKS)
@blp.arguments(s.ExportQuery, location="query")
@blp.doc(summary="Export payouts (Excel)",
         description="The payouts matching the filters as an Excel workbook, with the same totals as the CSV. "
                     "Without `from` and `to`, the payouts requested in the last 90 days. Above the direct bound "
                     "(`EXPORT_DIRECT_MAX_ROWS`) 409 `export_too_large`: choose a shorter period, or ask for a "
                     "background export (CSV). Audited.")
def export_xlsx(query):
    out = export_direct.direct_export(current_actor(), "xlsx", locale=str(get_locale()), **_filters(query))
    return temp_file_download(out.file, "payouts.xlsx", export_xlsx_file.MIME)
