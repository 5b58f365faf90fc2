"""Scheduled work for the money reports: fold the open-payable deltas into the totals (issue 16)."""
from __future__ import annotations

from loyalty.reports import totals
from loyalty.scheduler import Job

PAYOUT_TOTALS = Job("payout_totals", seconds=60, work=lambda _item: totals.compact())
JOBS = (PAYOUT_TOTALS,)
