"""Callback verification (电话回访核实): planning, the agent's queue, answers, reviews and outcomes.

The plan (callee, time, questions, truth) is drawn with `secrets` when a referral
enters awaiting_callback, stored whole for replay (CB-7), and shown to nobody who
can influence the outcome (CB-4): the showroom's schemas never include it, the
audit trail records only a digest of it, and agents get the script without the key.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.directory.models import Customer, Vehicle
from loyalty.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from loyalty.extensions import db
from loyalty.scoping import get_scoped, in_stores
from verification.callbacks import confirmations, facts, grading, planning, strength
from verification.callbacks.models import (ANSWERED, CANCELLED, CLAIMED, EXHAUSTED, PLANNED, AnswerReview,
                                           Callback, CallbackAttempt, Confirmation, QuestionTemplate)
from verification.referrals.models import AWAITING_CALLBACK, Referral
from verification.referrals import service as referrals
from verification import outcomes, vocabulary

UNREACHABLE = "unreachable"  # waiting for the retry job to re-plan it
LEASE_MINUTES = 15
# Plausible false values even when the database holds few cars: the group's usual line-up.
FALLBACK_MODELS = tuple(spellings[0] for spellings in vocabulary.MODELS.values() if "\u4e00" <= spellings[0][0])
FALLBACK_COLOURS = tuple(spellings[1] for spellings in vocabulary.COLOURS.values())


# ---- facts and planning ---------------------------------------------------------

def facts_of(customer: Customer) -> planning.PartyFacts:
    return planning.PartyFacts(
        name=customer.name, gender=customer.gender, employer=customer.employer,
        home_district=customer.home_district, business=customer.business, occupation=customer.occupation,
        vehicles=tuple(planning.VehicleFacts(model=v.model, colour=v.colour, transmission=v.transmission,
                                             plate=v.plate) for v in customer.vehicles))


def catalog() -> planning.Catalog:
    """What the group really deals in: the models, colours, employers, districts, businesses and occupations
    on record (plausible false values for traps, and known wrong answers for the grader)."""
    def distinct(column) -> set[str]:
        return {v for v in db.session.execute(select(column).distinct()).scalars() if v}
    return planning.Catalog(
        models=tuple(sorted(distinct(Vehicle.model) | set(FALLBACK_MODELS))),
        colours=tuple(sorted(distinct(Vehicle.colour) | set(FALLBACK_COLOURS))),
        employers=tuple(sorted(distinct(Customer.employer))),
        districts=tuple(sorted(distinct(Customer.home_district))),
        businesses=tuple(sorted(distinct(Customer.business))),
        occupations=tuple(sorted(distinct(Customer.occupation))))


def templates() -> tuple[planning.Template, ...]:
    rows = db.session.execute(select(QuestionTemplate).where(QuestionTemplate.active.is_(True))
                              .order_by(QuestionTemplate.id)).scalars().all()
    if not rows:
        return planning.DEFAULT_TEMPLATES
    return tuple(planning.Template(code=r.code, kind=r.kind, fact=r.fact, text_zh=r.text_zh, text_en=r.text_en)
                 for r in rows)


def _digest(callback: Callback) -> str:
    body = {"party": callback.party, "callee_id": callback.callee_id, "due_at": callback.due_at.isoformat(),
            "questions": callback.questions}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _due(referral: Referral, after) -> tuple:
    policy = referral.store.policy
    due = planning.due_time(after, policy.callback_delay_min_hours, policy.callback_delay_max_hours,
                            referral.store.timezone, policy.calling_hours_start, policy.calling_hours_end)
    return due, {"after": after.isoformat(), "min_hours": policy.callback_delay_min_hours,
                 "max_hours": policy.callback_delay_max_hours, "timezone": referral.store.timezone,
                 "calling_hours": [policy.calling_hours_start, policy.calling_hours_end]}


def _other(party: str) -> str:
    return "referrer" if party == "referee" else "referee"


def _about(referral: Referral, party: str) -> tuple[planning.PartyFacts, frozenset[str], dict]:
    """What the store held of the party asked about when `party` is called, as registered (CB-10), and
    what the referral's own staff know of it."""
    about = _other(party)
    subject = referral.referrer if about == "referrer" else referral.referee
    record = facts.as_of(subject, referral.registered_at, facts.involved_staff(referral))
    return record.facts, facts.insider_known(about, record), record.provenance


