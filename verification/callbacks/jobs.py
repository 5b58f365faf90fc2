"""Scheduled callback work: leases that ran out, and unreachable callees to retry (one commit each)."""
from __future__ import annotations

from loyalty.scheduler import Job
from verification.callbacks import service

RELEASE_LEASES = Job("release_callback_leases", seconds=60, items=lambda: service.expired_lease_ids(),
                     work=lambda callback_id: service.release_lease(callback_id))
RETRY_UNREACHABLE = Job("retry_unreachable_callbacks", seconds=60, items=lambda: service.unreachable_ids(),
                        work=lambda callback_id: service.retry_one(callback_id))
JOBS = (RELEASE_LEASES, RETRY_UNREACHABLE)
