"""The scheduler wires every registered job and each runs cleanly on an empty database."""
from __future__ import annotations

from loyalty import scheduler


def test_every_job_is_scheduled_and_runs(app):
    expected = {"expire_referrals", "points_expiry", "release_callback_leases", "retry_unreachable_callbacks"}
    assert expected <= set(scheduler.JOBS)
    built = scheduler.build(app)
    try:
        built.start(paused=True)
        jobs = {job.id: job for job in built.get_jobs()}
        assert set(jobs) == set(scheduler.JOBS)
        assert all(job.next_run_time is not None for job in jobs.values())  # first run right away
    finally:
        built.shutdown(wait=False)
    for name in scheduler.JOBS:
        assert scheduler.run_job(app, name) == 0
