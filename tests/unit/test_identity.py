"""Phones and national IDs (SEC-3), without a database or an app."""
from __future__ import annotations

import pytest

from loyalty.directory import identity
from loyalty.directory.identity import (
    InvalidNationalId,
    InvalidPhone,
    mask_phone,
    national_id_hash,
    normalise_national_id,
    normalise_phone,
)

ZHANG_ID = "310115198001011238"  # valid check digit (the demo data's 张三)
X_ID = "11010519491231002X"      # a valid ID whose check character is X


# ---- phones ---------------------------------------------------------------------

@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("raw", [
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "(138) 0013 8000",
    "+86-138-0013-8000",
    "+86 138 0013 8000",
    "0086 138 0013 8000",
    "8613800138000",
    "１３８００１３８０００",          # full-width digits
    "＋８６　１３８　００１３　８０００",  # full-width plus and ideographic spaces
    " 13800138000\t",
])
def test_phone_variants_normalise_to_e164(raw):
    assert normalise_phone(raw) == "+8613800138000"


@pytest.mark.rule("SEC-3")
def test_foreign_number_keeps_its_country_code():
    assert normalise_phone("+1 202-555-0143") == "+12025550143"


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("raw", ["", "   ", None, "abc", "12345", "1380013800", "138001380001234", "+86 000 0000 0000"])
def test_invalid_phones_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_invalid_phone_is_a_value_error():
    assert issubclass(InvalidPhone, ValueError)
    assert issubclass(InvalidNationalId, ValueError)


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("e164, masked", [
    ("+8613800138000", "138****8000"),
    ("+8613912345678", "139****5678"),
    ("+12025550143", "202****0143"),
])
def test_mask_phone_hides_the_middle_four(e164, masked):
    assert mask_phone(e164) == masked


@pytest.mark.parametrize("e164", ["+8613800138000", "+862158881234", "+8675512345678", "+85291234567",
                                  "+886912345678", "+12025550143", "+8610123"])
def test_the_quick_mask_of_chinese_numbers_is_the_parsed_one(e164):
    """China's numbers are masked without phonenumbers (a list of 50 referrals shows 150 phones):
    the same mask as parsing them, and other countries (+852, +886) still parsed."""
    import phonenumbers
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    expected = national[:2] + "*" * (len(national) - 4) + national[-2:] if len(national) <= 7 \
        else national[:3] + "****" + national[-4:]
    assert mask_phone(e164) == expected


@pytest.mark.rule("SEC-3")
def test_mask_phone_never_returns_the_full_number():
    for e164 in ("+8613800138000", "+8618612345678", "+12025550143"):
        national = e164[-11:] if e164.startswith("+86") else e164[-10:]
        assert mask_phone(e164) != national
        assert "****" in mask_phone(e164)


def test_mask_phone_passes_empty_values_through():
    assert mask_phone(None) is None
    assert mask_phone("") == ""


# ---- national IDs ---------------------------------------------------------------------

@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("raw, expected", [
    (ZHANG_ID, ZHANG_ID),
    (X_ID, X_ID),
    ("11010519491231002x", X_ID),                 # lower-case x
    ("110105 19491231 002X", X_ID),               # spaces
    ("１１０１０５１９４９１２３１００２Ｘ", X_ID),  # full-width digits and X
    ("１１０１０５１９４９１２３１００２ｘ", X_ID),  # full-width lower-case x
])
def test_valid_national_ids_normalise(raw, expected):
    assert normalise_national_id(raw) == expected


@pytest.mark.rule("SEC-3")
def test_legacy_15_digit_id_is_upgraded_to_its_18_character_form():
    """A first-generation ID (15 digits, no century, no check digit) and its 18-character
    successor are the same person; they must hash alike or a self-referral slips through."""
    legacy = "110105491231002"  # = 110105 [19]491231 002 + check digit X
    assert normalise_national_id(legacy) == X_ID


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("raw", [
    "110105194912310021",   # wrong check digit
    "310115198001011239",   # wrong check digit
    "11010519491231002",    # 17 characters
    "1101051949123100211",  # 19 characters
    "11010519491231X02X",   # X in the body
    "A10105194912310021",
    "11010549123100X",      # 15 with a letter
    "",
    None,
])
def test_invalid_national_ids_are_refused(raw):
    with pytest.raises(InvalidNationalId):
        normalise_national_id(raw)


def test_check_digit_is_verified_for_every_position():
    """Changing any one of the 17 body digits breaks the checksum."""
    for i in range(17):
        digit = int(ZHANG_ID[i])
        changed = ZHANG_ID[:i] + str((digit + 1) % 10) + ZHANG_ID[i + 1:]
        with pytest.raises(InvalidNationalId):
            normalise_national_id(changed)


@pytest.mark.rule("SEC-3")
def test_national_id_hash_is_keyed_and_stable():
    one = national_id_hash(ZHANG_ID, "key-1")
    assert one == national_id_hash(ZHANG_ID, "key-1")
    assert one != national_id_hash(ZHANG_ID, "key-2")
    assert one != national_id_hash(X_ID, "key-1")
    assert ZHANG_ID not in one and len(one) == 64
    # A plain (unkeyed) SHA-256 of the ID must not be what is stored: IDs are guessable.
    import hashlib
    assert one != hashlib.sha256(ZHANG_ID.encode()).hexdigest()


def test_module_has_no_flask_dependency():
    assert "flask" not in getattr(identity, "__dict__", {})
