"""A verified cash reward becomes a payout for finance (LED-6); the payout's fate shows on the referral.

The one module of verification that talks to loyalty.payouts. It hands over plain data:
the subject ("referral:42"), its display label and reference (the SPEC's `referral_id`),
the payee and their name, the staff who may not approve (registrant, delivery checker),
and the evidence: a snapshot (`evidence`, shown as is by the API) and the same facts as
labelled rows for the finance page (`evidence_rows`, see `evidence_rows`): per-field
check results, the verdict, who registered, acknowledged, checked, called and reviewed,
and when. Never the callback's questions, facts or answers (the answer key stays with
the callback). Payouts call back through hooks the composition root registers
(`hook_into_payouts`): a rejection is noted on the referral; `flask payouts backfill`.
"""
from __future__ import annotations

from sqlalchemy import func, select

from loyalty import clock
from loyalty.directory.identity import mask_phone
from loyalty.directory.models import Staff
from loyalty.extensions import db
from loyalty.payouts import service as payouts
from loyalty.payouts.models import Payout
from loyalty.web.labels import CHECK_LABELS, FIELD_LABELS
from verification.callbacks.labels import GRADES, N_
from verification.callbacks.models import ANSWERED, AnswerReview, Callback, CallbackAttempt
from verification.referrals import service as referrals
from verification.referrals.models import LIVE, UNWOUND, VERIFIED, Referral
from verification.rings import service as rings


def _iso(instant) -> str | None:
    return instant.isoformat() if instant is not None else None


def evidence_of(referral: Referral, verdict: str, decided_at=None) -> dict:
    # the referral's calls with the attempts of each, in one statement
    made = select(func.count(CallbackAttempt.id)).where(CallbackAttempt.callback_id == Callback.id).scalar_subquery()
    rows = db.session.execute(select(Callback, made).where(Callback.referral_id == referral.id)
                              .order_by(Callback.id)).unique().all()
    callbacks, attempts = [row[0] for row in rows], sum(row[1] for row in rows)
    deciding = next((c for c in reversed(callbacks) if c.status == ANSWERED), None)
    reviews = db.session.execute(select(AnswerReview).where(AnswerReview.referral_id == referral.id,
                                                            AnswerReview.decided_at.is_not(None))
                                 .order_by(AnswerReview.id)).unique().scalars().all()
    # the staff named, read in one statement (not a lazy load per relationship)
    ids = {referral.registered_by_id, referral.acknowledged_by_id, referral.delivery_checked_by_id,
           deciding.answered_by_id if deciding is not None else None, *(r.reviewer_id for r in reviews)} - {None}
    names = dict(db.session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids))).all()) if ids else {}
    callback = None
    if deciding is not None:
        grades = deciding.grades or {}
        callback = {"party": deciding.party, "agent": names.get(deciding.answered_by_id),
                    "answered_at": _iso(deciding.answered_at), "attempts": attempts,
                    # in the order asked; the grade only, never the question or the fact behind it
                    "grades": [grades.get(q["key"]) for q in deciding.questions]}
    return {
        "referral_id": referral.id,
        "store": {"id": referral.store_id, "code": referral.store.code, "name": referral.store.name},
        "referrer": {"id": referral.referrer_id, "name": referral.referrer.name,
                     "phone": mask_phone(referral.referrer.phone)},
        "referee": {"id": referral.referee_id, "name": referral.referee.name,
                    "phone": mask_phone(referral.referee.phone)},
        "claim": {"referrer_name": referral.claim_referrer_name, "referrer_model": referral.claim_referrer_model,
                  "referrer_colour": referral.claim_referrer_colour},
        "registered_by": names.get(referral.registered_by_id), "registered_at": _iso(referral.registered_at),
        "acknowledged_by": names.get(referral.acknowledged_by_id), "acknowledged_at": _iso(referral.acknowledged_at),
        "delivery_checked_by": names.get(referral.delivery_checked_by_id), "delivered_at": _iso(referral.delivered_at),
        "delivery_checked_at": _iso(referral.delivery_checked_at),
        "checks": referral.delivery_checks or {},
        "verdict": verdict, "decided_at": _iso(decided_at or referral.closed_at or clock.now()),
        "callback": callback,
        "reviews": [{"reviewer": names.get(r.reviewer_id), "decision": r.decision,
                     "at": _iso(r.decided_at)} for r in reviews],
    }


# ---- the evidence as labelled rows: message ids and values, translated where shown ----

def _text(value) -> dict:
    return {"text": "" if value is None else str(value)}


def _at(iso: str | None) -> dict:
    return {"at": iso or ""}


def _tag(message: str, ok: bool, prefix: str = "") -> dict:
    return {"tag": message, "ok": ok, "prefix": prefix}


def _callback_parts(cb: dict) -> list[dict]:
    party = N_("Called the new customer") if cb.get("party") == "referee" else N_("Called the old customer")
    return [{"msg": party}, {"msg": N_("Agent"), "then": cb.get("agent") or ""},
            {"msg": N_("Call attempts: %(n)s"), "args": {"n": cb.get("attempts", 0)}},
            *[_tag(GRADES.get(g, g or ""), g == "correct", f"{i}: ") for i, g in enumerate(cb.get("grades", []), 1)]]


