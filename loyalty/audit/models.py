"""Append-only, hash-chained audit events (审计日志)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.extensions import db
from loyalty.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    # seq is dense (1, 2, 3, ...) and unique: a fork or a gap cannot hide. seq, prev_hash and hash
    # are NULL from the writer's INSERT until the chaining step after its commit (service.chain_pending).
    seq: Mapped[int | None] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The key's HMAC over the event's content and id, written with it (NULL for events from before 0011c).
    mac: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (db.Index("ix_audit_events_entity", "entity", "entity_id"),
                      db.Index("ix_audit_events_unchained", "id", postgresql_where=text("seq IS NULL"),
                               sqlite_where=text("seq IS NULL")))


class AuditHead(db.Model):
    """The chain's tip, moved by each chaining step in the same transaction as the events it
    chains, so a deleted tail is noticed; its row lock serialises the (short) chaining steps.

    `keyed_from` is the first seq hashed with the HMAC key (events before it were written
    before the key existed and keep plain SHA-256); `mac` is the key's HMAC over seq,
    hash and keyed_from, so the head cannot be rewound or switched back to plain SHA-256
    without the key. Both are NULL until the first append under a key."""
    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int | None] = mapped_column()
    mac: Mapped[str | None] = mapped_column(String(64))
