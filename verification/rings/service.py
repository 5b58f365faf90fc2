"""Risk assessments of referrals (风险评估): at registration, by the refresh job, and all at once.

    risk = assess_registration(referral)   # the registration hook: before the referral is written
    ...flush...; risk.record(actor)        # its rows and audit event, once the referral has an id
    refresh(referral_id)                   # the job: the same signals again, with what came since
    recompute_all()                        # every referral of the group from scratch
    needs_second_approver(referral)        # its payout needs two approvers (LED-6)

The signals and their thresholds are in `verification.rings.signals` (README.md beside it).
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, insert, select, text

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.directory.models import StorePolicy
from loyalty.extensions import db
from verification.referrals import service as referrals
from verification.referrals.models import LIVE, Referral
from verification.rings import load
from verification.rings.models import RiskAssessment, RiskSignal
from verification.rings.signals import Signal, assess, score

REVIEW_REASON = "ring_risk"  # review_required of a registration held for its risk (REG-5's queue)
REFRESH_AFTER = timedelta(minutes=30)


def _threshold(store_id: int) -> int:
    return db.session.get(StorePolicy, store_id).ring_review_score


@dataclass
class PendingRisk:
    """The assessment of a registration, written once the referral has its id."""
    referral: Referral
    signals: list[Signal] = field(default_factory=list)
    review: bool = False

    def record(self, actor) -> None:
        if not self.signals:  # nothing fired: no rows, no event (the common case stays cheap)
            return
        _write(self.referral, self.signals)
        audit.record(actor, "referral", self.referral.id, "risk_assessed", None, _summary(self.signals))


def assess_registration(referral: Referral) -> PendingRisk:
    """The signals of a registration about to be written (`referral` has no id yet)."""
    signals = assess(load.around(referral), {0}).get(0, [])
    return PendingRisk(referral, signals, bool(signals) and score(signals) >= _threshold(referral.store_id))


def _summary(signals: list[Signal]) -> dict:
    return {"score": score(signals), "signals": sorted(s.kind for s in signals)}


def _write(referral: Referral, signals: list[Signal]) -> RiskAssessment:
    found = db.session.get(RiskAssessment, referral.id)
    if found is None:
        found = RiskAssessment(referral_id=referral.id, store_id=referral.store_id, score=0)
        db.session.add(found)
    found.score, found.computed_at = score(signals), clock.now()
    found.signals = [RiskSignal(kind=s.kind, weight=s.weight, linked=s.linked, detail=s.detail) for s in signals]
    db.session.flush()
    return found


def assessment_of(referral_id: int) -> RiskAssessment | None:
    return db.session.get(RiskAssessment, referral_id)


def visible_risk(actor, referral: Referral) -> RiskAssessment | None:
    """The assessment with its evidence, for managers and admins only: consultants never learn
    what is watched (the referral itself was already read through the viewer's store scope)."""
    if actor is None or actor.role not in ("manager", "admin"):
        return None
    return assessment_of(referral.id)


def needs_second_approver(referral: Referral) -> bool:
    """A referral whose risk reached its store's review score pays out only with two approvers."""
    found = assessment_of(referral.id)
    return found is not None and found.score >= _threshold(referral.store_id)


# ---- the refresh job -----------------------------------------------------------

def stale_ids(limit: int = 500) -> list[int]:
    """Live referrals not assessed for a while (or never): the refresh job's items."""
    query = (select(Referral.id).outerjoin(RiskAssessment, RiskAssessment.referral_id == Referral.id)
             .where(Referral.status.in_(LIVE),
                    (RiskAssessment.computed_at.is_(None)) | (RiskAssessment.computed_at < clock.now() - REFRESH_AFTER))
             .order_by(Referral.registered_at.desc()).limit(limit))
    return list(db.session.scalars(query))


def refresh(referral_id: int) -> bool:
    """Assess one referral again with what the group recorded since; True when the result changed.
    A still-registered referral whose score now reaches its store's review score goes to REG-5's
    queue (reason ring_risk), as it would have at its registration."""
    referral = db.session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        return False
    signals = assess(load.around(referral), {referral.id}).get(referral.id, [])
    found = assessment_of(referral.id)
    before = _summary([Signal(s.kind, s.linked, s.detail) for s in found.signals]) if found else None
    if not signals and found is None:
        db.session.add(RiskAssessment(referral_id=referral.id, store_id=referral.store_id, score=0))
        db.session.flush()
        return False
    _write(referral, signals)
    after = _summary(signals)
    changed = after != (before or {"score": 0, "signals": []})
    if changed:
        audit.record(None, "referral", referral.id, "risk_reassessed", before, after)
    if after["score"] >= _threshold(referral.store_id):
        referrals.hold_for_review(None, referral, REVIEW_REASON)
    return changed


# ---- the whole group -------------------------------------------------------------

def recompute_all(batch: int = 5000, phases: dict | None = None) -> dict[str, int]:
    """Every referral of the group assessed from scratch (flushes; the caller commits). `phases`, when
    given, receives the wall time of each phase in seconds (the bench prints them)."""
    phases = {} if phases is None else phases
    started = time.perf_counter()
    gc.disable()  # millions of small rows, none of them cyclic: the collector would walk them again and again
    try:
        records = load.everything(phases)
        found = assess(records)
    finally:
        gc.enable()
    phases["assess"] = time.perf_counter() - started - sum(phases.values())
    by_id = {row.id: row for row in records.rows}
    if db.engine.dialect.name == "postgresql":  # every row goes: no per-row delete and cascade check
        db.session.execute(text("TRUNCATE risk_signals, risk_assessments"))
    else:
        db.session.execute(delete(RiskSignal))
        db.session.execute(delete(RiskAssessment))
    now = clock.now()
    assessments = [{"referral_id": rid, "store_id": by_id[rid].store_id, "score": score(signals),
                    "computed_at": now} for rid, signals in found.items() if signals]
    rows = [{"referral_id": rid, "kind": s.kind, "weight": s.weight, "linked": s.linked, "detail": s.detail}
            for rid, signals in found.items() for s in signals]
    for start in range(0, len(assessments), batch):
        db.session.execute(insert(RiskAssessment), assessments[start:start + batch])
    for start in range(0, len(rows), batch):
        db.session.execute(insert(RiskSignal), rows[start:start + batch])
    audit.record(None, "risk", "all", "recomputed", None, {"referrals": len(records.rows),
                                                            "flagged": len(assessments)})
    phases["write"] = time.perf_counter() - started - sum(phases.values())
    return {"referrals": len(records.rows), "flagged": len(assessments), "signals": len(rows)}
