"""The claim, the licence and the record side by side, with a result per field (DEL-2, DEL-3).

claim   what the new customer said at registration (referrer name, phone, model, colour)
licence what the manager reads off the referrer's 行驶证 (owner, plate, model, VIN, colour as seen)
record  the referrer as the directory holds him: his name, phone and the stored vehicle

The record side is part of the answer key (SEC-5): it is shown to the checking manager inside
the delivery check and to admins, and stays out of every other view of the referral.
"""
from __future__ import annotations

from typing import Callable

from loyalty.directory.identity import mask_phone
from loyalty.directory.models import Customer, Vehicle
from verification import vocabulary as v
from verification.delivery.licence import MATCH, MISMATCH, MISSING, UNREADABLE, model_verdict, read_model

FIELDS = ("referrer_name", "referrer_phone", "plate", "model", "vin", "colour")
# Must match for the check to pass; the others only must not contradict.
REQUIRED = ("referrer_name", "referrer_phone", "plate", "model")
PHONE_FIELDS = ("referrer_phone",)

# Outcomes of an assessment (a decided check records one of the first three).
PASSED, LICENCE_MISMATCH, LATE_CLAIM, UNDECIDABLE = "passed", "licence_mismatch", "late_claim", "unreadable"


def _compare(canon: Callable[[str | None], str], *values: str | None) -> str:
    present = [canon(value) for value in values if value and canon(value)]
    if len(present) < len(values):
        return MISSING
    return MATCH if len(set(present)) == 1 else MISMATCH


def referrer_vehicle(referrer: Customer, licence: dict) -> Vehicle | None:
    """The referrer's stored vehicle the licence is about: by plate, else VIN, else the only one."""
    plate, vin = v.canon_plate(licence.get("plate")), v.canon_vin(licence.get("vin"))
    for vehicle in referrer.vehicles:
        if plate and v.canon_plate(vehicle.plate) == plate:
            return vehicle
    for vehicle in referrer.vehicles:
        if vin and v.canon_vin(vehicle.vin) == vin:
            return vehicle
    return referrer.vehicles[0] if len(referrer.vehicles) == 1 else None


def _row(claim: str | None, licence: str | None, record: str | None, result: str, note: str | None = None,
         **extra) -> dict:
    return {"claim": claim or None, "licence": licence or None, "record": record or None, "result": result,
            "note": note, **extra}


def compare(claim: dict, referrer: Customer, licence: dict) -> dict[str, dict]:
    """field -> {claim, licence, record, result[, note, reading]}; `claim` holds the claim's
    referrer_name, referrer_phone, referrer_model and referrer_colour."""
    stored = referrer_vehicle(referrer, licence) or Vehicle(model=None, colour=None, plate=None, vin=None)
    reading = read_model(licence.get("model"))
    model = model_verdict(reading, claim["referrer_model"], stored.model)
    seen_colour = licence.get("colour")
    return {
        "referrer_name": _row(claim["referrer_name"], licence.get("owner_name"), referrer.name,
                              _compare(v.canon_name, licence.get("owner_name"), claim["referrer_name"], referrer.name)),
        "referrer_phone": _row(claim["referrer_phone"], None, referrer.phone,
                               _compare(v.fold, claim["referrer_phone"], referrer.phone)),
        "plate": _row(None, licence.get("plate"), stored.plate,
                      _compare(v.canon_plate, licence.get("plate"), stored.plate)),
        "model": _row(claim["referrer_model"], licence.get("model"), stored.model, model.result, note=model.note,
                      reading=reading.as_dict()),
        "vin": _row(None, licence.get("vin"), stored.vin, _compare(v.canon_vin, licence.get("vin"), stored.vin)),
        # a colour not written down is the one on record: it still must agree with the claim
        "colour": _row(claim["referrer_colour"], seen_colour, stored.colour,
                       _compare(v.canon_colour, seen_colour or stored.colour, claim["referrer_colour"],
                                stored.colour)),
    }


def results(comparison: dict[str, dict]) -> dict[str, str]:
    """The API contract's `checks`: field -> match | mismatch | missing | unreadable."""
    return {field: row["result"] for field, row in comparison.items()}


def verdict(checks: dict[str, str]) -> str:
    """passed, licence_mismatch, or unreadable (a model only the manager can name: not decided)."""
    if MISMATCH in checks.values():
        return LICENCE_MISMATCH
    if UNREADABLE in checks.values():
        return UNDECIDABLE
    if all(checks.get(field) == MATCH for field in REQUIRED):
        return PASSED
    return LICENCE_MISMATCH


def shown_to(comparison: dict[str, dict], see_full_phones: bool, see_record: bool = True) -> dict[str, dict]:
    """The comparison as a viewer may read it: phones masked (138****8000) unless full (SEC-3);
    without `see_record`, no value on record at all, only each field's result: a made-up licence
    must not teach the checker what is on record (the referrer's plate, car and colour are the
    callback's facts), nor a matching one its exact wording (珍珠白 for the 白 he typed)."""
    shown = {}
    for field, row in comparison.items():
        if field in PHONE_FIELDS and not see_full_phones:
            row = {**row, **{side: mask_phone(row.get(side)) if row.get(side) else None
                             for side in ("claim", "licence", "record")}}
        if not see_record:
            row = {**row, "record": None, "record_hidden": True}
        shown[field] = row
    return shown
