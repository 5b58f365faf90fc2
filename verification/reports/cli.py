"""`flask reports rebuild` / `flask reports compact`: the report counts (issue 16)."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from loyalty.extensions import db

reports_cli = AppGroup("reports", help="The report summaries.")


@reports_cli.command("rebuild")
def rebuild_cmd() -> None:
    """Recompute the report counts from the base rows (set-based SQL; safe while the service runs)."""
    from verification.reports import sources
    started = time.perf_counter()
    try:
        rows = sources.rebuild()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"report counts rebuilt: {rows:,} rows in {time.perf_counter() - started:.1f} s")


@reports_cli.command("compact")
def compact_cmd() -> None:
    """Fold the deltas written since the last run into the report counts (what the job does)."""
    from verification.reports import counts
    batches = 0
    try:
        while counts.compact():
            db.session.commit()
            batches += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"report deltas folded: {batches} batch(es)")
