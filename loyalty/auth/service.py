"""Logging in (登录): password checks, API tokens and web sessions."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.auth.models import ApiToken, Staff, StaffSession
from loyalty.auth.passwords import hash_password, needs_rehash, verify_password
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


# ---- web sessions (kept on the server, so logout ends them) ----------------------------

def open_session(staff: Staff, ttl_seconds: int) -> str:
    """A new web session for `staff`; the token goes into the signed cookie, its hash here.
    This staff member's expired or ended sessions are cleared on the way."""
    now = clock.now()
    db.session.execute(delete(StaffSession).where(
        StaffSession.staff_id == staff.id,
        (StaffSession.expires_at <= now) | StaffSession.ended_at.is_not(None)))
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(staff_id=staff.id, token_hash=_token_digest(token), created_at=now,
                                expires_at=now + timedelta(seconds=ttl_seconds)))
    db.session.flush()
    return token


def staff_for_session(token: str | None) -> Staff | None:
    """The active staff member of a live session: not ended, not expired."""
    if not token or not isinstance(token, str):
        return None
    row = db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == _token_digest(token))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None or row.expires_at <= clock.now():
        return None
    return row.staff if row.staff.active else None


def end_session(token: str | None) -> None:
    """Logout: the session is over on the server, whatever copies of its cookie exist."""
    if not token or not isinstance(token, str):
        return
    row = db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == _token_digest(token))
    ).scalar_one_or_none()
    if row is not None and row.ended_at is None:
        row.ended_at = clock.now()
