"""The delivery check (提车核对): the claim and the referrer's vehicle against the licence (DEL-1, DEL-2).

A match records the referee's delivered vehicle, reserves the reward as a
pending ledger transfer and moves the referral to `awaiting_callback`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from loyalty import clock
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, Vehicle
from loyalty.errors import Forbidden, field_error
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from verification import vocabulary as v
from verification.callbacks import service as callbacks
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK, REGISTERED, REJECTED, DeliveredVehicle, Referral

MATCH, MISMATCH, MISSING = "match", "mismatch", "missing"
# Must match for the check to pass; the others only must not contradict.
REQUIRED = ("referrer_name", "referrer_phone", "plate", "model")


def _compare(canon: Callable[[str | None], str], *values: str | None) -> str:
    present = [canon(value) for value in values if value and canon(value)]
    if len(present) < len(values):
        return MISSING
    return MATCH if len(set(present)) == 1 else MISMATCH


def _referrer_vehicle(referrer: Customer, licence: dict) -> Vehicle | None:
    """The referrer's stored vehicle the licence is about: by plate, else VIN, else the only one."""
    plate, vin = v.canon_plate(licence.get("plate")), v.canon_vin(licence.get("vin"))
    for vehicle in referrer.vehicles:
        if plate and v.canon_plate(vehicle.plate) == plate:
            return vehicle
    for vehicle in referrer.vehicles:
        if vin and v.canon_vin(vehicle.vin) == vin:
            return vehicle
    return referrer.vehicles[0] if len(referrer.vehicles) == 1 else None


def compare_licence(referral: Referral, licence: dict) -> dict[str, str]:
    """match | mismatch | missing per field (DEL-2)."""
    referrer = referral.referrer
    vehicle = _referrer_vehicle(referrer, licence)
    stored = vehicle or Vehicle(model=None, colour=None, plate=None, vin=None)
    checks = {
        "referrer_name": _compare(v.canon_name, licence.get("owner_name"), referral.claim_referrer_name,
                                  referrer.name),
        "referrer_phone": _compare(v.fold, referral.claim_referrer_phone, referrer.phone),
        "plate": _compare(v.canon_plate, licence.get("plate"), stored.plate),
        "model": _compare(v.canon_model, licence.get("model"), referral.claim_referrer_model, stored.model),
        "vin": _compare(v.canon_vin, licence.get("vin"), stored.vin),
        "colour": _compare(v.canon_colour, licence.get("colour") or stored.colour,
                           referral.claim_referrer_colour, stored.colour),
    }
    return checks


def _passes(checks: dict[str, str]) -> bool:
    return all(checks[f] == MATCH for f in REQUIRED) and MISMATCH not in checks.values()


def check_delivery(actor, referral_id: int, *, delivered_at: datetime, vehicle: dict,
                   licence: dict) -> Referral:
    referral = referrals.get_referral(actor, referral_id, for_update=True)
    if actor.role not in referrals.SHOWROOM_MANAGERS:
        raise Forbidden(code="role_forbidden")
    if actor.id == referral.registered_by_id:
        raise Forbidden("You registered this referral; another manager must check the delivery.",
                        code="checker_is_registrant")
    if referral.status != REGISTERED:
        raise referrals.InvalidTransition("Only a registered, reviewed referral can be checked.")
    if referral.acknowledged_at is None:
        raise referrals.InvalidTransition("The duty manager has not acknowledged this referral yet.",
                                          code="not_acknowledged")
    now = clock.now()
    if delivered_at > now:
        raise field_error("delivered_at", "The delivery cannot be in the future.")
    common = dict(delivered_at=delivered_at, delivery_checked_at=now, delivery_checked_by_id=actor.id)
    if delivered_at < referral.registered_at:
        return referrals.change_referral(actor, referral, "delivery_rejected", status=REJECTED, reason="late_claim",
                                 reason_text="Delivered before the referral was registered.",
                                 delivery_checks=None, closed_at=now, **common)
    checks = compare_licence(referral, licence)
    if not _passes(checks):
        return referrals.change_referral(actor, referral, "delivery_rejected", status=REJECTED,
                                 reason="licence_mismatch", delivery_checks=checks, closed_at=now, **common)
    new_car = directory.add_vehicle(actor, referral.referee_id, model=vehicle["model"], colour=vehicle["colour"],
                                    transmission=vehicle["transmission"], vin=vehicle.get("vin"),
                                    plate=vehicle.get("plate"), source="delivery")
    db.session.add(DeliveredVehicle(store_id=referral.store_id, customer_id=referral.referee_id,
                                    vehicle_id=new_car.id, delivered_at=delivered_at, recorded_by_id=actor.id))
    transfer = reserve_reward(actor, referral)
    referrals.change_referral(actor, referral, "delivery_matched", status=AWAITING_CALLBACK, delivery_checks=checks,
                      delivered_vehicle_id=new_car.id, reward_amount=transfer.amount,
                      reward_unit=transfer.unit, reward_transfer_id=transfer.id, **common)
    callbacks.plan_callback(actor, referral)
    return referral


def reserve_reward(actor, referral: Referral):
    """Pending transfer: the store's referral expense -> the referrer's reward payable (or points)."""
    policy = referral.store.policy
    unit = policy.reward_unit
    expense = ledger.account_for(f"store:{referral.store_id}", "referral_expense", unit)
    purpose = "reward_payable" if unit == "CNY" else "points_reserved"
    payable = ledger.account_for(f"customer:{referral.referrer_id}", purpose, unit)
    return ledger.transfer(debit=expense, credit=payable, amount=policy.reward_amount, unit=unit,
                           reason=f"推荐奖励预留 referral {referral.id}", subject=f"referral:{referral.id}",
                           key=f"referral:{referral.id}:reserve", pending=True, actor=actor)
