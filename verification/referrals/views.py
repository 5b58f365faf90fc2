"""Referral pages: the consultant's registration form and "my referrals"; the managers'
acknowledgement queue, review queue and delivery queue. A referral's own page (with its delivery
checks) and the delivery check's pages are in verification/delivery/views.py: the delivery side
sits above referrals, which import nothing of it."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.directory import service as directory
from loyalty.errors import DomainError
from loyalty.web.forms import EmptyForm
from loyalty.web.listing import list_filters
from loyalty.web.once import act_once
from loyalty.web.pages import expired, refuse, show_form
from verification.referrals import labels, lists, schemas, service
from verification.referrals.forms import RegistrationForm, ReviewForm
from verification.referrals.models import REGISTERED, STATUSES

bp = Blueprint("referrals_web", __name__, template_folder="templates")

SHOWROOM = ("consultant", "manager", "admin")
MANAGERS = ("manager", "admin")
QUEUE_PAGE = 50  # rows per queue section, the oldest waiting first; each section pages on its own


@bp.app_context_processor
def _labels():
    return {"status_label": labels.status_label, "reason_label": labels.reason_label,
            "check_label": labels.check_label, "field_label": labels.field_label}


def _store_id() -> int | None:
    return g.actor.store_id or request.values.get("store_id", type=int)


def _live_referral(error: DomainError) -> dict:
    """The new customer's live referral as a link on the form, not its id as two banners."""
    if error.code != "referee_has_live_referral":
        return {}
    return {"data": ("referee_id", "referral_id"), "live_referral": (error.fields.get("referral_id") or [None])[0]}


@bp.route("/referrals/new", methods=["GET", "POST"])
@allow("consultant", "manager")
def register():
    form = RegistrationForm()
    if not form.validate_on_submit():
        return show_form("referrals/new.html", form)
    try:
        referral = service.register_at_showroom(g.actor, store_id=_store_id(), **form.registration(),
                                                phone_region=current_app.config["DEFAULT_PHONE_REGION"])
    except DomainError as error:
        return refuse("referrals/new.html", form, error, **_live_referral(error))
    flash(_("Referral registered. Report it to the duty manager.") if referral.status == REGISTERED else
          _("Referral registered: %(status)s. Report it to the duty manager.",
            status=labels.status_label(referral.status)), "success")
    return redirect(url_for("delivery_web.referral", referral_id=referral.id))


@bp.route("/referrals")
@allow(*SHOWROOM)
def mine():
    filters, errors = list_filters(request.args, statuses=STATUSES)
    page = lists.referral_page(g.actor, **filters, region=current_app.config["DEFAULT_PHONE_REGION"])
    return render_template("referrals/list.html", page=page, referrals=page.items, errors=errors,
                           args=request.args, statuses=STATUSES, **_choices()), 422 if errors else 200


def _choices() -> dict:
    """The stores (group-level staff) and consultants (managers, admins) the filters offer."""
    if g.actor.role == "consultant":
        return {"stores": [], "consultants": []}
    staff = directory.list_staff(g.actor)
    return {"stores": directory.list_stores(g.actor) if g.actor.store_id is None else [],
            "consultants": [s for s in staff if s.role in ("consultant", "manager")]}


@bp.route("/referrals/queue")
@allow(*MANAGERS)
def queue():
    queues = {name: lists.referral_page(g.actor, queue=name, oldest_first=True, per_page=QUEUE_PAGE,
                                        cursor=request.args.get(f"{name}_cursor") or None)
              for name in ("acknowledge", "review", "delivery")}
    return render_template("referrals/queue.html", queues=queues, args=request.args, action_form=EmptyForm(),
                           review_form=ReviewForm(), actions=lambda r, q: schemas.queue_actions(g.actor, r, q))


@bp.route("/referrals/<int:referral_id>/acknowledge", methods=["POST"])
@allow(*MANAGERS)
def acknowledge(referral_id: int):
    back = url_for("referrals_web.queue")
    if not EmptyForm().validate_on_submit():
        return redirect(back)
    return act_once(lambda: service.acknowledge(g.actor, referral_id), _("Acknowledged."), back)


@bp.route("/referrals/<int:referral_id>/review", methods=["POST"])
@allow(*MANAGERS)
def review(referral_id: int):
    form, back = ReviewForm(), url_for("referrals_web.queue")
    if not form.validate_on_submit():
        return expired(back, _("Choose accept or reject."))
    return act_once(lambda: service.review(g.actor, referral_id, decision=form.decision.data,
                                           reason=form.reason.data), _("Review recorded."), back)
