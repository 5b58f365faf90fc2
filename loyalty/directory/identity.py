"""Phones (E.164, masked for display) and national IDs (keyed hash + last 4) (SEC-3)."""
from __future__ import annotations

import hashlib
import hmac

import phonenumbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class InvalidPhone(ValueError):
    pass


class InvalidNationalId(ValueError):
    pass


MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_phone(raw: str, region: str = "CN", *, mobile: bool = False) -> str:
    """'138 0013 8000', '+86 138-0013-8000', '１３８００１３８０００' → '+8613800138000'.
    With `mobile`, a number the numbering plan knows as a landline ('021-58881234') is refused:
    a customer is reached by a callback on his mobile."""
    text = "".join(ch for ch in (raw or "") if not ch.isspace())
    text = text.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})  # full width → ASCII
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    if mobile and phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidPhone("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str | None:
    """'+8613800138000' → '138****8000' (the national number, middle four hidden)."""
    if not e164:
        return e164
    if e164.startswith("+86") and e164[3:].isdigit():
        # China's numbers, nearly all we hold: the national number is what follows the country
        # code (country codes are prefix-free; China has no national prefix kept in E.164), so a
        # list of fifty referrals does not parse 150 phones (it was a tenth of the list's time)
        national = e164[3:]
    else:
        try:
            national = str(phonenumbers.parse(e164, None).national_number)
        except phonenumbers.NumberParseException:
            national = e164.lstrip("+")
    if len(national) <= 7:
        return national[:2] + "*" * (len(national) - 4) + national[-2:]
    return national[:3] + "****" + national[-4:]


def normalise_national_id(raw: str) -> str:
    """A PRC resident ID: 18 characters with a valid check digit; the old 15 digits are upgraded to 18."""
    text = "".join((raw or "").split()).upper()
    text = text.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    if len(text) == 15 and text.isdigit():
        # The first-generation ID of the same person: 19 inserted before the two-digit
        # birth year and the check digit appended, so both forms hash alike (REG-3).
        body = text[:6] + "19" + text[6:]
        return body + _check_digit(body)
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise InvalidNationalId("must be 18 characters: 17 digits and a check digit or X")
    if _check_digit(text[:17]) != text[17]:
        raise InvalidNationalId("check digit does not match")
    return text


def _check_digit(body17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS)) % 11]


def national_id_hash(normalised: str, key: str) -> str:
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
