"""Logging in (登录): password checks and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.auth.models import ApiToken
from loyalty.auth.passwords import hash_password, needs_rehash, verify_password
from loyalty.directory.models import Staff
from loyalty.errors import Unauthorized
from loyalty.extensions import db


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(username: str, password: str) -> Staff:
    """The active staff member with these credentials, or Unauthorized (same answer for every miss)."""
    staff = db.session.execute(
        select(Staff).where(Staff.username == (username or "").strip())
    ).scalar_one_or_none()
    ok = verify_password(staff.password_hash if staff else None, password or "")
    if not ok or staff is None or not staff.active:
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    return staff


def issue_token(staff: Staff, ttl_hours: int) -> tuple[str, ApiToken]:
    """A new bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(staff_id=staff.id, token_hash=_token_digest(token),
                   expires_at=clock.now() + timedelta(hours=ttl_hours))
    db.session.add(row)
    db.session.flush()
    audit.record(staff, "api_token", row.id, "issued", None, {"expires_at": row.expires_at})
    return token, row


def staff_for_token(token: str) -> Staff | None:
    """The staff member a live token belongs to: unexpired, unrevoked, staff still active."""
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    if not row.staff.active:
        return None
    return row.staff


def revoke_token(token: str) -> None:
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token))
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(row.staff, "api_token", row.id, "revoked")


def active_staff(staff_id: int | None) -> Staff | None:
    if staff_id is None:
        return None
    staff = db.session.get(Staff, staff_id)
    return staff if staff is not None and staff.active else None
