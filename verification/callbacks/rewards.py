"""A verified cash reward becomes a payout for finance (LED-6); the payout's fate shows on the referral.

Verification calls loyalty here, handing over plain data: the subject, the payee,
the staff who may not approve (registrant, delivery checker) and an evidence
snapshot for the finance page: per-field check results, the verdict, who
registered, acknowledged, checked, called and reviewed, and when. Never the
callback's questions, facts or answers (the answer key stays with the callback).
"""
from __future__ import annotations

from sqlalchemy import func, select

from loyalty import clock
from loyalty.directory.identity import mask_phone
from loyalty.directory.models import Staff
from loyalty.extensions import db
from loyalty.payouts import service as payouts
from loyalty.payouts.models import Payout
from verification.callbacks.models import ANSWERED, AnswerReview, Callback, CallbackAttempt
from verification.referrals import service as referrals
from verification.referrals.models import VERIFIED, Referral


def _name(staff: Staff | None) -> str | None:
    return staff.display_name if staff is not None else None


def _iso(instant) -> str | None:
    return instant.isoformat() if instant is not None else None


def evidence_of(referral: Referral, verdict: str, decided_at=None) -> dict:
    callbacks = list(db.session.execute(select(Callback).where(Callback.referral_id == referral.id)
                                        .order_by(Callback.id)).unique().scalars())
    deciding = next((c for c in reversed(callbacks) if c.status == ANSWERED), None)
    attempts = db.session.execute(select(func.count(CallbackAttempt.id)).join(
        Callback, Callback.id == CallbackAttempt.callback_id).where(Callback.referral_id == referral.id)).scalar_one()
    reviews = db.session.execute(select(AnswerReview).where(AnswerReview.referral_id == referral.id,
                                                            AnswerReview.decided_at.is_not(None))
                                 .order_by(AnswerReview.id)).unique().scalars().all()
    callback = None
    if deciding is not None:
        grades = deciding.grades or {}
        callback = {"party": deciding.party, "agent": _name(db.session.get(Staff, deciding.answered_by_id)),
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
        "registered_by": _name(referral.registered_by), "registered_at": _iso(referral.registered_at),
        "acknowledged_by": _name(referral.acknowledged_by), "acknowledged_at": _iso(referral.acknowledged_at),
        "delivery_checked_by": _name(referral.delivery_checked_by), "delivered_at": _iso(referral.delivered_at),
        "delivery_checked_at": _iso(referral.delivery_checked_at),
        "checks": referral.delivery_checks or {},
        "verdict": verdict, "decided_at": _iso(decided_at or referral.closed_at or clock.now()),
        "callback": callback,
        "reviews": [{"reviewer": _name(db.session.get(Staff, r.reviewer_id)), "decision": r.decision,
                     "at": _iso(r.decided_at)} for r in reviews],
    }


def request_payout_for(actor, referral: Referral, *, decided_at=None) -> Payout:
    """The posted cash reward of a verified referral, handed to finance (idempotent per referral)."""
    return payouts.request_payout(
        actor, subject=f"referral:{referral.id}", store_id=referral.store_id,
        payee=f"customer:{referral.referrer_id}", amount=referral.reward_amount, unit="CNY",
        blocked_approvers=[referral.registered_by_id, referral.delivery_checked_by_id],
        evidence=evidence_of(referral, VERIFIED, decided_at), reason=f"推荐奖励 referral {referral.id}")


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
    referral_id = payout.referral_id
    if referral_id is None:
        return
    referral = referrals.lock(referral_id)
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
