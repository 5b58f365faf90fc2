"""Argon2id password hashing, and the rules a new password must pass (OWASP ASVS 6.2).

The rules, checked wherever a password is set (API, pages, CLI all go through the directory
service): at least 8 and at most 256 characters, no composition rules (ASVS 6.2.1, 6.2.5,
6.2.9); not one of the 19,640 most common passwords (6.2.4); not the username nor containing
it (6.2.11); not a single character repeated (eight spaces, "aaaaaaaa").

common-passwords.txt.gz is Django's list (django/contrib/auth/, BSD licence), compiled by
Royce Williams from leaked password sets and lowercased: it holds the Chinese favourites too
(5201314, woaini1314, qq123456).
"""
from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from loyalty.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256
_COMMON_FILE = Path(__file__).resolve().parent / "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def password_problems(password: str | None, *, username: str | None = None) -> list[str]:
    """What is wrong with `password` as a new password for `username`; empty when it may be used."""
    password = password or ""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("At least 8 characters.")
    elif len(password) > MAX_LENGTH:
        problems.append("At most 256 characters.")
    if password and len(set(password)) == 1:
        problems.append("Not a single character repeated, such as only spaces.")
    folded = password.strip().lower()
    if folded in common_passwords():
        problems.append("This password is one of the most common ones. Choose another.")
    name = (username or "").strip().lower()
    if name and folded and (name in folded or folded in name):
        problems.append("The password must not contain the username.")
    return problems


def check_new_password(password: str | None, *, username: str | None = None) -> None:
    """Raise a field error on `password` listing every rule it breaks."""
    problems = password_problems(password, username=username)
    if problems:
        raise ValidationFailed(fields={"password": problems})

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)  # argon2id, t=3, 64 MiB
# Verified against when the username is unknown, so a miss costs as much as a hit.
_dummy = _hasher.hash("not-a-real-password")


def use_cheap_hashing_for_tests() -> None:
    """Tests create many accounts; the cheapest argon2id parameters keep them fast.
    Stored hashes carry their parameters, so verification is unaffected."""
    global _hasher, _dummy
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _dummy = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
