"""What a verdict does to the money (CB-8, CB-9, LED-2, LED-9).

verified      -> the pending reward is posted and becomes a payout awaiting finance's approval
                 (points: the reservation becomes a points lot; no payout)
fraudulent    -> the reward is voided, the registering consultant is penalised, the referrer flagged
unverifiable  -> the reward is voided (released back)
"""
from __future__ import annotations

from loyalty import clock
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.points import service as points
from verification.callbacks import rewards
from verification.referrals import service as referrals
from verification.referrals.models import FRAUDULENT, UNVERIFIABLE, VERIFIED, Referral, ReferrerFlag

VERDICTS = (VERIFIED, FRAUDULENT, UNVERIFIABLE)


def settle(actor, referral: Referral, verdict: str) -> Referral:
    if verdict not in VERDICTS:
        raise ValueError(verdict)
    if verdict == VERIFIED:
        _release(actor, referral)
    else:
        ledger.void_pending(referral.reward_transfer_id, key=f"referral:{referral.id}:void",
                            reason=f"推荐奖励作废 referral {referral.id}: {verdict}", actor=actor)
    if verdict == FRAUDULENT:
        _penalise(actor, referral)
        db.session.add(ReferrerFlag(customer_id=referral.referrer_id, referral_id=referral.id,
                                    reason=f"fraudulent referral {referral.id}"))
    return referrals.change_referral(actor, referral, f"callback_{verdict}", status=verdict, closed_at=clock.now(),
                             reason=None if verdict == VERIFIED else verdict)


def _release(actor, referral: Referral) -> None:
    key = f"referral:{referral.id}:post"
    if referral.reward_unit == "CNY":
        ledger.post_pending(referral.reward_transfer_id, key=key, actor=actor,
                            reason=f"推荐奖励确认 referral {referral.id}: verified by callback")
        rewards.request_payout_for(actor, referral)  # finance approves and pays it (LED-6)
        return
    # Points live in lots that expire; the reservation is released and the points granted as a lot.
    ledger.void_pending(referral.reward_transfer_id, key=key, actor=actor,
                        reason=f"推荐积分预留转为积分批次 referral {referral.id}")
    points.grant(actor, referral.referrer_id, store_id=referral.store_id, points=referral.reward_amount,
                 reason=f"推荐奖励积分 referral {referral.id}", key=f"referral:{referral.id}",
                 source="referral", subject=f"referral:{referral.id}")


def _penalise(actor, referral: Referral) -> None:
    penalty = referral.store.policy.consultant_penalty
    if penalty <= 0:
        return
    owed, income = ledger.accounts_for((f"staff:{referral.registered_by_id}", "penalty_receivable", "CNY"),
                                       (f"store:{referral.store_id}", "penalty_income", "CNY"))
    ledger.transfer(debit=owed, credit=income,
                    amount=penalty, unit="CNY", subject=f"referral:{referral.id}",
                    key=f"referral:{referral.id}:penalty", actor=actor,
                    reason=f"销售顾问作假处罚 referral {referral.id}")
