"""`flask payouts backfill`: payouts for cash rewards posted before payouts existed."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.extensions import db

payouts_cli = AppGroup("payouts", help="Reward payouts.")


@payouts_cli.command("backfill")
def backfill_cmd() -> None:
    """Request the missing payouts of posted cash rewards (safe to run again)."""
    from loyalty.payouts import service
    try:
        done = service.backfill()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    total = sum(done.values())
    click.echo(f"payouts requested: {total}" + "".join(f"\n  {name}: {n}" for name, n in done.items()))
