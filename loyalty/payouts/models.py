"""Payouts (奖励发放): a posted cash reward waiting for finance, its approvals and its fate.

A payout knows its subject (an opaque unique key such as "referral:42"), a display
label and reference for it, its payee ("customer:7") and the payee's name, the store
that pays, the staff who may not approve it, and its evidence (a snapshot, and the same
facts as labelled rows for the finance page), all handed over as plain data by the side
that requested it (loyalty never imports verification, and never reads the subject or
the evidence). The money itself lives in the ledger; the payout records which transfers
moved it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.directory.models import Staff, Store
from loyalty.extensions import db
from loyalty.types import UTCDateTime

AWAITING_APPROVAL = "awaiting_approval"  # 待审批
APPROVED = "approved"                    # 已审批
PAID = "paid"                            # 已发放
REJECTED = "rejected"                    # 已驳回 (reversed in the ledger)
CANCELLED = "cancelled"                  # 已取消 (the sale was unwound before payment)
CLAWED_BACK = "clawed_back"              # 已追回 (unwound after payment: a receivable on the payee)

STATUSES = (AWAITING_APPROVAL, APPROVED, PAID, REJECTED, CANCELLED, CLAWED_BACK)
OPEN = (AWAITING_APPROVAL, APPROVED)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    AWAITING_APPROVAL: (APPROVED, REJECTED, CANCELLED),
    APPROVED: (PAID, REJECTED, CANCELLED),
    PAID: (CLAWED_BACK,),
    REJECTED: (),
    CANCELLED: (),
    CLAWED_BACK: (),
}
METHODS = ("bank_transfer", "wechat_pay", "alipay", "cash")

EVIDENCE_ROWS = """The shape of `Payout.evidence_rows`, the evidence as the finance page shows it:
a list of sections `{name, head?, rows}` (with `head`, a list of message ids, a table), each
row `{label, parts, name?}` with a message id as label; a part is text `{text}`, a message id
`{msg, args?, then?}` (`then`: text after it), an instant `{at}` (ISO, shown in the store's
timezone) or a tag `{tag, ok, prefix}` (`tag` a message id). Message ids are translated when
shown, so the requester marks them for extraction."""


class Payout(db.Model):
    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("gross_amount > 0", name="gross_positive"),
        CheckConstraint("offset_amount >= 0 AND offset_amount <= gross_amount", name="offset_within_gross"),
        CheckConstraint("unit = 'CNY'", name="unit_cny"),
        CheckConstraint("status IN ('awaiting_approval', 'approved', 'paid', 'rejected', 'cancelled', "
                        "'clawed_back')", name="status_known"),
        CheckConstraint("approvals_required IN (1, 2)", name="approvals_required_known"),
        Index("ix_payouts_status_store", "status", "store_id"),
        # keyset paging of the finance queue (migration 0010l_list_indexes)
        Index("ix_payouts_requested_id", "requested_at", "id"),
        Index("ix_payouts_store_requested_id", "store_id", "requested_at", "id"),
        Index("ix_payouts_status_requested_id", "status", "requested_at", "id"),
        # the finance queue searched by a payee's name, as customers' names are (0016p; PostgreSQL)
        Index("ix_payouts_store_payee_name_grams", "store_id", func.name_grams(literal_column("payee_name")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(60), unique=True)  # opaque to payouts: "referral:42"
    label: Mapped[str | None] = mapped_column(String(60))  # what the subject is, a message id ("Referral")
    reference: Mapped[int | None] = mapped_column(BigInteger, index=True)  # the requester's id of the subject
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    payee: Mapped[str] = mapped_column(String(40), index=True)  # "customer:7"
    payee_name: Mapped[str | None] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(3), default="CNY")
    gross_amount: Mapped[int] = mapped_column(BigInteger)  # the reward, fen
    offset_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # the payee's receivable settled by it
    status: Mapped[str] = mapped_column(String(20), default=AWAITING_APPROVAL)
    approvals_required: Mapped[int] = mapped_column(default=1)
    blocked_approver_ids: Mapped[list] = mapped_column(JSON, default=list)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)  # the requester's snapshot, shown as is by the API
    evidence_rows: Mapped[list | None] = mapped_column(JSON)  # see EVIDENCE_ROWS below; queue.html shows them
    reason: Mapped[str] = mapped_column(String(200))  # what the payout is for, in words
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    method: Mapped[str | None] = mapped_column(String(20))
    external_reference: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    reverse_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    offset_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    paid_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    clawback_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    store: Mapped[Store] = relationship(lazy="select")
    approvals: Mapped[list[PayoutApproval]] = relationship(order_by="PayoutApproval.id", lazy="selectin",
                                                           back_populates="payout")

    @property
    def amount(self) -> int:
        """What finance pays out: the reward net of the payee's receivable it settles."""
        return self.gross_amount - self.offset_amount

    @property
    def approver_ids(self) -> list[int]:
        return [a.approver_id for a in self.approvals]


class PayoutApproval(db.Model):
    """One finance approval; one per approver and payout, whatever the race."""
    __tablename__ = "payout_approvals"
    __table_args__ = (UniqueConstraint("payout_id", "approver_id", name="uq_payout_approvals_payout_approver"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    request_key: Mapped[str | None] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    payout: Mapped[Payout] = relationship(back_populates="approvals")
    approver: Mapped[Staff] = relationship(lazy="select")


# A payout export written by a background job (issue 16): who asked, for what, how far it got.
QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
EXPORT_STATUSES = (QUEUED, RUNNING, DONE, FAILED, EXPIRED)


class PayoutExport(db.Model):
    """A CSV of payouts (发放明细导出) too large for one request. The job reads the payouts as the
    requester may see them (`requested_by`'s store scope, applied when it runs), writes the file
    under a temporary name and renames it when complete: `file_name` is set only on a done export."""
    __tablename__ = "payout_exports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'expired')", name="status_known"),
        CheckConstraint("rows_done >= 0", name="rows_done_not_negative"),
        Index("ix_payout_exports_status_id", "status", "id"),  # the next queued one, the running ones
        Index("ix_payout_exports_requested_by_id", "requested_by_id", "id"),  # "my exports", newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)  # status, store_id, date_from, date_to (ISO)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")  # the file's headers and labels
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None] = mapped_column()
    file_name: Mapped[str | None] = mapped_column(String(120))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # each batch written; stale = died
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[Staff] = relationship(lazy="select")

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return min(99, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