def evidence_rows(ev: dict) -> list[dict]:
    """The finance page's evidence as labelled rows, in the shape loyalty.payouts.models.EVIDENCE_ROWS
    describes; payouts show them without knowing what they are about."""
    claim, verdict = ev.get("claim") or {}, ev.get("verdict")
    facts = [
        {"label": N_("Old customer"), "parts": [_text((ev.get("referrer") or {}).get("name")),
                                                _text((ev.get("referrer") or {}).get("phone"))]},
        {"label": N_("New customer"), "parts": [_text((ev.get("referee") or {}).get("name"))]},
        {"label": N_("Claim"), "parts": [_text(claim.get("referrer_name")), _text(claim.get("referrer_model")),
                                         _text(claim.get("referrer_colour"))]},
        {"label": N_("Registered by"), "parts": [_text(ev.get("registered_by")), _at(ev.get("registered_at"))]},
        {"label": N_("Acknowledged by"), "parts": [_text(ev.get("acknowledged_by")), _at(ev.get("acknowledged_at"))]},
        {"label": N_("Delivery checked by"), "parts": [_text(ev.get("delivery_checked_by")), {"msg": N_("Delivered at")},
                                                       _at(ev.get("delivered_at"))]},
        {"label": N_("Verdict"), "name": "verdict",
         "parts": [{"msg": N_("Verified")} if verdict == "verified" else _text(verdict), _at(ev.get("decided_at"))]},
    ]
    if ev.get("callback"):
        facts.append({"label": N_("Callback"), "parts": _callback_parts(ev["callback"])})
    facts += [{"label": N_("Reviewer"), "parts": [_text(r.get("reviewer")), {"msg": GRADES.get(r.get("decision"), "")}]}
              for r in ev.get("reviews", [])]
    sections = [{"name": "facts", "rows": facts}]
    if ev.get("checks"):
        sections.append({"name": "checks", "head": [N_("Field"), N_("Result")],
                         "rows": [{"label": FIELD_LABELS.get(field, field),
                                   "parts": [_tag(CHECK_LABELS.get(result, result), result == "match")]}
                                  for field, result in ev["checks"].items()]})
    return sections


def request_payout_for(actor, referral: Referral, *, decided_at=None) -> Payout:
    """The posted cash reward of a verified referral, handed to finance (idempotent per referral)."""
    evidence = evidence_of(referral, VERIFIED, decided_at)
    return payouts.request_payout(
        actor, subject=f"referral:{referral.id}", label=N_("Referral"), reference=referral.id,
        store_id=referral.store_id, payee=f"customer:{referral.referrer_id}", payee_name=referral.referrer.name,
        amount=referral.reward_amount, unit="CNY",
        blocked_approvers=[referral.registered_by_id, referral.delivery_checked_by_id],
        evidence=evidence, evidence_rows=evidence_rows(evidence), reason=f"推荐奖励 referral {referral.id}",
        second_approver=rings.needs_second_approver(referral))


def backfill_payouts() -> int:
    """Payouts for verified cash rewards posted before payouts existed (safe to run again)."""
    have = set(db.session.execute(select(Payout.subject).where(Payout.subject.like("referral:%"))).scalars())
    query = select(Referral).where(Referral.status == VERIFIED, Referral.reward_unit == "CNY",
                                   Referral.reward_amount.is_not(None)).order_by(Referral.id)
    done = 0
    for referral in db.session.execute(query).unique().scalars():
        if f"referral:{referral.id}" not in have:
            request_payout_for(None, referral)
            done += 1
    return done


def note_payout_rejected(actor, payout: Payout) -> None:
    """Finance rejected the payout: the referral shows why (its status stays `verified`)."""
    if not payout.subject.startswith("referral:"):
        return
    referral = referrals.lock(int(payout.subject.partition(":")[2]))
    referrals.change_referral(actor, referral, "payout_rejected", reason="payout_rejected",
                      reason_text=payout.rejection_reason)


def claw_back(actor, referral: Referral, *, reason: str) -> str:
    """LED-8: the sale of a verified cash reward was unwound; the payout (requested now if the reward
    was posted before payouts existed) is cancelled, or its paid amount becomes a receivable."""
    payout = payouts.payout_for(f"referral:{referral.id}") or request_payout_for(actor, referral)
    return payouts.claw_back(actor, payout.id, reason=f"referral {referral.id} unwound: {reason}")


def hook_into_payouts() -> None:
    """Called once by the composition root (loyalty/app.py): what payouts calls back."""
    payouts.on("rejected", note_payout_rejected)
    payouts.register_backfill("referrals", backfill_payouts)


# ---- where a referral's reward stands (its page) -------------------------------------------

REWARD_RESERVED = N_("Reserved until the callback decides")
REWARD_RELEASED = N_("Released: not paid")
REWARD_UNWOUND = N_("Voided or clawed back: the sale was returned")
REWARD_POSTED = N_("Posted to the customer's points")


def reward_state(referral: Referral) -> tuple[str, str | None] | None:
    """(what became of the reserved reward, the payout's status when finance has it), for the
    referral's page, so a released or rejected reward is never shown as if it were still owed."""
    if not referral.reward_amount:
        return None
    if referral.status == VERIFIED:
        if referral.reward_unit != "CNY":
            return REWARD_POSTED, None
        payout = payouts.payout_for(f"referral:{referral.id}")
        return (N_("Payout to finance"), payout.status if payout else None)
    if referral.status == UNWOUND:
        return REWARD_UNWOUND, None
    if referral.status in LIVE:
        return REWARD_RESERVED, None
    return REWARD_RELEASED, None
