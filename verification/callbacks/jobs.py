"""Scheduled callback work: leases that ran out, and unreachable callees to retry."""
from __future__ import annotations

from loyalty.scheduler import register_job
from verification.callbacks import service


@register_job("release_callback_leases", seconds=60)
def release_callback_leases() -> int:
    return service.release_expired_leases()


@register_job("retry_unreachable_callbacks", seconds=60)
def retry_unreachable_callbacks() -> int:
    return service.retry_unreachable()
