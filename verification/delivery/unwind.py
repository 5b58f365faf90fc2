"""Unwinding a sale (退车) within the clawback window claws the reward back (LED-8).

- still pending (awaiting the callback): the reservation is voided and the callback cancelled;
- posted, not yet paid: the payout is cancelled and the reward reversed by a new transfer;
- already paid: the amount becomes a receivable on the referrer, which their next
  payouts are net of.
Points rewards can be unwound while pending; granted points are not taken back here.
"""
from __future__ import annotations

from datetime import timedelta

from marshmallow import fields, validate

from loyalty import clock
from loyalty.errors import Forbidden, RuleViolation, field_error
from loyalty.ledger import service as ledger
from loyalty.schemas import InputSchema
from verification.callbacks import rewards
from verification.callbacks.operations import cancel_open
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK, UNWOUND, VERIFIED, Referral
from verification.referrals.schemas import ReferralSchema

UNWINDERS = ("manager", "finance", "admin")


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def unwind(actor, referral_id: int, *, reason: str) -> Referral:
    """The new customer returned the car. Sets `referral.clawback` to what happened to the
    money: voided | reversed | receivable | already_reversed."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Say why the sale was unwound.")
    referral = referrals.get_referral(actor, referral_id, for_update=True)
    if actor is None or actor.role not in UNWINDERS:
        raise Forbidden(code="role_forbidden")
    if referral.status not in (AWAITING_CALLBACK, VERIFIED):
        raise referrals.InvalidTransition("Only a referral awaiting its callback or verified can be unwound.")
    now = clock.now()
    window = referral.store.policy.clawback_window_days
    if referral.delivered_at is None or referral.delivered_at + timedelta(days=window) < now:
        raise RuleViolation(N_("The clawback window after the delivery has passed."),
                            code="clawback_window_passed", fields={"delivered_at": [f"More than {window} days ago."]})
    if referral.status == AWAITING_CALLBACK:
        outcome = _void_reservation(actor, referral, reason)
    elif referral.reward_unit == "CNY":
        outcome = rewards.claw_back(actor, referral, reason=reason)
    else:
        raise RuleViolation("Points already granted are not taken back by an unwind.",
                            code="points_reward_granted")
    referrals.change_referral(actor, referral, "unwound", status=UNWOUND, reason="unwound", reason_text=reason[:500],
                      closed_at=now)
    referral.clawback = outcome
    return referral


def _void_reservation(actor, referral: Referral, reason: str) -> str:
    ledger.void_pending(referral.reward_transfer_id, key=f"referral:{referral.id}:unwind", actor=actor,
                        reason=f"退车作废预留奖励 referral {referral.id}: {reason}"[:200])
    cancel_open(actor, referral.id, why="referral unwound")
    return "voided"


# ---- the request and the answer of POST /referrals/{id}/unwind ------------------------

class UnwindInSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class UnwindResultSchema(ReferralSchema):
    clawback = fields.String(metadata={"description": "voided | reversed | receivable | already_reversed"})
