"""A staff member's phone and national ID (issue 17), kept exactly as customers' are (SEC-3): the
phone in E.164, the ID only as a keyed hash and its last 4. Ring detection compares them with the
customers' to find staff who are also customers; only admins read them."""
from __future__ import annotations

from typing import Any

from loyalty.directory import identity
from loyalty.errors import field_error
from loyalty.settings import settings

FIELDS = ("phone", "national_id_hash", "national_id_last4")


def columns(phone: str | None, national_id: str | None) -> dict[str, Any]:
    """The stored columns for what was given ('' clears; a key left out is left alone)."""
    out: dict[str, Any] = {}
    if phone is not None:
        try:
            out["phone"] = identity.normalise_phone(phone, settings.phone_region) if phone.strip() else None
        except identity.InvalidPhone:
            raise field_error("phone", "Not a valid phone number.") from None
    if national_id is not None:
        if not national_id.strip():
            return {**out, "national_id_hash": None, "national_id_last4": None}
        try:
            normalised = identity.normalise_national_id(national_id)
        except identity.InvalidNationalId:
            raise field_error("national_id", "Not a valid national ID number.") from None
        out.update(national_id_hash=identity.national_id_hash(normalised, settings.pii_key()),
                   national_id_last4=normalised[-4:])
    return out
