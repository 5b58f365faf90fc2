"""The ledger's tables (总账): accounts, transfers and claimed idempotency keys.

Modelled on TigerBeetle: a transfer is one immutable row that debits one
account and credits another by the same positive integer amount in one unit,
so every transfer balances by construction and the transfers *are* the
entries of each account's statement. Two-phase transfers: a `pending` row
reserves; a later `post` or `void` row references it (`pending_id`, unique, so
a pending is resolved at most once). Each account caches its four totals
(debits/credits, posted/pending) so a balance is one row read; `check()`
proves the caches equal the sums of the transfers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.extensions import db
from loyalty.types import UTCDateTime

UNITS = ("CNY", "PTS")
KINDS = ("posted", "pending", "post", "void")
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Account(db.Model):
    """账户: one owner, one purpose, one unit; flags forbid the side that would mean overdraw."""
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("owner", "purpose", "unit", name="uq_ledger_accounts_owner_purpose_unit"),
        # the liabilities report's sums by purpose (issue 16): a purpose with few accounts (receivables,
        # penalty income) is read without scanning every customer's; balances are not in it, so the
        # balance updates of a transfer stay HOT
        Index("ix_ledger_accounts_purpose_unit", "purpose", "unit"),
        CheckConstraint("unit IN ('CNY', 'PTS')", name="unit_known"),
        CheckConstraint("normal IN ('debit', 'credit')", name="normal_known"),
        CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
                        "AND credits_pending >= 0", name="totals_not_negative"),
        # The database refuses an overdraw even if a bug skipped the service's check.
        CheckConstraint("NOT debits_must_not_exceed_credits OR "
                        "debits_posted + debits_pending <= credits_posted", name="debits_within_credits"),
        CheckConstraint("NOT credits_must_not_exceed_debits OR "
                        "credits_posted + credits_pending <= debits_posted", name="credits_within_debits"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)  # "customer:7", "store:3", "system:0"
    purpose: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(3))
    normal: Mapped[str] = mapped_column(String(6))  # the side a positive balance sits on
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(default=False)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.owner}/{self.purpose} {self.unit}>"


class Transfer(db.Model):
    """转账: immutable. kind posted | pending | post | void; post/void reference their pending."""
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint("kind IN ('posted', 'pending', 'post', 'void')", name="kind_known"),
        CheckConstraint("(kind IN ('post', 'void')) = (pending_id IS NOT NULL)", name="resolution_references_pending"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        Index("ix_ledger_transfers_debit", "debit_account_id", "id"),
        Index("ix_ledger_transfers_credit", "credit_account_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(3))
    # Unique: the second post/void of one pending cannot be written, whatever the race.
    pending_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_transfers.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(60), index=True)  # "referral:42", "redemption:9"
    batch: Mapped[str | None] = mapped_column(String(40))  # linked batch: applied all or nothing
    actor_id: Mapped[int | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # HMAC-SHA256 (hex) over the fields above under a key the database does not hold (SEC-1);
    # NULL only on transfers written before migration 0008a.
    digest: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return (f"<Transfer {self.id} {self.kind} {self.amount} {self.unit} "
                f"{self.debit_account_id}->{self.credit_account_id}>")


class IdempotencyKey(db.Model):
    """幂等键: an HTTP Idempotency-Key claimed in the money move's own transaction,
    with the first response, replayed for a retry with the same body."""
    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path, actor and body
    status_code: Mapped[int | None] = mapped_column()
    response: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PostedTotal(db.Model):
    """The posted balance of every account of one purpose and unit, summed (issue 16: the
    liabilities report's group line), each signed by its account's normal side, as far as the
    `ledger_totals` job has folded; `PostedTotalDelta` holds what transfers appended since."""
    __tablename__ = "ledger_totals"
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit: Mapped[str] = mapped_column(String(3), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class PostedTotalDelta(db.Model):
    """What one transfer (or batch) moved a (purpose, unit) total by, written in its own transaction:
    insert only, so concurrent transfers never wait on a total's row."""
    __tablename__ = "ledger_total_deltas"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(3))
    n: Mapped[int] = mapped_column(BigInteger)
