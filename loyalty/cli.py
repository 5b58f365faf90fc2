"""`flask --app wsgi ...` commands: create-admin, demo-data, audit verify|checkpoint, ledger check,
scheduler."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from loyalty.extensions import db
from loyalty.scanning import cpus


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(demo_data)
    app.cli.add_command(audit_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(scheduler_cmd)


@click.command("create-admin")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--display-name", default=None, help="Name shown in the app (default: USERNAME).")
def create_admin(username: str, password_stdin: bool, display_name: str | None) -> None:
    """Create a group-level administrator."""
    from loyalty.directory import service
    from loyalty.errors import DomainError
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        staff = service.create_staff(None, username=username, display_name=display_name or username,
                                     role="admin", store_id=None, password=password)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message} {detail}".strip()) from None
    click.echo(f"Created admin {staff.username} (id {staff.id}).")


@click.command("demo-data")
@click.option("--customers", default=300, show_default=True, help="How many generated customers.")
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if demo data exists.")
def demo_data(customers: int, if_empty: bool) -> None:
    """Load a demo dealer group: 2 stores, a login per role, 张三 and 李四, and customers."""
    from sqlalchemy import select

    from loyalty.demo import LOGINS, load_demo_data, print_logins
    from loyalty.directory.models import Staff
    if if_empty and db.session.execute(select(Staff.id).where(Staff.username == LOGINS[0][0])).first():
        click.echo("demo data already loaded")
        print_logins(click.echo)
        return
    load_demo_data(customers=customers, echo=click.echo, progress=click.progressbar)


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option("--resume", is_flag=True, help="Start after the last checkpoint, or after where an interrupted verify "
                                             "got, whichever is later (that event must still match).")
@click.option("--jobs", type=click.IntRange(min=1), default=cpus(), show_default="CPUs available",
              help="Processes walking the chain, each over its own spans of events.")
def audit_verify(resume: bool, jobs: int) -> None:
    """Check the hash chain against its checkpoints; exit 1 naming the first broken event."""
    from loyalty.audit import service
    path = Path(current_app.instance_path) / "audit-verify.progress"
    since = service.starting_point(service.read_checkpoints()[0], resume, service.progress_record(path))
    with _interrupted_says_resume(), click.progressbar(length=service.events_to_walk(since), label="audit events",
                                                       file=sys.stderr) as bar:
        report = service.verify_chain(progress=bar.update, resume=resume, jobs=jobs, progress_path=path)
    click.echo(_chain_report(report, service.settings.checkpoint_path), err=not report.ok)
    for bad in report.bad_checkpoints if not report.ok else ():
        if f"line {bad.line}:" not in report.problem:
            click.echo(f"  and checkpoint file line {bad.line}: {bad.problem}", err=True)
    if not report.ok:
        sys.exit(1)


@contextmanager
def _interrupted_says_resume():
    """Ctrl-C: what was walked is kept (a signed record in the instance folder); say how to go on."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo("\ninterrupted: run it again with --resume to continue after the last span it finished",
                   err=True)
        sys.exit(130)


def _chain_report(report, checkpoint_path: str | None) -> str:
    last, since = report.last_checkpoint, report.resumed_after
    compared = (f"{report.checkpoints} checkpoint(s) compared, the last at seq {last.seq} ({last.at})" if last
                else "no checkpoints yet" if checkpoint_path else "no checkpoint file (AUDIT_CHECKPOINT_PATH)")
    resumed = f" after seq {since.seq} (resumed from {since.at})" if since is not None else ""
    if report.ok:
        unkeyed = f", {report.unkeyed} written before the key (plain SHA-256)" if report.unkeyed else ""
        waiting = f", {report.unchained} more sealed and waiting to be chained" if report.unchained else ""
        return f"audit chain OK: {report.events} events{resumed}{unkeyed}{waiting}; {compared}"
    where = (f"event seq {report.broken_seq}" if report.broken_seq is not None
             else f"event id {report.broken_id} (not chained)" if report.broken_id else "the checkpoint file")
    return (f"audit chain BROKEN at {where}{f' (id {report.broken_id})' if report.broken_id else ''}: "
            f"{report.problem}")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the chain's head to AUDIT_CHECKPOINT_PATH (after verifying
    the events since the last one); exit 1, writing nothing, when the chain does not hold."""
    from loyalty.audit import service
    try:
        mark = service.write_checkpoint()
    except service.CheckpointsOff:
        raise click.ClickException("set AUDIT_CHECKPOINT_PATH to a file outside the database") from None
    except service.ChainBroken as exc:
        report = exc.report
        where = f"event seq {report.broken_seq}" if report.broken_seq is not None else "the checkpoint file"
        click.echo(f"audit chain BROKEN at {where}: {report.problem}; no checkpoint written", err=True)
        sys.exit(1)
    if mark is None:
        click.echo(f"audit head unchanged since the last checkpoint; nothing written to {service.settings.checkpoint_path}")
        return
    click.echo(f"audit checkpoint written: seq {mark.seq}, hash {mark.hash[:16]}…, to {service.settings.checkpoint_path}")


ledger_cli = AppGroup("ledger", help="The ledger.")


@ledger_cli.command("check")
@click.option("--resume", is_flag=True, help="Continue the digest pass of a check that was interrupted, after the "
                                             "last span of transfers it finished.")
@click.option("--jobs", type=click.IntRange(min=1), default=cpus(), show_default="CPUs available",
              help="Processes computing the transfers' digests, each over its own spans of ids.")
def ledger_check(resume: bool, jobs: int) -> None:
    """Verify the ledger's invariants, transfer digests and points lots; exit 1 naming each violation."""
    import time

    from loyalty.ledger import digests
    from loyalty.ledger.service import check
    path = Path(current_app.instance_path) / "ledger-check.progress"
    after, _, saved = digests.resume_point(digests.progress_record(path)) if resume else (0, None, None)
    if saved is not None:
        click.echo(f"resuming after transfer {after} (the interrupted check of "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(saved))})", err=True)
    started = time.perf_counter()
    with _interrupted_says_resume(), click.progressbar(length=digests.transfers_to_check(after), label="transfers",
                                                       file=sys.stderr) as bar:
        violations = check(progress=bar.update, jobs=jobs, progress_path=path, resume=resume)
    took = time.perf_counter() - started
    if not violations:
        click.echo(f"ledger OK ({took:.2f} s)")
        return
    for violation in violations:
        click.echo(f"VIOLATION: {violation}", err=True)
    click.echo(f"ledger check found {len(violations)} violation(s)", err=True)
    sys.exit(1)


@click.command("scheduler")
def scheduler_cmd() -> None:
    """Run the background jobs in this process until stopped."""
    from flask import current_app

    from loyalty.scheduler import run_blocking
    run_blocking(current_app._get_current_object())
