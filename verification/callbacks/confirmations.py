"""A passing verdict on a weak plan waits for a manager (CB-11).

When the only plan the store's records allowed could be passed too easily by a callee coached by
the referral's own staff, a "verified" verdict does not release the reward. A manager who did not
touch the referral confirms it (after whatever he sees fit to check: the licence, a visit, a call
of his own) or releases the reward back as unverifiable. A referral is never silently verified on
facts its own staff supplied. Fraudulent verdicts need no confirmation: they apply at once.
"""
from __future__ import annotations

from sqlalchemy import exists, false, select, true

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.errors import Conflict, Forbidden, field_error
from loyalty.extensions import db
from loyalty.scoping import get_scoped, in_stores
from verification.callbacks import outcomes
from verification.callbacks.facts import involved_staff, untouched_by
from verification.callbacks.models import AnswerReview, Callback, Confirmation
from verification.referrals.models import AWAITING_CALLBACK, UNVERIFIABLE, VERIFIED, Referral

DECISIONS = (VERIFIED, UNVERIFIABLE)
CONFIRMERS = ("manager", "admin")


def settle_or_hold(actor, referral: Referral, callback: Callback, verdict: str) -> Confirmation | None:
    """Apply the verdict, unless it verifies on a weak plan: then hold it for a manager."""
    if verdict != VERIFIED or not callback.confirm_required:
        outcomes.settle(actor, referral, verdict)
        return None
    existing = db.session.execute(select(Confirmation).where(Confirmation.referral_id == referral.id)
                                  ).unique().scalar_one_or_none()
    if existing is not None:
        return existing
    held = Confirmation(referral_id=referral.id, callback_id=callback.id, store_id=referral.store_id,
                        insider_pass_bp=callback.insider_pass_bp or 10000)
    db.session.add(held)
    db.session.flush()
    audit.record(actor, "verification_confirmation", held.id, "held", None,
                 {"referral_id": referral.id, "callback_id": callback.id,
                  "insider_pass_bp": held.insider_pass_bp})
    return held


def _may_confirm(actor, referral: Referral) -> bool:
    """Nobody who touched the referral, nor a manager who decided one of its answers."""
    reviewers = set(db.session.execute(select(AnswerReview.reviewer_id).where(
        AnswerReview.referral_id == referral.id, AnswerReview.reviewer_id.is_not(None))).scalars())
    return actor.role in CONFIRMERS and actor.id not in involved_staff(referral) | reviewers


def open_confirmations(actor, *columns):
    """SELECT `columns` (default: the confirmations) over the held verdicts this manager may settle:
    his stores', on referrals he did not touch and none of whose answers he decided. One query, used
    by the list and by the home page's count (none for a role that may not confirm)."""
    reviewed = exists().where(AnswerReview.referral_id == Referral.id, AnswerReview.reviewer_id == actor.id)
    return in_stores(select(*(columns or (Confirmation,))), actor, Confirmation.store_id).join(
        Referral, Referral.id == Confirmation.referral_id).where(
        Confirmation.decided_at.is_(None), Referral.status == AWAITING_CALLBACK,
        ~reviewed, untouched_by(actor.id), true() if actor.role in CONFIRMERS else false())


def list_open(actor) -> list[Confirmation]:
    return list(db.session.execute(open_confirmations(actor).order_by(Confirmation.id)).unique().scalars())


def decide(actor, confirmation_id: int, *, decision: str, reason: str | None) -> Confirmation:
    held = get_scoped(Confirmation, confirmation_id, actor, what="confirmation", lock=True)
    if not _may_confirm(actor, held.referral):
        raise Forbidden("You touched this referral; another manager must confirm it.", code="confirmer_involved")
    if held.decided_at is not None:
        raise Conflict("This verdict has been settled already.", code="confirmation_already_decided")
    if decision not in DECISIONS:
        raise field_error("decision", "Must be verified or unverifiable.")
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Say what you checked.")
    from verification.referrals import service as referrals
    referral = referrals.lock(held.referral_id)
    if referral.status != AWAITING_CALLBACK:
        raise Conflict("The referral has been decided already.", code="invalid_transition")
    held.decision, held.reason, held.decided_by_id, held.decided_at = decision, reason, actor.id, clock.now()
    db.session.flush()
    audit.record(actor, "verification_confirmation", held.id, "decided", None,
                 {"referral_id": referral.id, "decision": decision, "reason": reason})
    outcomes.settle(actor, referral, decision)
    return held
