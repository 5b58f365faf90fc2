"""Scheduled work for the money reports: fold the open-payable deltas and the ledger's posted-total
deltas into their totals (issue 16)."""
from __future__ import annotations

from loyalty.reports import totals
from loyalty.scheduler import Job

PAYOUT_TOTALS = Job("payout_totals", seconds=60, work=lambda _item: totals.compact())
LEDGER_TOTALS = Job("ledger_totals", seconds=60, work=lambda _item: totals.compact_posted())
JOBS = (PAYOUT_TOTALS, LEDGER_TOTALS)
