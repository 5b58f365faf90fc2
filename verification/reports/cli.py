"""`flask reports rebuild` / `flask reports compact`: the report summaries (issue 16), the referral
counts, the open payables per store and the ledger's posted totals per (purpose, unit)."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from loyalty.extensions import db

reports_cli = AppGroup("reports", help="The report summaries.")


@reports_cli.command("rebuild")
def rebuild_cmd() -> None:
    """Recompute the report summaries from the base rows (set-based SQL; safe while the service runs):
    the referral counts, the open payables per store, the ledger's posted totals, each in its own transaction."""
    from loyalty.reports import totals
    from verification.reports import sources
    for name, rebuild in (("report counts", sources.rebuild), ("payout totals", totals.rebuild),
                          ("ledger totals", totals.rebuild_posted)):
        started = time.perf_counter()
        try:
            rows = rebuild()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        click.echo(f"{name} rebuilt: {rows:,} rows in {time.perf_counter() - started:.1f} s")


@reports_cli.command("compact")
def compact_cmd() -> None:
    """Fold the deltas written since the last run into the report counts (what the job does)."""
    from loyalty.reports import totals
    from verification.reports import counts
    batches = 0
    try:
        for compact in (counts.compact, totals.compact, totals.compact_posted):
            while compact():
                db.session.commit()
                batches += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"report deltas folded: {batches} batch(es)")
