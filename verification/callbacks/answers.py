"""The callee's answers: recorded, graded (CB-5), and the verdict applied as soon as it is certain (CB-8)."""
from __future__ import annotations

from sqlalchemy import select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.errors import ValidationFailed
from loyalty.extensions import db
from verification.callbacks import confirmations, grading, planning
from verification.callbacks.models import ANSWERED, AnswerReview, Callback, CallbackAttempt
from verification.callbacks.operations import cancel_open, change_callback
from verification.callbacks.plans import plan_call
from verification.callbacks.queue import held_callback
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK, Referral, for_a_verdict

WRITE_IT_DOWN = "Write down what the customer said: the correction, or \"don't know\" if they gave none."


def record_answers(agent, callback_id: int, answers: list[dict]) -> Callback:
    callback = held_callback(agent, callback_id)
    planned = {q["key"]: planning.PlannedQuestion.from_dict(q) for q in callback.questions}
    given = {a["question_id"]: a for a in answers}
    errors: dict[str, list[str]] = {}
    for key in given:
        if key not in planned:
            errors.setdefault("answers", []).append(f"Unknown question {key}.")
    for key in planned:
        if key not in given:
            errors.setdefault("answers", []).append(f"Question {key} has no answer.")
    if len(given) != len(answers):
        errors.setdefault("answers", []).append("A question is answered twice.")
    for key, a in given.items():
        # "no" to a statement counts only with its correction, and an answer nobody took down is not
        # an answer: the agent writes what was said, "不知道" included (CB-5; nothing graded by omission)
        if key in planned and a.get("confirmed") is not True and not (a.get("text") or "").strip():
            errors.setdefault(f"answers.{key}", []).append(WRITE_IT_DOWN)
    if errors:
        raise ValidationFailed(fields=errors)
    now = clock.now()
    grades = {key: grading.grade(q, confirmed=given[key].get("confirmed"), text=given[key].get("text"))
              for key, q in planned.items()}
    recorded = [{"question_id": k, "confirmed": given[k].get("confirmed"), "text": given[k].get("text")}
                for k in planned]
    change_callback(agent, callback, "answered", status=ANSWERED, answers=recorded, grades=grades,
                    answered_by_id=agent.id, answered_at=now, attempts_made=callback.attempts_made + 1,
                    lease_until=None, extra={"answers": recorded, "grades": grades, "agent_id": agent.id})
    db.session.add(CallbackAttempt(callback_id=callback.id, number=callback.attempts_made,
                                   due_at=callback.due_at, agent_id=agent.id, outcome="answered", at=now))
    for key, result in grades.items():
        if result == "undecided":
            db.session.add(AnswerReview(callback_id=callback.id, referral_id=callback.referral_id,
                                        store_id=callback.store_id, question_key=key,
                                        answer_text=given[key].get("text"),
                                        answer_confirmed=given[key].get("confirmed")))
    db.session.flush()
    decide(agent, callback)
    return callback


def decide(actor, callback: Callback) -> str | None:
    """Apply the verdict as soon as it is certain (CB-8).

    The first call that could not verify only because the callee said "don't know"
    (grading.outcome's 'inconclusive') hands over to the other party, as an unreachable
    one does (CB-9); that call is the last, and there "don't know" counts as wrong.
    """
    verdict = verdict_of(callback, final=callback.sequence >= 2)
    if verdict is None:
        return None
    referral = referrals.lock(callback.referral_id, options=for_a_verdict())  # cars only if re-planned
    if referral.status != AWAITING_CALLBACK:
        return None
    if verdict == grading.INCONCLUSIVE:
        if _call_the_other_party(actor, referral, callback):
            return None
        # nobody else can be asked: this call is the last one, and "don't know" counts as wrong
        verdict = verdict_of(callback, final=True)
    cancel_open(actor, callback.referral_id, why="referral decided", keep=callback.id)
    confirmations.settle_or_hold(actor, referral, callback, verdict)
    return verdict


def verdict_of(callback: Callback, *, final: bool) -> str | None:
    return grading.outcome(list(callback.grades.values()), len(callback.questions), final=final)


INCONCLUSIVE_REASON = "first callee could not say"


def _call_the_other_party(actor, referral: Referral, callback: Callback) -> bool:
    """Plan the other party's call once (a review decided later may reach this again).

    False when the other party cannot be asked (too few facts about the first callee)."""
    taken = db.session.execute(select(Callback.id).where(Callback.referral_id == referral.id,
                                                         Callback.sequence >= 2)).first()
    if taken is not None:
        return True
    other = "referrer" if callback.party == "referee" else "referee"
    try:
        plan_call(actor, referral, other, 2, clock.now(), only=True, reason=INCONCLUSIVE_REASON)
    except planning.NotEnoughFacts:
        audit.record(actor, "callback", callback.id, "inconclusive", None,
                     {"referral_id": referral.id, "next": "none: too few facts to ask the other party"})
        return False
    audit.record(actor, "callback", callback.id, "inconclusive", None,
                 {"referral_id": referral.id, "next": "other_party"})
    return True
