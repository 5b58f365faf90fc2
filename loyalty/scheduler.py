"""APScheduler: the background jobs, embedded in `make run` or in `flask scheduler`.

Jobs are registered by packages with `register_job`; each runs inside an app
context, one commit per item of work, and claims its work in the database, so
several scheduler processes may run at once.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from loyalty.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]  # returns how many pieces of work it did
    seconds: int
    setting: str | None = None  # a config key that overrides `seconds`

    def interval(self, app: Flask) -> int:
        return int(app.config.get(self.setting) or self.seconds) if self.setting else self.seconds


JOBS: dict[str, Job] = {}


def register_job(name: str, seconds: int, setting: str | None = None) -> Callable:
    def wrap(func: Callable[[], int]) -> Callable[[], int]:
        JOBS[name] = Job(name, func, seconds, setting)
        return func
    return wrap


def run_job(app: Flask, name: str) -> int:
    with app.app_context():
        try:
            done = JOBS[name].func()
            db.session.commit()
            if done:
                log.info("job %s did %s", name, done)
            return done
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
            return 0
        finally:
            db.session.remove()


def build(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in JOBS.values():
        # first run right away, so a restarted scheduler catches up without waiting an interval
        scheduler.add_job(run_job, "interval", seconds=job.interval(app), args=(app, job.name),
                          id=job.name, name=job.name, next_run_time=datetime.now(timezone.utc))
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
