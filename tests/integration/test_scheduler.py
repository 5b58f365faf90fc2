"""The scheduler runs every registered job, one commit per item, and says when an item fails."""
from __future__ import annotations

import logging

from sqlalchemy import select

from loyalty import scheduler
from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db

ALL_JOBS = {"audit_checkpoint", "expire_referrals", "points_expiry", "release_callback_leases", "payout_exports",
            "payout_export_expiry", "retry_unreachable_callbacks", "refresh_ring_risk", "report_summaries",
            "payout_totals", "ledger_totals"}


def test_every_job_is_scheduled_and_runs(app):
    assert set(scheduler.JOBS) == ALL_JOBS  # registered by the composition root, all in one place
    built = scheduler.build(app)
    try:
        built.start(paused=True)
        jobs = {job.id: job for job in built.get_jobs()}
        assert set(jobs) == set(scheduler.JOBS)
        assert all(job.next_run_time is not None for job in jobs.values())  # first run right away
    finally:
        built.shutdown(wait=False)
    for name in scheduler.JOBS:
        assert scheduler.run_job(app, name) == scheduler.JobRun(done=0, failed=0), name


def _logging_on(monkeypatch):
    # alembic's fileConfig (the migrations this session ran) disables loggers that existed before it
    monkeypatch.setattr(logging.getLogger("loyalty.scheduler"), "disabled", False)


def test_a_failing_item_is_rolled_back_alone_logged_and_counted(app, monkeypatch, caplog):
    """Items 1 and 3 are committed although item 2 fails in between (ARCHITECTURE example 13)."""
    _logging_on(monkeypatch)

    def tick(item):
        audit.record(None, "tick", item, "ticked", None, {"n": item})
        if item == 2:
            raise RuntimeError("item 2 is broken")
        return True

    monkeypatch.setitem(scheduler.JOBS, "ticks", scheduler.Job("ticks", seconds=60, items=lambda: [1, 2, 3],
                                                               work=tick))
    failures = scheduler.FAILURES["ticks"]
    assert scheduler.run_job(app, "ticks") == scheduler.JobRun(done=2, failed=1)
    assert scheduler.FAILURES["ticks"] == failures + 1
    assert "job ticks failed on item 2" in caplog.text and "item 2 is broken" in caplog.text
    ticked = db.session.execute(select(AuditEvent.entity_id).where(AuditEvent.entity == "tick")).scalars().all()
    assert sorted(ticked) == ["1", "3"]


def test_a_job_that_raises_is_reported_not_taken_for_idle(app, monkeypatch, caplog):
    """Before: run_job answered 0 whether expire_stale had nothing to do or raised."""
    from verification.referrals import service as referrals
    _logging_on(monkeypatch)

    def broken(*args, **kwargs):
        raise RuntimeError("the query broke")

    monkeypatch.setattr(referrals, "stale_referral_ids", broken)
    assert scheduler.run_job(app, "expire_referrals") == scheduler.JobRun(done=0, failed=1)
    assert "job expire_referrals failed" in caplog.text


def test_a_claiming_job_stops_at_its_first_failure(app, monkeypatch):
    """Without an item list the job claims items itself: a failing claim ends the run (the next run
    tries again) instead of spinning on it."""
    calls = []

    def claim(_):
        calls.append(1)
        raise RuntimeError("cannot claim")

    monkeypatch.setitem(scheduler.JOBS, "claims", scheduler.Job("claims", seconds=60, work=claim))
    assert scheduler.run_job(app, "claims") == scheduler.JobRun(done=0, failed=1)
    assert len(calls) == 1
