"""Staff (员工, who log in), their API bearer tokens (kept only as a SHA-256 of the token) and web sessions.

`loyalty.directory.models` re-exports `Staff`: the directory manages staff, auth knows who logs in,
and auth imports nothing of the directory (the arrow points directory -> auth)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.extensions import db
from loyalty.types import UTCDateTime

if TYPE_CHECKING:  # a name for the annotation only; the import-linter contract ignores these
    from loyalty.directory.models import Store


class Staff(db.Model):
    """A person who logs in. Store-bound, or group-level when store_id is NULL."""
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(
        "role IN ('consultant', 'manager', 'agent', 'finance', 'service', 'admin')", name="role_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Kept as customers' are (SEC-3): E.164, and the national ID only as a keyed hash + last 4;
    # they let ring detection find staff who are also customers (issue 17). Admins alone read them.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    national_id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    national_id_last4: Mapped[str | None] = mapped_column(String(4))
    store: Mapped[Store | None] = relationship(lazy="select")

    @property
    def group_level(self) -> bool:
        return self.store_id is None or self.role == "admin"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff: Mapped[Staff] = relationship(lazy="joined")


class StaffSession(db.Model):
    """A web session (登录会话) kept on the server: the cookie carries a random token, the
    database only its SHA-256. Logging out ends the row, so a cookie saved before logout
    is worthless afterwards; a session also ends when it expires."""
    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff: Mapped[Staff] = relationship(lazy="joined")
