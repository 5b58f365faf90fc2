"""The finance pages: the approval queue with each payout's evidence rows; approve, reject,
mark paid; the export (CSV for Excel, XLSX)."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.payouts import export, labels, service
from loyalty.payouts.forms import PaidForm, RejectForm
from loyalty.payouts.models import APPROVED, AWAITING_APPROVAL, STATUSES
from loyalty.schemas import parse_day
from loyalty.web.forms import EmptyForm
from loyalty.web.pages import act, expired
from loyalty.web.tables import download, period

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
            "method_label": labels.method_label}


def _filters() -> dict:
    args = request.args

    start, end = period(parse_day(args.get("from"), "from"), parse_day(args.get("to"), "to"))
    status = args.get("status")
    return {"status": status if status in STATUSES else None, "store_id": args.get("store_id", type=int),
            "date_from": start, "date_to": end}


@bp.route("/payouts")
@allow(*BOOKS)
def queue():
    filters = _filters()
    if filters["status"] is None and "status" not in request.args:
        filters["status"] = [AWAITING_APPROVAL, APPROVED]
    items, total = service.list_payouts(g.actor, per_page=200, **filters)
    return render_template("payouts/queue.html", payouts=items, total=total, statuses=STATUSES,
                           actions={p.id: service.actions(g.actor, p) for p in items}, action_form=EmptyForm(),
                           reject_form=RejectForm(), paid_form=PaidForm(), args=request.args)


def _back() -> str:
    return request.form.get("next") or url_for("payouts_web.queue")


@bp.route("/payouts/<int:payout_id>/approve", methods=["POST"])
@allow("finance")
def approve(payout_id: int):
    if not EmptyForm().validate_on_submit():
        return expired(url_for("payouts_web.queue"))
    return act(lambda: service.approve(g.actor, payout_id), _approved, _back())


def _approved(payout) -> str:
    """Say the state the approval left: approved, or one approval of two recorded (待审批 1/2)."""
    if payout.status == APPROVED:
        return _("Payout %(id)s approved.", id=payout.id)
    return _("Approval %(n)s of %(m)s recorded for payout %(id)s; it waits for another finance approver.",
             n=len(payout.approvals), m=payout.approvals_required, id=payout.id)


@bp.route("/payouts/<int:payout_id>/reject", methods=["POST"])
@allow("finance")
def reject(payout_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        return expired(url_for("payouts_web.queue"), _("Give a reason for the rejection."))
    return act(lambda: service.reject(g.actor, payout_id, reason=form.reason.data),
               _("Payout %(id)s rejected; the reward was reversed.", id=payout_id), _back())


@bp.route("/payouts/<int:payout_id>/paid", methods=["POST"])
@allow("finance")
def mark_paid(payout_id: int):
    form = PaidForm()
    if not form.validate_on_submit():
        return expired(url_for("payouts_web.queue"), _("Choose the payment method and give the reference."))
    return act(lambda: service.mark_paid(g.actor, payout_id, **form.payment()),
               _("Payout %(id)s marked paid.", id=payout_id), _back())


@bp.route("/payouts/export.csv")
@allow(*BOOKS)
def export_csv():
    return download(export.to_csv(export.build(g.actor, **_filters())), "payouts.csv", "text/csv; charset=utf-8")


@bp.route("/payouts/export.xlsx")
@allow(*BOOKS)
def export_xlsx():
    return download(export.to_xlsx(export.build(g.actor, **_filters())), "payouts.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
