"""Scheduled work for referrals."""
from __future__ import annotations

from loyalty.scheduler import register_job
from verification.referrals import service


@register_job("expire_referrals", seconds=600)
def expire_referrals() -> int:
    return service.expire_stale()
