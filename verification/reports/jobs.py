"""Scheduled work for the reports: fold the writers' count deltas into the summary (issue 16).

Each run folds batches until none is left, one commit per batch; the reports are exact whether
or not it has run (they read the deltas too), it only keeps them short."""
from __future__ import annotations

from loyalty.scheduler import Job
from verification.reports import counts

SUMMARIES = Job("report_summaries", seconds=60,
                work=lambda _item: counts.compact())
JOBS = (SUMMARIES,)