def _new_callback(actor, referral: Referral, choice: strength.CallChoice, sequence: int, after, *,
                  provenance: dict, reason: str | None = None) -> Callback:
    callee, subject = ((referral.referee, referral.referrer) if choice.party == "referee"
                       else (referral.referrer, referral.referee))
    due, window = _due(referral, after)
    chance = strength.to_bp(choice.plan.insider_pass)
    weak = not choice.plan.strong
    drawn = {"callee": choice.party, "window": window, "disclosed": sorted(choice.known),
             "strength": {"insider_pass_bp": chance, "limit_bp": referral.store.policy.insider_pass_limit_bp,
                          "known_to_staff": sorted(choice.known), "confirm_required": weak},
             "provenance": provenance}
    if reason:
        drawn["reason"] = reason
    if choice.fallback:
        drawn.update(drawn_callee=_other(choice.party), fallback=choice.fallback)
    callback = Callback(
        referral_id=referral.id, store_id=referral.store_id, sequence=sequence, party=choice.party,
        callee_id=callee.id, subject_id=subject.id, due_at=due, status=PLANNED, drawn=drawn,
        questions=[q.to_dict() for q in choice.plan.questions], insider_pass_bp=chance, confirm_required=weak)
    db.session.add(callback)
    db.session.flush()
    audit.record(actor, "callback", callback.id, "planned", None,
                 {"referral_id": referral.id, "sequence": sequence, "plan_sha256": _digest(callback)})
    return callback


def _plan(actor, referral: Referral, drawn: str, sequence: int, after, *, only: bool = False,
          reason: str | None = None) -> Callback:
    """Choose and store a call; with `only`, `drawn` is the one party that may be called."""
    about = {party: _about(referral, party) for party in ((drawn,) if only else (drawn, _other(drawn)))}
    if only:
        facts_, known, _ = about[drawn]
        plan = strength.draw_strong(facts_, known=known, catalog=catalog(), freq=facts.frequencies(),
                                    limit=_limit(referral), templates=templates())
        choice = strength.CallChoice(drawn, plan, known, None)
    else:
        choice = strength.choose_call(drawn, {p: a[:2] for p, a in about.items()}, catalog=catalog(),
                                      freq=facts.frequencies(), limit=_limit(referral), templates=templates())
    return _new_callback(actor, referral, choice, sequence, after, provenance=about[choice.party][2], reason=reason)


def _limit(referral: Referral) -> float:
    return referral.store.policy.insider_pass_limit_bp / 10000


def _not_enough_facts(referral: Referral) -> RuleViolation:
    return RuleViolation(
        "The store holds too few facts about these customers to ask 3 questions. Add their employer, "
        "home district, business or occupation first.", code="not_enough_facts",
        fields={"referrer_id": [str(referral.referrer_id)], "referee_id": [str(referral.referee_id)]})


def plan_callback(actor, referral: Referral) -> Callback:
    """Draw the callee (CB-1), the time (CB-2) and the questions (CB-3) for a referral.

    The drawn callee is called unless the plan about the other party is too weak against the
    referral's own staff (CB-11) or cannot be formed: then the other party is called instead, when
    that plan is strong enough. When neither is, the stronger plan is used and a passing verdict
    waits for a manager's confirmation (strength.choose_call). Everything is recorded in the plan.
    If neither party can be asked 3 questions the check is refused, naming the customers to complete.
    """
    try:
        return _plan(actor, referral, planning.draw_callee(), 1, referral.delivered_at)
    except planning.NotEnoughFacts:
        raise _not_enough_facts(referral) from None


# ---- the agent's queue ------------------------------------------------------------

def _in_scope(query, actor):
    return in_stores(query, actor, Callback.store_id)


def claim_next(agent) -> Callback | None:
    """Hand the earliest due callback in the agent's scope to this agent only (SKIP LOCKED)."""
    now = clock.now()
    held = db.session.execute(_in_scope(select(Callback).where(
        Callback.status == CLAIMED, Callback.claimed_by_id == agent.id, Callback.lease_until > now), agent)
    ).unique().scalars().first()
    if held is not None:
        return held
    query = _in_scope(select(Callback).where(
        Callback.due_at <= now,
        or_(Callback.status == PLANNED, and_(Callback.status == CLAIMED, Callback.lease_until <= now))), agent)
    callback = db.session.execute(
        query.order_by(Callback.due_at, Callback.id).limit(1).with_for_update(skip_locked=True, of=Callback)
    ).unique().scalars().first()
    if callback is None:
        return None
    callback.status, callback.claimed_by_id = CLAIMED, agent.id
    callback.lease_until = now + timedelta(minutes=current_app.config.get("CALLBACK_LEASE_MINUTES", LEASE_MINUTES))
    db.session.flush()
    audit.record(agent, "callback", callback.id, "claimed", None, {"agent_id": agent.id,
                                                                    "lease_until": callback.lease_until})
    return callback


