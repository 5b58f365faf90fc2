"""Callback pages: the agent's call screen, the managers' answer reviews, the admin's question bank."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.web import labels
from loyalty.web.forms import EmptyForm
from verification.callbacks import bank, confirmations, service
from verification.callbacks.forms import ConfirmationForm
from verification.callbacks.labels import grade_label
from verification.callbacks.models import Callback
from verification.callbacks.schemas import ConfirmationSchema

bp = Blueprint("callbacks_web", __name__, template_folder="templates")


def _lang() -> str:
    return "zh" if get_locale().language == "zh" else "en"


@bp.route("/calls")
@allow("agent")
def calls():
    """The agent's desk: the call they hold, or a button to take the next one."""
    held = db.session.execute(db.select(Callback).where(
        Callback.claimed_by_id == g.actor.id, Callback.status == "claimed")).unique().scalars().first()
    return render_template("callbacks/desk.html", held=held, form=EmptyForm())


@bp.route("/calls/next", methods=["POST"])
@allow("agent")
def take_next():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("callbacks_web.calls"))
    callback = service.claim_next(g.actor)
    if callback is None:
        flash(_("No callback is due right now."), "info")
        return redirect(url_for("callbacks_web.calls"))
    return redirect(url_for("callbacks_web.call", callback_id=callback.id))


@bp.route("/calls/<int:callback_id>", methods=["GET", "POST"])
@allow("agent")
def call(callback_id: int):
    form = EmptyForm()
    try:
        callback = service.held_callback(g.actor, callback_id)
    except DomainError as error:
        flash(_(error.message), "error")
        return redirect(url_for("callbacks_web.calls"))
    script = service.script(callback, _lang())
    if request.method == "POST" and form.validate_on_submit():
        answers = []
        for q in script["questions"]:
            said = request.form.get(f"{q['id']}_confirmed")
            answers.append({"question_id": q["id"],
                            "confirmed": {"yes": True, "no": False}.get(said),
                            "text": (request.form.get(f"{q['id']}_text") or "").strip() or None})
        try:
            service.record_answers(g.actor, callback_id, answers)
        except DomainError as error:
            g.rollback = True
            flash(_(error.message), "error")
            # the page comes back with what the agent entered and the message beside its question
            return render_template("callbacks/call.html", callback=callback, script=script, form=form,
                                   errors=error.fields), error.status
        flash(_("Answers recorded. Thank you."), "success")
        return redirect(url_for("callbacks_web.calls"))
    return render_template("callbacks/call.html", callback=callback, script=script, form=form)


@bp.route("/calls/<int:callback_id>/unreachable", methods=["POST"])
@allow("agent")
def unreachable(callback_id: int):
    if EmptyForm().validate_on_submit():
        try:
            service.mark_unreachable(g.actor, callback_id)
            flash(_("Marked unreachable; it will be retried later."), "info")
        except DomainError as error:
            g.rollback = True
            flash(_(error.message), "error")
    return redirect(url_for("callbacks_web.calls"))


@bp.route("/reviews")
@allow("manager", "admin")
def reviews():
    items = [(r, service.review_question(r)) for r in service.list_reviews(g.actor)]
    held = ConfirmationSchema(many=True).dump(confirmations.list_open(g.actor))
    return render_template("callbacks/reviews.html", reviews=items, form=EmptyForm(), held=held,
                           confirm_form=ConfirmationForm(), grade_label=grade_label)


@bp.route("/confirmations/<int:confirmation_id>", methods=["POST"])
@allow("manager", "admin")
def settle_confirmation(confirmation_id: int):
    form = ConfirmationForm()
    if not form.validate_on_submit():
        flash(_("Choose a decision and say what you checked."), "error")
        return redirect(url_for("callbacks_web.reviews"))
    try:
        confirmations.decide(g.actor, confirmation_id, decision=form.decision.data, reason=form.reason.data)
        flash(_("Verdict settled."), "success")
    except DomainError as error:
        g.rollback = True
        flash(_(error.message), "error")
    return redirect(url_for("callbacks_web.reviews"))


@bp.route("/reviews/<int:review_id>", methods=["POST"])
@allow("manager", "admin")
def decide(review_id: int):
    decision = request.form.get("decision")
    if EmptyForm().validate_on_submit() and decision in ("correct", "wrong"):
        try:
            service.decide_review(g.actor, review_id, decision)
            flash(_("Review recorded."), "success")
        except DomainError as error:
            g.rollback = True
            flash(_(error.message), "error")
    return redirect(url_for("callbacks_web.reviews"))


@bp.route("/referrals/<int:referral_id>/verification")
@allow("manager", "admin")
def verification(referral_id: int):
    record = service.verification_record(g.actor, referral_id)
    return render_template("callbacks/verification.html", record=record, grade_label=grade_label)


@bp.route("/admin/questions", methods=["GET", "POST"])
@allow("admin")
def questions():
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        data = {k: (request.form.get(k) or "").strip() for k in ("code", "kind", "fact", "text_zh", "text_en")}
        try:
            bank.create_template(g.actor, **data)
            flash(_("Question added."), "success")
            return redirect(url_for("callbacks_web.questions"))
        except DomainError as error:
            g.rollback = True
            flash(_(error.message), "error")
            for field, messages in error.fields.items():
                for message in messages:
                    flash(f"{field}: {_(message)}", "error")
    return render_template("callbacks/questions.html", templates=bank.list_templates(g.actor), form=form,
                           facts=labels.FACT_LABELS, kinds=labels.QUESTION_KIND_LABELS)


@bp.route("/admin/questions/<int:template_id>/toggle", methods=["POST"])
@allow("admin")
def toggle_question(template_id: int):
    if EmptyForm().validate_on_submit():
        template = next(t for t in bank.list_templates(g.actor) if t.id == template_id)
        bank.update_template(g.actor, template_id, {"active": not template.active})
    return redirect(url_for("callbacks_web.questions"))
