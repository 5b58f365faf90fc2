"""APScheduler: the background jobs, embedded in `make run` or in `flask scheduler`.

The composition root (`loyalty.app`) registers every job in one place with `register`. A job
does its work one item at a time: `run_job` commits after each item and rolls back only a
failing one, which it logs with the item's id and counts (`JobRun.failed`, `FAILURES`); the
others go on (ARCHITECTURE example 13). Each item is claimed in the database (a row lock), so
several scheduler processes may run at once.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Iterable

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from loyalty.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """`work(item)` does one item (flushes, never commits) and says whether it changed anything.
    `items()` lists the ids waiting; without it `work(None)` claims the next item itself and says
    False when none is left (at most `limit` per run)."""
    name: str
    seconds: int
    work: Callable[[Any], bool]
    items: Callable[[], Iterable[Any]] | None = None
    setting: str | None = None  # a config key that overrides `seconds`
    limit: int = 10_000

    def interval(self, app: Flask) -> int:
        return int(app.config.get(self.setting) or self.seconds) if self.setting else self.seconds


@dataclass
class JobRun:
    done: int = 0    # items that changed something
    failed: int = 0  # items rolled back on an error (logged with their id)


JOBS: dict[str, Job] = {}
FAILURES: Counter[str] = Counter()  # failed items per job since this process started


def register(*jobs: Job) -> None:
    """Called by the composition root with every job (a job of the same name is replaced)."""
    for job in jobs:
        JOBS[job.name] = job


def run_job(app: Flask, name: str) -> JobRun:
    job, run = JOBS[name], JobRun()
    with app.app_context():
        try:
            if job.items is None:
                for _ in range(job.limit):
                    if not _one(job, None, run):
                        break  # nothing left, or the claim itself failed: the next run tries again
            else:
                try:
                    items = list(job.items())
                except Exception:
                    _failed(job, "(listing the items)", run)
                    return run
                for item in items:
                    _one(job, item, run)
        finally:
            db.session.remove()
    if run.done or run.failed:
        log.info("job %s did %s, %s failed", name, run.done, run.failed)
    return run


def _one(job: Job, item: Any, run: JobRun) -> bool:
    """One item in its own transaction; False when it changed nothing or failed."""
    try:
        changed = bool(job.work(item))
        db.session.commit()
    except Exception:
        _failed(job, item, run)
        return False
    run.done += changed
    return changed


def _failed(job: Job, item: Any, run: JobRun) -> None:
    db.session.rollback()
    run.failed += 1
    FAILURES[job.name] += 1
    log.exception("job %s failed on item %s", job.name, item)


def build(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in JOBS.values():
        # first run right away, so a restarted scheduler catches up without waiting an interval
        scheduler.add_job(run_job, "interval", seconds=job.interval(app), args=(app, job.name),
                          id=job.name, name=job.name, next_run_time=datetime.now(UTC))
    return scheduler


def start_embedded(app: Flask) -> BackgroundScheduler:
    scheduler = build(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started with %d jobs", len(JOBS))
    return scheduler


def run_blocking(app: Flask) -> None:
    scheduler = build(app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    print(f"scheduler running {len(JOBS)} jobs: {', '.join(sorted(JOBS)) or '(none yet)'}; Ctrl-C stops it")
    stop.wait()
    scheduler.shutdown()
