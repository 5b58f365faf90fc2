"""Scheduled work for ring detection: live referrals assessed again as new referrals arrive, one per commit."""
from __future__ import annotations

from loyalty.scheduler import Job
from verification.rings import service

REFRESH = Job("refresh_ring_risk", seconds=900, items=lambda: service.stale_ids(),
              work=lambda referral_id: service.refresh(referral_id))
JOBS = (REFRESH,)
