"""The customer's points page (积分明细), Chinese first, and the service desk's two buttons on it:
record a service visit (积分累积) and redeem points for a catalog item (积分兑换).

Each form posts its hidden one-time key as the idempotency key of the points it moves: a double
submit finds the first result and moves nothing more. A refused form comes back with what was
typed and the error at its field; nothing of that request is written.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from loyalty.auth.access import allow, audience_of, current_actor
from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.points import catalog, service
from loyalty.points.forms import RedeemForm, VisitForm
from loyalty.web.blueprint import grouped
from loyalty.web.money import fen_to_yuan_grouped
from loyalty.web.pages import attach_field_errors

bp = Blueprint("points_web", __name__, template_folder="templates")

DESK = ("service", "admin")


def entry_kind(entry: dict) -> str:
    """What a statement line is, in the page's language."""
    subject = entry.get("subject") or ""
    if subject.startswith("redemption:"):
        return _("Redeemed")
    if subject.startswith("points_lot:"):
        return _("Expired")
    if (entry.get("reason") or "").startswith("Adjustment:"):
        return _("Adjusted")
    if entry["change"] > 0:
        return _("Earned")
    return _("Adjusted")


def _may(endpoint: str) -> bool:
    return g.actor.role in (audience_of(endpoint) or ())


def _page(customer_id: int, visit: VisitForm | None = None, redeem: RedeemForm | None = None, status: int = 200):
    """The statement, with the desk's forms when the viewer may use them."""
    summary = service.summary(current_actor(), customer_id)
    customer = summary["customer"]
    redeem = redeem or RedeemForm()
    offered = catalog.offered_to(customer.store_id)
    redeem.item.choices = [(item.id, item.name_zh) for item in catalog.in_stock(offered)]  # not the sold-out
    desk = {"visit": _may("points_web.record_visit"), "redeem": _may("points_web.redeem")}
    return render_template("points/statement.html", entry_kind=entry_kind, desk=desk, visit_form=visit or VisitForm(),
                           redeem_form=redeem, offered=offered, fen_per_point=customer.store.policy.fen_per_point,
                           **summary), status


def _refused(customer_id: int, form, error: DomainError, **forms):
    """The page again with the service's refusal at the form's fields; nothing of it written."""
    db.session.rollback()
    g.rollback = True
    flash(_(error.message), "error")
    for message in attach_field_errors(form, error.fields):
        flash(_(message), "error")
    return _page(customer_id, status=error.status, **forms)


@bp.route("/customers/<int:customer_id>/points")
@allow("service", "manager", "admin")
def statement(customer_id):
    return _page(customer_id)


@bp.route("/customers/<int:customer_id>/points/visits", methods=["POST"])
@allow(*DESK)
def record_visit(customer_id):
    form = VisitForm()
    if not form.validate_on_submit():
        return _page(customer_id, visit=form, status=422)
    try:
        earned = service.earn_at_desk(current_actor(), customer_id, amount=form.amount.data, key=form.key.data)
    except DomainError as error:
        return _refused(customer_id, form, error, visit=form)
    flash(_visit_done(form.amount.data, earned["points"]), "success")
    return redirect(url_for("points_web.statement", customer_id=customer_id))


def _visit_done(amount: int, points: int) -> str:
    if points == 0:
        return _("Service visit of ¥%(amount)s recorded: it earns no points (less than one point).",
                 amount=fen_to_yuan_grouped(amount))
    return _("Service visit of ¥%(amount)s recorded: %(points)s points earned.", amount=fen_to_yuan_grouped(amount),
             points=grouped(points))


@bp.route("/customers/<int:customer_id>/points/redemptions", methods=["POST"])
@allow(*DESK)
def redeem(customer_id):
    form = RedeemForm()
    if not form.validate_on_submit():
        return _page(customer_id, redeem=form, status=422)
    try:
        done = service.redeem(current_actor(), customer_id, item=form.item.data, quantity=form.quantity.data,
                              key=form.key.data)
    except DomainError as error:
        return _refused(customer_id, form, error, redeem=form)
    flash(_("Redeemed %(quantity)s × %(item)s for %(points)s points.", quantity=done.quantity, item=done.item,
            points=grouped(done.points)), "success")
    return redirect(url_for("points_web.statement", customer_id=customer_id))
