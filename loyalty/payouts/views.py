"""The finance pages: the approval queue with each payout's evidence rows; approve, reject,
mark paid; the export (CSV for Excel, XLSX)."""
from __future__ import annotations

import secrets

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from loyalty import clock
from loyalty.auth.access import allow
from loyalty.directory.service import list_stores
from loyalty.errors import DomainError
from loyalty.payouts import bulk, export, export_direct, export_jobs, labels, said, service
from loyalty.payouts import export_xlsx as export_xlsx_file
from loyalty.payouts.forms import BulkApproveForm, PaidForm, RejectForm
from loyalty.payouts.models import APPROVED, AWAITING_APPROVAL, STATUSES
from loyalty.schemas import parse_day
from loyalty.web.forms import EmptyForm
from loyalty.web.listing import list_filters
from loyalty.web.once import act_once, form_token
from loyalty.web.pages import act, expired, flash_error
from loyalty.web.tables import file_download, period, stream_download, temp_file_download

bp = Blueprint("payouts_web", __name__, template_folder="templates")

BOOKS = ("finance", "admin")


@bp.app_template_filter("evidence_time")
def evidence_time(iso: str | None, zone: str = "Asia/Shanghai") -> str:
    """An ISO instant from an evidence snapshot, in the store's timezone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    try:
        return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


@bp.app_context_processor
def _labels():
    return {"payout_status_label": labels.status_label, "payout_status_tone": labels.status_tone,
            "method_label": labels.method_label, "payout_age": said.age, "export_label": labels.export_label}


def _filters() -> dict:
    args = request.values  # the query string, or a background export's form

    start, end = period(parse_day(args.get("from"), "from"), parse_day(args.get("to"), "to"))
    status = args.get("status")
    return {"status": status if status in STATUSES else None, "store_id": args.get("store_id", type=int),
            "date_from": start, "date_to": end}


def _queue_page() -> dict:
    """The queue's filters, its page and what this approver may do with each row."""
    filters, errors = list_filters(request.args, statuses=STATUSES, people=False,
                                   status_default=[AWAITING_APPROVAL, APPROVED])
    page = service.payout_page(g.actor, **filters)
    actions = {p.id: service.actions(g.actor, p) for p in page.items}
    return {"page": page, "payouts": page.items, "actions": actions, "errors": errors, "statuses": STATUSES,
            "stores": list_stores(g.actor) if g.actor.store_id is None else [], "args": request.args,
            "now": clock.now(), "selectable": [p.id for p in page.items if "approve" in actions[p.id]],
            "exports": export_jobs.my_exports(g.actor, limit=10), "export_days": export.DEFAULT_DAYS}


@bp.route("/payouts")
@allow(*BOOKS)
def queue():
    page = _queue_page()
    return render_template("payouts/queue.html", bulk_form=BulkApproveForm(), **page), 422 if page["errors"] else 200


@bp.route("/payouts/<int:payout_id>")
@allow(*BOOKS)
def detail(payout_id: int):
    payout = service.get_payout(g.actor, payout_id)
    return render_template("payouts/detail.html", p=payout, can=service.actions(g.actor, payout),
                           action_form=EmptyForm(), reject_form=RejectForm(), paid_form=PaidForm(), back=_back())


def _back() -> str:
    """Where a decision returns to: the page it was made on (a local path only), else the queue."""
    target = request.values.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else url_for("payouts_web.queue")


@bp.route("/payouts/approve", methods=["POST"])
@allow("finance")
def bulk_approve():
    form = BulkApproveForm()
    if not form.validate_on_submit():
        return expired(_back(), _("Choose the payouts to approve."))
    key = f"form:{form_token() or secrets.token_urlsafe(18)}"
    return act_once(lambda: bulk.approve_many(g.actor, form.ids(), key=key), said.bulk_result, _back())


@bp.route("/payouts/<int:payout_id>/approve", methods=["POST"])
@allow("finance")
def approve(payout_id: int):
    if not EmptyForm().validate_on_submit():
        return expired(url_for("payouts_web.queue"))
    return act_once(lambda: service.approve(g.actor, payout_id), said.approved, _back())


@bp.route("/payouts/<int:payout_id>/reject", methods=["POST"])
@allow("finance")
def reject(payout_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        return expired(_back(), _("Give a reason for the rejection."))
    return act_once(lambda: service.reject(g.actor, payout_id, reason=form.reason.data),
                    _("Payout %(id)s rejected; the reward was reversed.", id=payout_id), _back())


@bp.route("/payouts/<int:payout_id>/paid", methods=["POST"])
@allow("finance")
def mark_paid(payout_id: int):
    form = PaidForm()
    if not form.validate_on_submit():
        return expired(_back(), _("Choose the payment method and give the reference."))
    return act_once(lambda: service.mark_paid(g.actor, payout_id, **form.payment()),
                    _("Payout %(id)s marked paid.", id=payout_id), _back())


@bp.route("/payouts/export.csv")
@allow(*BOOKS)
def export_csv():
    """Streamed; above the direct bound a background export instead. Without from/to the last 90 days."""
    out = _direct_csv(_filters())
    if out is None or out.queued is not None:
        return redirect(url_for("payouts_web.queue", **request.args))
    return stream_download(out.pieces, "payouts.csv", "text/csv; charset=utf-8")


def _direct_csv(filters: dict) -> export_direct.Direct | None:
    """The direct export's one door (the API's too); the background export it becomes above the
    bound is said on the queue page, as is its refusal (None: nothing is committed)."""
    try:
        out = export_direct.direct_export(g.actor, "csv", locale=str(get_locale()), **filters)
    except DomainError as error:  # too many exports waiting, a period ending before it starts
        g.rollback = True
        flash_error(error, labels=EXPORT_FIELDS)
        return None
    if out.queued is not None:
        flash(_("Too many rows for one download: the export runs in the background and appears under My "
                "exports."), "success")
    return out


@bp.route("/payouts/export.xlsx")
@allow(*BOOKS)
def export_xlsx():
    """Written in constant memory; above the direct bound a 409 (background exports are CSV only)."""
    out = export_direct.direct_export(g.actor, "xlsx", locale=str(get_locale()), **_filters())
    return temp_file_download(out.file, "payouts.xlsx", export_xlsx_file.MIME)


def _start_export(filters: dict, done: str, back: str | None = None):
    everything = filters["date_from"] is None and filters["date_to"] is None
    return act(lambda: export_jobs.request_export(g.actor, locale=str(get_locale()), everything=everything,
                                                  **filters), done, back or _back(), labels=EXPORT_FIELDS)


EXPORT_FIELDS = {"store_id": "Store", "to": "To", "all": "Period"}


@bp.route("/payouts/exports", methods=["POST"])
@allow(*BOOKS)
def request_export():
    if not EmptyForm().validate_on_submit():
        return expired(_back())
    return _start_export(_filters(), _("The export runs in the background and appears under My exports."))


@bp.route("/payouts/exports/<int:export_id>.json")
@allow(*BOOKS)
def export_status(export_id: int):
    return jsonify(said.export_state(export_jobs.get_export(g.actor, export_id)))


@bp.route("/payouts/exports/<int:export_id>/payouts.csv")
@allow(*BOOKS)
def export_file(export_id: int):
    return file_download(*export_jobs.file_of(g.actor, export_id))
