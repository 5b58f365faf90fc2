"""Scheduled work for referrals: expiry (REG-6), one referral per commit."""
from __future__ import annotations

from loyalty.scheduler import Job
from verification.referrals import service

EXPIRE = Job("expire_referrals", seconds=600, items=lambda: service.stale_referral_ids(),
             work=lambda referral_id: service.expire_referral(referral_id))
JOBS = (EXPIRE,)
