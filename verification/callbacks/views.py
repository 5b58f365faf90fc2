"""Callback pages: the agent's call screen, the managers' answer reviews, the admin's question bank."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from loyalty.auth.access import allow
from loyalty.errors import DomainError
from loyalty.web import labels
from loyalty.web.forms import EmptyForm
from loyalty.web.once import act_once, first_time, remember
from loyalty.web.pages import attach_field_errors, expired, flash_error
from verification.callbacks import bank, confirmations, desk, service, worklist
from verification.callbacks.forms import AnswersForm, ConfirmationForm, QuestionForm, ReviewDecisionForm
from verification.callbacks.labels import grade_label
from verification.callbacks.models import Callback
from verification.callbacks.schemas import ConfirmationSchema

bp = Blueprint("callbacks_web", __name__, template_folder="templates")


def _lang() -> str:
    return "zh" if get_locale().language == "zh" else "en"


@bp.route("/calls")
@allow("agent")
def calls():
    """The agent's desk: the call they hold, or the queue (how many are due, when the next falls due)
    and a button to take the next one."""
    return render_template("callbacks/desk.html", held=desk.held_by(g.actor), form=EmptyForm(),
                           queue=worklist.call_queue(g.actor), zone=g.actor.store.timezone if g.actor.store else None)


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


def _held(callback_id: int) -> Callback | None:
    """The callback the agent holds, or None after saying why not."""
    try:
        return service.held_callback(g.actor, callback_id)
    except DomainError as error:
        flash(_(error.message), "error")
        return None


@bp.route("/calls/<int:callback_id>", methods=["GET", "POST"])
@allow("agent")
def call(callback_id: int):
    form = AnswersForm()
    if form.validate_on_submit():
        return _record_answers(callback_id, form)
    callback = _held(callback_id)
    if callback is None:
        return redirect(url_for("callbacks_web.calls"))
    return render_template("callbacks/call.html", **_call_page(callback, form))


def _call_page(callback: Callback, form: AnswersForm) -> dict:
    return {"callback": callback, "script": service.script(callback, _lang()), "form": form}


def _record_answers(callback_id: int, form: AnswersForm):
    """Answers are recorded once per form: a second POST of it (a double click) says again what the
    first said, before it would find the call no longer held (issue 15 item 6)."""
    back = url_for("callbacks_web.calls")
    once = first_time(back)
    if once.replay is not None:
        return once.replay
    callback = _held(callback_id)
    if callback is None:
        g.rollback = True  # the form's token too: nothing of this POST is kept
        return redirect(back)
    page = _call_page(callback, form)
    try:
        service.record_answers(g.actor, callback_id, form.answers(page["script"]["questions"]))
    except DomainError as error:  # the page comes back with what was entered, each message by its question
        g.rollback = True
        flash(_(error.message), "error")
        return render_template("callbacks/call.html", errors=error.fields, **page), error.status
    done = ("success", _("Answers recorded. Thank you."))
    flash(done[1], done[0])
    remember(once, back, [done])
    return redirect(back)


@bp.route("/calls/<int:callback_id>/unreachable", methods=["POST"])
@allow("agent")
def unreachable(callback_id: int):
    back = url_for("callbacks_web.calls")
    if not EmptyForm().validate_on_submit():
        return redirect(back)
    return act_once(lambda: service.mark_unreachable(g.actor, callback_id),
                    lambda _done: (_("Marked unreachable; it will be retried later."), "info"), back)


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
    form, back = ConfirmationForm(), url_for("callbacks_web.reviews")
    if not form.validate_on_submit():
        return expired(back, _("Choose a decision and say what you checked."))
    return act_once(lambda: confirmations.decide(g.actor, confirmation_id, decision=form.decision.data,
                                                 reason=form.reason.data), _("Verdict settled."), back)


@bp.route("/reviews/<int:review_id>", methods=["POST"])
@allow("manager", "admin")
def decide(review_id: int):
    form, back = ReviewDecisionForm(), url_for("callbacks_web.reviews")
    if not form.validate_on_submit():
        return redirect(back)
    return act_once(lambda: service.decide_review(g.actor, review_id, form.decision.data), _("Review recorded."), back)


@bp.route("/referrals/<int:referral_id>/verification")
@allow("manager", "admin")
def verification(referral_id: int):
    record = service.verification_record(g.actor, referral_id)
    return render_template("callbacks/verification.html", record=record, grade_label=grade_label)


@bp.route("/admin/questions", methods=["GET", "POST"])
@allow("admin")
def questions():
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            bank.create_template(g.actor, **form.template())
            flash(_("Question added."), "success")
            return redirect(url_for("callbacks_web.questions"))
        except DomainError as error:  # the form comes back as typed, each message at its field (issue 15)
            g.rollback = True
            flash_error(error, labels=labels.QUESTION_FIELDS)
            attach_field_errors(form, error.fields)
    return render_template("callbacks/questions.html", templates=bank.list_templates(g.actor), form=form,
                           facts=labels.FACT_LABELS, kinds=labels.QUESTION_KIND_LABELS), 422 if form.errors else 200


@bp.route("/admin/questions/<int:template_id>/toggle", methods=["POST"])
@allow("admin")
def toggle_question(template_id: int):
    if EmptyForm().validate_on_submit():
        bank.toggle_template(g.actor, template_id)
    return redirect(url_for("callbacks_web.questions"))