def held_callback(agent, callback_id: int) -> Callback:
    callback = get_scoped(Callback, callback_id, agent, what="callback", lock=True)
    if callback.status != CLAIMED or callback.claimed_by_id != agent.id:
        raise Conflict("This callback is not held by you.", code="callback_not_held")
    if callback.lease_until <= clock.now():
        raise Conflict("Your hold on this callback expired; claim it again.", code="lease_expired")
    return callback


def script(callback: Callback, lang: str = "zh") -> dict:
    """What the agent reads: the greeting and the questions. No answer key, no trap marks (CB-5)."""
    callee, subject = facts_of(callback.callee), facts_of(callback.subject)
    text = "text_zh" if lang == "zh" else "text_en"
    return {"greeting": planning.greeting(callback.party, callee, subject, lang=lang),
            "questions": [{"id": q["key"], "text": q[text],
                           # how the agent records it; says nothing of trap or truth
                           "input": "text" if q["kind"] == "open" else "yes_no"} for q in callback.questions]}


# ---- answers, grades and the verdict -------------------------------------------------

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
    callback.answers = [{"question_id": k, "confirmed": given[k].get("confirmed"), "text": given[k].get("text")}
                        for k in planned]
    callback.grades, callback.status = grades, ANSWERED
    callback.answered_by_id, callback.answered_at = agent.id, now
    callback.attempts_made += 1
    callback.lease_until = None
    db.session.add(CallbackAttempt(callback_id=callback.id, number=callback.attempts_made,
                                   due_at=callback.due_at, agent_id=agent.id, outcome="answered", at=now))
    for key, result in grades.items():
        if result == "undecided":
            db.session.add(AnswerReview(callback_id=callback.id, referral_id=callback.referral_id,
                                        store_id=callback.store_id, question_key=key,
                                        answer_text=given[key].get("text"),
                                        answer_confirmed=given[key].get("confirmed")))
    db.session.flush()
    audit.record(agent, "callback", callback.id, "answered", None,
                 {"answers": callback.answers, "grades": grades, "agent_id": agent.id})
    _decide(agent, callback)
    return callback


def _decide(actor, callback: Callback) -> str | None:
    """Apply the verdict as soon as it is certain (CB-8).

    The first call that could not verify only because the callee said "don't know"
    (grading.outcome's 'inconclusive') hands over to the other party, as an unreachable
    one does (CB-9); that call is the last, and there "don't know" counts as wrong.
    """
    verdict = _verdict(callback, final=callback.sequence >= 2)
    if verdict is None:
        return None
    referral = referrals.lock(callback.referral_id)
    if referral.status != AWAITING_CALLBACK:
        return None
    if verdict == grading.INCONCLUSIVE:
        if _call_the_other_party(actor, referral, callback):
            return None
        # nobody else can be asked: this call is the last one, and "don't know" counts as wrong
        verdict = _verdict(callback, final=True)
    _cancel_others(callback)
    confirmations.settle_or_hold(actor, referral, callback, verdict)
    return verdict


def _verdict(callback: Callback, *, final: bool) -> str | None:
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
        _plan(actor, referral, other, 2, clock.now(), only=True, reason=INCONCLUSIVE_REASON)
    except planning.NotEnoughFacts:
        audit.record(actor, "callback", callback.id, "inconclusive", None,
                     {"referral_id": referral.id, "next": "none: too few facts to ask the other party"})
        return False
    audit.record(actor, "callback", callback.id, "inconclusive", None,
                 {"referral_id": referral.id, "next": "other_party"})
    return True


def _cancel_others(callback: Callback) -> None:
    db.session.execute(update(Callback).where(
        Callback.referral_id == callback.referral_id, Callback.id != callback.id,
        Callback.status.in_((PLANNED, CLAIMED, UNREACHABLE))).values(status=CANCELLED)
        .execution_options(synchronize_session=False))


# ---- unreachable and retries (CB-9) ------------------------------------------------

def mark_unreachable(agent, callback_id: int) -> Callback:
    callback = held_callback(agent, callback_id)
    callback.attempts_made += 1
    db.session.add(CallbackAttempt(callback_id=callback.id, number=callback.attempts_made,
                                   due_at=callback.due_at, agent_id=agent.id, outcome="unreachable"))
    callback.status, callback.claimed_by_id, callback.lease_until = UNREACHABLE, None, None
    db.session.flush()
    audit.record(agent, "callback", callback.id, "unreachable", None, {"attempt": callback.attempts_made})
    return callback


