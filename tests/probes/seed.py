"""A world for the API probes: the demo data plus referrals in every state the API acts on.

Built through the service functions (never raw rows), so what the probes meet is what real use
leaves behind: registered, acknowledged, delivered (callbacks due), verified (payouts awaiting
approval, approved, paid), under review and a held answer.
"""
from __future__ import annotations

from sqlalchemy import select

from tests.flows import truthful

AT_ONCE = {"reward_amount": 50000, "reward_unit": "CNY", "callback_delay_min_hours": 0,
           "callback_delay_max_hours": 0, "calling_hours_start": "00:00", "calling_hours_end": "23:59",
           "velocity_limit": 1000}


def _staff():
    from loyalty.directory.models import Staff
    from loyalty.extensions import db
    return {s.username: s for s in db.session.execute(select(Staff)).unique().scalars()}


def seed_referrals(store_code: str = "SH01", count: int = 12) -> dict[str, int]:
    """Referrals between demo customers of one store, walked to different states."""
    from loyalty import clock
    from loyalty.directory import service as directory
    from loyalty.directory.models import Customer, Store
    from loyalty.extensions import db
    from loyalty.payouts import service as payouts
    from verification.callbacks import service as callbacks
    from verification.delivery import service as delivery
    from verification.referrals import service as referrals

    staff = _staff()
    store = db.session.execute(select(Store).where(Store.code == store_code)).unique().scalar_one()
    directory.set_policy(staff["admin"], store.id, AT_ONCE)
    people = [c for c in db.session.execute(
        select(Customer).where(Customer.store_id == store.id).order_by(Customer.id)).unique().scalars()
        if c.vehicles][: 2 * count]
    states: dict[str, int] = {}
    for i in range(0, len(people) - 1, 2):
        referrer, referee = people[i], people[i + 1]
        car = referrer.vehicles[0]
        referral = referrals.register_referral(staff["consultant"], store_id=store.id, referrer_id=referrer.id,
                                               referee_id=referee.id, claim={
                                                   "referrer_name": referrer.name, "referrer_phone": referrer.phone,
                                                   "referrer_model": car.model, "referrer_colour": car.colour})
        db.session.commit()
        step = i // 2
        states[f"registered_{step}"] = referral.id
        if step % 6 == 0:
            continue
        referrals.acknowledge(staff["manager"], referral.id)
        db.session.commit()
        if step % 6 == 1:
            continue
        delivery.check_delivery(staff["manager2"], referral.id, delivered_at=clock.now(),
                                vehicle={"model": "高尔夫", "colour": "红色", "transmission": "manual"},
                                licence={"owner_name": referrer.name, "plate": car.plate, "model": car.model,
                                         "vin": car.vin, "colour": car.colour})
        db.session.commit()
        if step % 6 == 2:
            continue
        call = callbacks.claim_next(staff["agent"])
        db.session.commit()
        if call is None:
            continue
        callbacks.record_answers(staff["agent"], call.id, [truthful(q) for q in call.questions])
        db.session.commit()
        payout = payouts.payout_for(f"referral:{call.referral_id}")
        if payout is None or step % 6 == 3:
            continue
        payouts.approve(staff["finance"], payout.id)
        db.session.commit()
        if payout.status == "approved" and step % 6 == 5:
            payouts.mark_paid(staff["finance2"], payout.id, method="wechat_pay", external_reference=f"PROBE{step}")
            db.session.commit()
    return states
