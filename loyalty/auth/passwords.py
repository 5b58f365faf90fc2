"""Argon2id password hashing."""
from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8

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
