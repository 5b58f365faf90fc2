"""Delivery pages: a referral's page with its delivery checks; the delivery check (a match is
decided at once; a rejection is shown side by side for confirmation first), reopening a
rejection, deliveries on record and the sales system's CSV import."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, render_template, request, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.directory import service as directory
from loyalty.errors import DomainError
from loyalty.web.listing import list_filters
from loyalty.web.once import Once, first_time, remember
from loyalty.web.pages import act, expired, refuse, shown_phone
from verification.callbacks import rewards
from verification.delivery import dms, labels, records, service
from verification.delivery.forms import DeliveryForm, ImportForm, ReopenForm
from verification.delivery.models import PASSED
from verification.delivery.schemas import sees_vehicle
from verification.referrals import service as referrals
from verification.rings import service as rings

bp = Blueprint("delivery_web", __name__, template_folder="templates")

MANAGERS = ("manager", "admin")
SHOWROOM = ("consultant", "manager", "admin")


@bp.app_context_processor
def _labels():
    return {"outcome_label": labels.outcome_label, "note_label": labels.note_label,
            "source_label": labels.source_label, "import_label": labels.import_label,
            "column_label": labels.column_label, "side_label": labels.side_label}


def _on_form(error: DomainError) -> DomainError:
    """The service names fields as the API does (licence.model, vehicle): the form's names."""
    names = {"vehicle": "vehicle_model"}
    error.fields = {names.get(k, k.replace(".", "_")): v for k, v in error.fields.items()}
    return error


@bp.route("/referrals/<int:referral_id>")
@allow(*SHOWROOM)
def referral(referral_id: int):
    """A referral's page: its facts, its delivery checks, and the checks the viewer may start or reopen."""
    referral = referrals.get_referral(g.actor, referral_id)
    return render_template("referrals/detail.html", referral=referral, reopen_form=ReopenForm(),
                           can_reopen=service.can_reopen(g.actor, referral),
                           can_check=service.can_check(g.actor, referral),
                           sees_record=service.sees_record_values(g.actor),
                           fact_changes=referrals.visible_fact_changes(g.actor, referral),
                           shows_verification=referrals.shows_verification(g.actor, referral),
                           risk=rings.visible_risk(g.actor, referral), reward=rewards.reward_state(referral))


@bp.route("/referrals/<int:referral_id>/delivery", methods=["GET", "POST"])
@allow(*MANAGERS)
def check_delivery(referral_id: int):
    once = first_time(url_for("delivery_web.referral", referral_id=referral_id)) if request.method == "POST" else Once()
    if once.replay is not None:  # a second POST of a check form that decided: what the first said
        return once.replay
    referral, on_record = service.start_check(g.actor, referral_id)
    zone, page = ZoneInfo(referral.store.timezone), {"referral": referral, "on_record": on_record}
    form = DeliveryForm.for_check(zone, on_record)
    if not form.ready():
        g.rollback = True  # nothing is checked: the form's token stays unused
        return render_template("delivery/check.html", form=form, **page), 422 if form.errors else 200
    return _checked(referral_id, form, zone, once, page)


def _checked(referral_id: int, form: DeliveryForm, zone: ZoneInfo, once: Once, page: dict):
    """Run the check: a decided result is shown and kept for a second POST of the same form to
    replay (one effect, one true message); a preview may be asked for again."""
    try:
        result = service.review_delivery(g.actor, referral_id, **form.entered(zone))
    except DomainError as error:
        return refuse("delivery/check.html", form, _on_form(error), **page)
    said = [("success" if result.outcome == PASSED else "warning",
             _("Delivery check recorded. %(outcome)s.", outcome=labels.outcome_label(result.outcome)))]
    remember(once, url_for("delivery_web.referral", referral_id=referral_id), said, again=not result.decided)
    template = "delivery/result.html" if result.decided else "delivery/confirm.html"
    return render_template(template, result=result, referral=result.referral, form=form)


@bp.route("/referrals/<int:referral_id>/reopen", methods=["POST"])
@allow(*MANAGERS)
def reopen(referral_id: int):
    form, back = ReopenForm(), url_for("delivery_web.referral", referral_id=referral_id)
    if not form.validate_on_submit():
        return expired(back, _("Say why the check is reopened."))
    return act(lambda: service.reopen(g.actor, referral_id, reason=form.reason.data),
               _("Reopened: the delivery can be checked again by another manager."), back)


@bp.route("/deliveries")
@allow(*MANAGERS)
def deliveries():
    filters, errors = list_filters(request.args, people=False)
    filters.pop("status")
    vin = (request.args.get("vin") or "").strip() or None
    page = records.delivery_page(g.actor, vin=vin, **filters)
    return render_template("delivery/list.html", page=page, deliveries=page.items, vin=vin, args=request.args,
                           errors=errors, stores=directory.list_stores(g.actor) if g.actor.store_id is None else [],
                           phone=lambda c: shown_phone(g.actor, c.phone),
                           sees_vehicle=lambda d: sees_vehicle(g.actor, d)), 422 if errors else 200


@bp.route("/deliveries/import", methods=["GET", "POST"])
@allow(*MANAGERS)
def import_deliveries():
    form, page = ImportForm.for_stores(directory.list_stores(g.actor)), {"group": g.actor.store_id is None}
    if not form.validate_on_submit():
        return render_template("delivery/import.html", form=form, report=None, **page), 422 if form.errors else 200
    try:
        report = dms.import_deliveries(g.actor, **form.upload())
    except DomainError as error:
        return refuse("delivery/import.html", form, error, report=None, **page)
    if report.created:
        flash(_("%(n)s deliveries recorded.", n=report.created), "success")
    return render_template("delivery/import.html", form=ImportForm(formdata=None, store_id=form.store_id.data),
                           report=report, **page)
