"""`flask payouts backfill`: payouts for cash rewards posted before payouts existed;
`flask payouts exports run|expire`: the background exports' jobs, for ops (issue 16)."""
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


exports_cli = AppGroup("exports", help="Background payout exports (the scheduler runs them too).")
payouts_cli.add_command(exports_cli)


@exports_cli.command("run")
@click.option("--limit", default=100, show_default=True, help="At most this many exports.")
def run_exports_cmd(limit: int) -> None:
    """Write every queued export now (and queue again the ones whose process died)."""
    from loyalty.payouts import jobs
    try:
        done = jobs.run_exports(limit)
    except Exception as exc:
        db.session.rollback()
        raise click.ClickException(f"export failed: {exc}") from None
    click.echo(f"exports written: {done}")


@exports_cli.command("expire")
def expire_exports_cmd() -> None:
    """Remove the files of exports past their expiry (EXPORT_KEEP_DAYS)."""
    from loyalty.payouts import jobs
    click.echo(f"exports expired: {jobs.expire_exports()}")