def retry_unreachable(limit: int = 100) -> int:
    """Job: re-plan each unreachable callback exactly once, even with several schedulers.

    A new random time within the policy until `callback_attempts` are used, then the
    other party with questions about the first, then `unverifiable`.
    """
    ids = db.session.execute(select(Callback.id).where(Callback.status == UNREACHABLE)
                             .order_by(Callback.id).limit(limit)).scalars().all()
    done = 0
    for callback_id in ids:
        claimed = db.session.execute(update(Callback).where(Callback.id == callback_id,
                                                            Callback.status == UNREACHABLE)
                                     .values(status="retrying").execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        callback = db.session.get(Callback, callback_id)
        db.session.refresh(callback)
        _replan(callback)
        done += 1
    return done


def _replan(callback: Callback) -> None:
    referral = referrals.lock(callback.referral_id)
    if referral.status != AWAITING_CALLBACK:
        callback.status = CANCELLED
        return
    now = clock.now()
    if callback.attempts_made < referral.store.policy.callback_attempts:
        callback.due_at, window = _due(referral, now)
        callback.status = PLANNED
        db.session.flush()
        audit.record(None, "callback", callback.id, "rescheduled", None,
                     {"attempt": callback.attempts_made + 1, "plan_sha256": _digest(callback)})
        return
    callback.status = EXHAUSTED
    db.session.flush()
    if callback.sequence == 1:
        other = "referrer" if callback.party == "referee" else "referee"
        try:
            _plan(None, referral, other, 2, now, only=True)
            return
        except planning.NotEnoughFacts:
            pass  # the other party cannot be asked about this one: nobody left to call
    first = _inconclusive_first_call(callback)
    if first is not None:
        # the first callee failed with his "don't know"s and the other party never answered:
        # the first call stands as the last one, "don't know" counted as wrong (no escape by not
        # picking up); an inconclusive call is two wrong or more once its unknowns count
        outcomes.settle(None, referral, _verdict(first, final=True))
        return
    outcomes.settle(None, referral, "unverifiable")


def _inconclusive_first_call(callback: Callback) -> Callback | None:
    if callback.sequence < 2 or (callback.drawn or {}).get("reason") != INCONCLUSIVE_REASON:
        return None
    return db.session.execute(select(Callback).where(
        Callback.referral_id == callback.referral_id, Callback.sequence == 1, Callback.status == ANSWERED)
    ).unique().scalars().first()


def release_expired_leases() -> int:
    """Job: a callback whose agent walked away goes back to the queue."""
    now = clock.now()
    result = db.session.execute(update(Callback).where(Callback.status == CLAIMED, Callback.lease_until <= now)
                                .values(status=PLANNED, claimed_by_id=None, lease_until=None)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0


# ---- manager reviews of undecided answers -------------------------------------------

def _may_review(actor, referral: Referral) -> bool:
    """Nobody who touched the referral decides its answers (registrant, acknowledging, reviewing and
    checking managers, whoever previewed or reopened the check): CB-10's insiders."""
    return actor.id not in facts.involved_staff(referral)


def list_reviews(actor, *, include_decided: bool = False) -> list[AnswerReview]:
    later = aliased(Callback)
    query = select(AnswerReview).join(Referral, Referral.id == AnswerReview.referral_id).join(
        Callback, Callback.id == AnswerReview.callback_id).where(
        Referral.status == AWAITING_CALLBACK,  # a decided referral's leftover reviews cannot matter
        # nor can those of a first call that handed over to the other party (its verdict is certain)
        ~exists().where(later.referral_id == Callback.referral_id, later.sequence > Callback.sequence),
        Referral.registered_by_id != actor.id,
        or_(Referral.delivery_checked_by_id.is_(None), Referral.delivery_checked_by_id != actor.id))
    if not include_decided:
        query = query.where(AnswerReview.decided_at.is_(None))
    query = in_stores(query, actor, AnswerReview.store_id)
    found = db.session.execute(query.order_by(AnswerReview.id)).unique().scalars().all()
    return [r for r in found if _may_review(actor, db.session.get(Referral, r.referral_id))]


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
    callback.grades = {**callback.grades, review.question_key: decision}
    db.session.flush()
    audit.record(actor, "answer_review", review.id, "decided", None,
                 {"callback_id": callback.id, "question": review.question_key, "decision": decision})
    _decide(actor, callback)
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
