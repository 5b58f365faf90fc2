"""Manager reviews of answers the grader could not decide (CB-5, CB-10), and how a decided referral
was verified (CB-7, CB-11)."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.errors import Conflict, Forbidden
from loyalty.extensions import db
from loyalty.scoping import get_scoped, in_stores
from verification.callbacks import facts
from verification.callbacks.answers import decide
from verification.callbacks.models import AnswerReview, Callback, Confirmation
from verification.callbacks.operations import change_callback
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK, Referral


def _may_review(actor, referral: Referral) -> bool:
    """Nobody who touched the referral decides its answers (registrant, acknowledging, reviewing and
    checking managers, whoever previewed or reopened the check): CB-10's insiders."""
    return actor.id not in facts.involved_staff(referral)


def open_reviews(actor, *columns):
    """SELECT `columns` (default: the reviews) over the open answer reviews this manager may decide:
    his stores', on referrals still waiting for their verdict and that he did not touch. One query,
    used by the list and by the home page's count."""
    later = aliased(Callback)
    return in_stores(select(*(columns or (AnswerReview,))), actor, AnswerReview.store_id).join(
        Referral, Referral.id == AnswerReview.referral_id).join(Callback, Callback.id == AnswerReview.callback_id).where(
        AnswerReview.decided_at.is_(None),
        Referral.status == AWAITING_CALLBACK,  # a decided referral's leftover reviews cannot matter
        # nor can those of a first call that handed over to the other party (its verdict is certain)
        ~exists().where(later.referral_id == Callback.referral_id, later.sequence > Callback.sequence),
        facts.untouched_by(actor.id))


def list_reviews(actor) -> list[AnswerReview]:
    return list(db.session.execute(open_reviews(actor).order_by(AnswerReview.id)).unique().scalars())


def review_question(review: AnswerReview) -> dict:
    """What the reviewing manager sees: the question, the answer and the fact it is about."""
    question = next(q for q in review.callback.questions if q["key"] == review.question_key)
    return {"text": question["text_zh"], "kind": question["kind"], "true_value": question["true_value"],
            "asked_value": question.get("asked_value")}


def decide_review(actor, review_id: int, decision: str) -> AnswerReview:
    review = get_scoped(AnswerReview, review_id, actor, what="review", lock=True)
    referral = db.session.get(Referral, review.referral_id)
    if not _may_review(actor, referral):
        raise Forbidden("You registered or checked this referral; another manager must review it.",
                        code="reviewer_involved")
    if review.decided_at is not None:
        raise Conflict("This answer has been reviewed already.", code="review_already_decided")
    review.decision, review.reviewer_id, review.decided_at = decision, actor.id, clock.now()
    callback = db.session.execute(select(Callback).where(Callback.id == review.callback_id)
                                  .with_for_update(of=Callback)).unique().scalar_one()
    change_callback(actor, callback, "answer_reviewed", grades={**callback.grades, review.question_key: decision},
                    extra={"review_id": review.id, "question": review.question_key, "decision": decision})
    audit.record(actor, "answer_review", review.id, "decided", None,
                 {"callback_id": callback.id, "question": review.question_key, "decision": decision})
    decide(actor, callback)
    return review


# ---- how a decided referral was verified (managers, CB-7, CB-11) ---------------------------

def verification_record(actor, referral_id: int) -> dict:
    """Whom the service called, how strong each plan was against the referral's own staff, the
    grades and any manager's confirmation: no question, fact or answer (those stay with the callback)."""
    referral = referrals.get_referral(actor, referral_id)
    if not referrals.shows_verification(actor, referral):
        raise Conflict("Shown once the referral is decided.", code="referral_still_live")
    calls = db.session.execute(select(Callback).where(Callback.referral_id == referral.id)
                               .order_by(Callback.sequence, Callback.id)).unique().scalars().all()
    held = db.session.execute(select(Confirmation).where(
        Confirmation.referral_id == referral.id)).unique().scalar_one_or_none()
    return {"referral_id": referral.id, "status": referral.status,
            "calls": [_call_record(c) for c in calls],
            "confirmation": None if held is None else {
                "decision": held.decision, "reason": held.reason, "decided_by_id": held.decided_by_id,
                "decided_at": held.decided_at, "insider_pass_bp": held.insider_pass_bp}}


def _call_record(callback: Callback) -> dict:
    drawn = callback.drawn or {}
    strength_ = drawn.get("strength", {})
    grades = dict(Counter((callback.grades or {}).values()))
    return {"sequence": callback.sequence, "party": callback.party, "status": callback.status,
            "attempts": callback.attempts_made, "questions": len(callback.questions),
            "insider_pass_bp": callback.insider_pass_bp, "limit_bp": strength_.get("limit_bp"),
            "confirm_required": callback.confirm_required, "known_to_staff": strength_.get("known_to_staff", []),
            "drawn_callee": drawn.get("drawn_callee", callback.party if callback.sequence == 1 else None),
            "fallback": drawn.get("fallback"), "grades": grades}
