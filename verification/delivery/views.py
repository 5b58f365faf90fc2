"""Delivery pages: a referral's page with its delivery checks; the delivery check (a match is
decided at once; a rejection is shown side by side for confirmation first), reopening a
rejection, deliveries on record and the sales system's CSV import."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from loyalty import clock
from loyalty.auth.access import allow
from loyalty.directory import service as directory
from loyalty.errors import DomainError
from loyalty.web.pages import refuse, shown_phone
from verification.delivery import dms, labels, records, service
from verification.delivery.forms import DeliveryForm, ImportForm, ReopenForm
from verification.delivery.schemas import sees_vehicle
from verification.referrals import service as referrals

bp = Blueprint("delivery_web", __name__, template_folder="templates")

MANAGERS = ("manager", "admin")
SHOWROOM = ("consultant", "manager", "admin")


@bp.app_context_processor
def _labels():
    return {"outcome_label": labels.outcome_label, "note_label": labels.note_label,
            "source_label": labels.source_label, "import_label": labels.import_label,
            "column_label": labels.column_label, "side_label": labels.side_label}


def _entered(form: DeliveryForm, zone: ZoneInfo) -> dict:
    d = form.data
    vehicle = {"model": d["vehicle_model"], "colour": d["vehicle_colour"],
               "transmission": d["vehicle_transmission"] or None, "vin": d["vehicle_vin"] or None}
    typed = any((d["vehicle_model"], d["vehicle_colour"], d["vehicle_transmission"], d["vehicle_vin"]))
    return {"delivered_at": d["delivered_at"].replace(tzinfo=zone) if d["delivered_at"] else None,
            "vehicle": vehicle if typed else None,
            "licence": {"owner_name": d["licence_owner_name"], "plate": d["licence_plate"],
                        "model": d["licence_model"], "vin": d["licence_vin"] or None,
                        "colour": d["licence_colour"] or None}}


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
                           shows_verification=referrals.shows_verification(g.actor, referral))


@bp.route("/referrals/<int:referral_id>/delivery", methods=["GET", "POST"])
@allow(*MANAGERS)
def check_delivery(referral_id: int):
    referral, on_record = service.start_check(g.actor, referral_id)
    zone = ZoneInfo(referral.store.timezone)
    form = DeliveryForm()
    page = {"referral": referral, "on_record": on_record}
    if not form.is_submitted() and on_record is None:  # usually the car leaves now: the store's local time
        form.delivered_at.data = clock.now().astimezone(zone).replace(tzinfo=None, microsecond=0)
    if not form.validate_on_submit() or request.form.get("action") == "edit":
        status = 422 if form.is_submitted() and form.errors else 200
        return render_template("delivery/check.html", form=form, **page), status
    try:
        result = service.review_delivery(g.actor, referral_id, confirmed=request.form.get("action") == "confirm",
                                         **_entered(form, zone))
    except DomainError as error:
        return refuse("delivery/check.html", form, _on_form(error), **page)
    if result.decided:
        return render_template("delivery/result.html", result=result, referral=result.referral)
    return render_template("delivery/confirm.html", result=result, referral=result.referral, form=form)


@bp.route("/referrals/<int:referral_id>/reopen", methods=["POST"])
@allow(*MANAGERS)
def reopen(referral_id: int):
    form = ReopenForm()
    if not form.validate_on_submit():
        g.rollback = True
        flash(_("Say why the check is reopened."), "error")
        return redirect(url_for("delivery_web.referral", referral_id=referral_id))
    try:
        service.reopen(g.actor, referral_id, reason=form.reason.data)
        flash(_("Reopened: the delivery can be checked again by another manager."), "success")
    except DomainError as error:
        g.rollback = True
        flash(_(error.message), "error")
        for messages in error.fields.values():
            for message in messages:
                flash(_(message), "error")
    return redirect(url_for("delivery_web.referral", referral_id=referral_id))


@bp.route("/deliveries")
@allow(*MANAGERS)
def deliveries():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    vin = (request.args.get("vin") or "").strip() or None
    items, total = records.list_deliveries(g.actor, vin=vin, page=page, per_page=50)
    return render_template("delivery/list.html", deliveries=items, total=total, page=page, per_page=50, vin=vin,
                           phone=lambda c: shown_phone(g.actor, c.phone),
                           sees_vehicle=lambda d: sees_vehicle(g.actor, d))


@bp.route("/deliveries/import", methods=["GET", "POST"])
@allow(*MANAGERS)
def import_deliveries():
    form = ImportForm()
    stores = directory.list_stores(g.actor)
    form.store_id.choices = [("", "—")] + [(s.id, f"{s.code} {s.name}") for s in stores]
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("delivery/import.html", form=form, report=None, group=g.actor.store_id is None), status
    upload = form.file.data
    try:
        report = dms.import_deliveries(g.actor, data=upload.read(), filename=upload.filename,
                                       store_id=form.store_id.data)
    except DomainError as error:
        return refuse("delivery/import.html", form, error, report=None, group=g.actor.store_id is None)
    if report.created:
        flash(_("%(n)s deliveries recorded.", n=report.created), "success")
    return render_template("delivery/import.html", form=ImportForm(formdata=None, store_id=form.store_id.data),
                           report=report, group=g.actor.store_id is None)
