"""Risk assessments (风险评估) of referrals and the signals (风险信号) that fired (issue 17).

A referral has an assessment once it was assessed; no row, or a row with score 0, means no signal
fired. Each signal keeps the referrals it links to and its evidence (counts, the staff member, the
shared attribute's kind; never a verification fact's value, SEC-5)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.extensions import db
from loyalty.types import UTCDateTime
from verification.referrals.models import Referral

# What the signals read by: a referee's referrals (chains). A consultant's referrals in a window are
# read by ix_referrals_registrant_registered_id (registered_by_id, registered_at, id), from 0010l.
Index("ix_referrals_referee", Referral.referee_id)


class RiskAssessment(db.Model):
    __tablename__ = "risk_assessments"
    __table_args__ = (Index("ix_risk_assessments_store_score", "store_id", "score"),)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    score: Mapped[int] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    signals: Mapped[list[RiskSignal]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="RiskSignal.id", lazy="selectin")


class RiskSignal(db.Model):
    __tablename__ = "risk_signals"
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("risk_assessments.referral_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    weight: Mapped[int] = mapped_column()
    linked: Mapped[list] = mapped_column(JSON)   # referral ids
    detail: Mapped[dict] = mapped_column(JSON)   # counts, staff ids, what was shared
    assessment: Mapped[RiskAssessment] = relationship(back_populates="signals")
