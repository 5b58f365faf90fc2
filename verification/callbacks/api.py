"""/api/v1/callbacks (the agent's queue), /reviews (managers), /questions (the bank, admin)."""
from __future__ import annotations

from flask import Response
from flask_babel import get_locale
from flask_smorest import Blueprint

from loyalty.auth.access import allow, current_actor
from loyalty.schemas import page_body, page_of
from loyalty.web.idempotency import idempotent_if_keyed
from verification.callbacks import bank, confirmations, service
from verification.callbacks import schemas as s

blp = Blueprint("callbacks", __name__, url_prefix="/api/v1", description="Callback verification")


def agent_view(callback) -> dict:
    lang = "zh" if get_locale().language == "zh" else "en"
    script = service.script(callback, lang)  # first: it reads both parties at once
    return {"id": callback.id, "attempt": callback.attempts_made + 1, "lease_until": callback.lease_until,
            "callee": {"name": callback.callee.name, "phone": callback.callee.phone}, "script": script}


@blp.route("/callbacks/claim", methods=["POST"])
@allow("agent")
@blp.response(200, s.AgentCallbackSchema)
@blp.alt_response(204, description="No callback is due")
@blp.doc(summary="Take the next callback",
         description="Leases the next due callback to the calling agent, with the callee, the phone and the question "
                     "script in the caller's language; 204 when none is due.")
def claim():
    callback = service.claim_next(current_actor())
    if callback is None:
        return Response(status=204)
    return agent_view(callback)


@blp.route("/callbacks/<int:callback_id>/answers", methods=["POST"])
@allow("agent")
@blp.arguments(s.AnswersInSchema)
@idempotent_if_keyed
@blp.response(200, s.RecordedSchema)
@blp.doc(summary="Record a callback's answers",
         description="Records what the callee answered to the leased callback; the answers are graded and the referral"
                     " decided when the plan is complete. An Idempotency-Key is optional: with one, a retry replays"
                     " the first answer instead of a 409 (the callback is no longer held).")
def answers(body, callback_id):
    service.record_answers(current_actor(), callback_id, body["answers"])
    return {"status": "recorded"}


@blp.route("/callbacks/<int:callback_id>/unreachable", methods=["POST"])
@allow("agent")
@blp.response(200, s.RecordedSchema)
@blp.doc(summary="Record an unreachable callee",
         description="Records an attempt that reached nobody; the callback is planned again within calling hours until"
                     " its attempts run out.")
def unreachable(callback_id):
    service.mark_unreachable(current_actor(), callback_id)
    return {"status": "recorded"}


def review_view(review) -> dict:
    return {"id": review.id, "referral_id": review.referral_id, "question": service.review_question(review),
            "answer_text": review.answer_text, "answer_confirmed": review.answer_confirmed,
            "decision": review.decision}


@blp.route("/reviews", methods=["GET"])
@allow("manager", "admin")
@blp.response(200, page_of(s.ReviewSchema))
@blp.doc(summary="List answers to review",
         description="Free-text answers waiting for a manager's decision.")
def reviews():
    items = [review_view(r) for r in service.list_reviews(current_actor())]
    return page_body(items, len(items), 1, max(len(items), 1))


@blp.route("/reviews/<int:review_id>", methods=["POST"])
@allow("manager", "admin")
@blp.arguments(s.ReviewDecisionSchema)
@blp.response(200, s.ReviewSchema)
@blp.doc(summary="Decide an answer under review",
         description="A manager marks a free-text answer correct or wrong; the referral's grading goes on.")
def decide(body, review_id):
    return review_view(service.decide_review(current_actor(), review_id, body["decision"]))


@blp.route("/confirmations", methods=["GET"])
@allow("manager", "admin")
@blp.response(200, page_of(s.ConfirmationSchema))
@blp.doc(summary="List verdicts awaiting confirmation",
         description="Passing verdicts on callback plans too weak against the referral's own staff, waiting for a "
                     "manager (CB-11).")
def confirmations_to_settle():
    """Passing verdicts on plans too weak against the referral's own staff, waiting for a manager (CB-11)."""
    items = confirmations.list_open(current_actor())
    return page_body(items, len(items), 1, max(len(items), 1))


@blp.route("/confirmations/<int:confirmation_id>", methods=["POST"])
@allow("manager", "admin")
@blp.arguments(s.ConfirmationInSchema)
@blp.response(200, s.ConfirmationSchema)
@blp.doc(summary="Settle a verdict awaiting confirmation",
         description="Confirms the referral as verified, or releases the reward back as unverifiable, saying what was "
                     "checked (CB-11).")
def settle_confirmation(body, confirmation_id):
    """Confirm the referral as verified, or release the reward back as unverifiable, saying what was checked."""
    return confirmations.decide(current_actor(), confirmation_id, **body)


@blp.route("/referrals/<int:referral_id>/verification", methods=["GET"])
@allow("manager", "admin")
@blp.response(200, s.VerificationRecordSchema)
@blp.alt_response(409, description="The referral is still live: nothing is shown before the verdict (CB-4)")
@blp.doc(summary="How a referral was verified",
         description="The calls, the strength of each plan and the grades of a decided referral; 409 while the "
                     "referral is still live (CB-4).")
def verification_record(referral_id):
    """How a decided referral was verified: the calls, the strength of each plan, the grades."""
    return service.verification_record(current_actor(), referral_id)


@blp.route("/questions", methods=["GET"])
@allow("admin")
@blp.response(200, page_of(s.TemplateSchema))
@blp.doc(summary="List the question bank",
         description="The callback question templates (code, kind, fact, Chinese and English text, active flag). Admin"
                     " only.")
def list_questions():
    items = bank.list_templates(current_actor())
    return page_body(items, len(items), 1, max(len(items), 1))


@blp.route("/questions", methods=["POST"])
@allow("admin")
@blp.arguments(s.TemplateInSchema)
@blp.response(201, s.TemplateSchema)
@blp.doc(summary="Add a question template",
         description="Adds a callback question template (Chinese and English text, the fact it asks about, the answer "
                     "kind). Admin only; audited.")
def create_question(body):
    return bank.create_template(current_actor(), **body)


@blp.route("/questions/<int:template_id>", methods=["PATCH"])
@allow("admin")
@blp.arguments(s.TemplatePatchSchema)
@blp.response(200, s.TemplateSchema)
@blp.doc(summary="Change a question template",
         description="Changes a question template's Chinese or English text or its active flag. Admin only; audited.")
def update_question(body, template_id):
    return bank.update_template(current_actor(), template_id, body)
