"""Callbacks (电话回访): the hidden plan, each attempt, the answers, grades and reviews (CB-1..CB-9).

Everything drawn is stored so a verdict can be replayed in a dispute (CB-7).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.directory.models import Customer
from loyalty.extensions import db
from loyalty.types import UTCDateTime
from verification.referrals.models import Referral

# callback statuses
PLANNED = "planned"          # waiting for its due time, then for an agent
CLAIMED = "claimed"          # an agent holds it (lease)
ANSWERED = "answered"        # answers recorded (reviews may be open)
UNREACHABLE = "unreachable"  # nobody picked up: waiting for the retry job to re-plan it
EXHAUSTED = "exhausted"      # unreachable on every attempt
CANCELLED = "cancelled"      # the referral was decided or unwound

# The moves a callback may make (callbacks.operations.change_callback refuses any other).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PLANNED: (CLAIMED, CANCELLED),
    CLAIMED: (ANSWERED, UNREACHABLE, PLANNED, CANCELLED),  # back to planned: the agent's lease ran out
    UNREACHABLE: (PLANNED, EXHAUSTED, CANCELLED),          # planned: rescheduled for another attempt
    ANSWERED: (),
    EXHAUSTED: (),
    CANCELLED: (),
}
OPEN = (PLANNED, CLAIMED, UNREACHABLE)  # statuses a decided or unwound referral cancels
_CLAIMABLE = f"status IN ('{PLANNED}', '{CLAIMED}')"


class QuestionTemplate(db.Model):
    """The question bank (题库): admins edit it; the seed's questions ship as defaults."""
    __tablename__ = "question_templates"
    __table_args__ = (CheckConstraint("kind IN ('open', 'statement')", name="kind_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    fact: Mapped[str] = mapped_column(String(20))
    text_zh: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class Callback(db.Model):
    """One party to be called about the other, with its drawn questions and attempts."""
    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_queue", "status", "due_at"),
        # claim_next's filter and order: the claimable callbacks by due time (issue 16)
        Index("ix_callbacks_due", "due_at", "id", postgresql_where=text(_CLAIMABLE), sqlite_where=text(_CLAIMABLE)),
        CheckConstraint("party IN ('referee', 'referrer')", name="party_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    sequence: Mapped[int] = mapped_column(default=1)  # 1: the drawn party; 2: the other one after no answer
    party: Mapped[str] = mapped_column(String(10))     # who is called
    callee_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))  # who the questions are about
    questions: Mapped[list] = mapped_column(JSON)      # PlannedQuestion dicts, truth included
    drawn: Mapped[dict] = mapped_column(JSON)          # how callee and time were drawn (for replay)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_made: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default=PLANNED)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[list | None] = mapped_column(JSON)
    grades: Mapped[dict | None] = mapped_column(JSON)  # question key -> correct|wrong|undecided
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # CB-11: estimated chance (basis points) that a callee coached by the referral's own staff passes;
    # above the store's limit a passing verdict waits for a manager's confirmation.
    insider_pass_bp: Mapped[int | None] = mapped_column()
    confirm_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    referral: Mapped[Referral] = relationship(lazy="select")
    callee: Mapped[Customer] = relationship(foreign_keys=[callee_id], lazy="select")
    subject: Mapped[Customer] = relationship(foreign_keys=[subject_id], lazy="select")


class CallbackAttempt(db.Model):
    """Each time an agent took the call: answered, or nobody picked up."""
    __tablename__ = "callback_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"), index=True)
    number: Mapped[int] = mapped_column()
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(String(12))  # answered | unreachable
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class AnswerReview(db.Model):
    """An answer the grader could not decide, for a manager who neither registered nor checked it."""
    __tablename__ = "answer_reviews"
    __table_args__ = (Index("ix_answer_reviews_open", "store_id", "decided_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    question_key: Mapped[str] = mapped_column(String(8))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    decision: Mapped[str | None] = mapped_column(String(8))  # correct | wrong
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    callback: Mapped[Callback] = relationship(lazy="selectin")


class Confirmation(db.Model):
    """A passing verdict on a plan too weak against the referral's own staff (CB-11).

    The referral is not verified until a manager who did not touch it confirms it (or releases the
    reward back as unverifiable): never silently verified on facts its own staff supplied."""
    __tablename__ = "verification_confirmations"
    __table_args__ = (
        CheckConstraint("decision IS NULL OR decision IN ('verified', 'unverifiable')", name="decision_known"),
        Index("ix_verification_confirmations_open", "store_id", "decided_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    insider_pass_bp: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decision: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    referral: Mapped[Referral] = relationship(lazy="selectin")
    callback: Mapped[Callback] = relationship(lazy="selectin")
