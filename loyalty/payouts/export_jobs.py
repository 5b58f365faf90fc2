"""Payout exports as background jobs (后台导出, issue 16): asked for, run, downloaded, expired.

An export larger than `settings.export_direct_max_rows` rows is not written inside a request: the
request records a `PayoutExport` (who asked, the filters, the reader's language) and answers at
once; the scheduler's `payout_exports` job (or `flask payouts exports run`) writes the file
(export_files.py), committing its progress after each batch; the requester (or an admin) reads
the progress and downloads the file; `payout_export_expiry` removes files after
`settings.export_keep_days` days.

The rows are the ones the requester may see when the job runs (his store scope, from his staff
row then: a requester disabled or moved out of finance in between gets a failed export, not a
file), and only payouts requested before the export was asked for (`upto_id`), so the rows and
the footer's ledger totals describe one set however long the job takes. A job whose process died
(no heartbeat for `settings.export_stale_seconds`) is queued again, at most MAX_ATTEMPTS times,
then failed; its half-written file never carries the final name.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import force_locale
from sqlalchemy import func, select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.directory.models import Staff, Store
from loyalty.errors import Conflict, NotFound, field_error
from loyalty.extensions import db
from loyalty.payouts import export, export_files, service
from loyalty.payouts.models import DONE, EXPIRED, FAILED, QUEUED, RUNNING, Payout, PayoutExport
from loyalty.scoping import in_stores
from loyalty.settings import settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_WAITING = 5  # queued or running exports per requester
BOOKS = ("finance", "admin")
FIELDS = ("status", "rows_done", "rows_total", "file_name", "size_bytes", "sha256", "error", "attempts")


class ExportRefused(Exception):
    """The requester may no longer read these payouts: the export fails, nothing is written."""


# ---- asking ---------------------------------------------------------------------------------

def is_large(actor, **filters) -> bool:
    """Whether the export of `filters` (period included) holds more than the direct bound. Counts
    at most bound + 1 rows, so asking costs the same at 10k payouts as at 10M."""
    bound = settings.export_direct_max_rows
    ids = service.payouts_query(actor, **filters).with_only_columns(Payout.id).order_by(None).limit(bound + 1)
    return db.session.execute(select(func.count()).select_from(ids.subquery())).scalar_one() > bound


def request_export(actor, *, locale: str = "zh_CN", everything: bool = False,
                   **filters) -> PayoutExport:
    """Queue an export of the payouts `actor` may see matching `filters`: without a period the last
    export.DEFAULT_DAYS days, or every payout with `everything`. The same request while an
    identical one of the same requester is still queued or running answers that one; more than
    MAX_WAITING of his waiting is a 409."""
    _check(actor, everything, filters)
    recent = not everything and filters.get("date_from") is None and filters.get("date_to") is None
    if recent:
        filters = {**export.default_period(filters), "recent": True}  # the last DEFAULT_DAYS days
    upto = db.session.execute(select(func.max(Payout.id))).scalar_one() or 0
    wanted = {**{k: _iso(v) for k, v in filters.items() if v is not None}, "upto_id": upto}
    waiting = db.session.execute(select(PayoutExport).where(
        PayoutExport.requested_by_id == actor.id, PayoutExport.status.in_((QUEUED, RUNNING)))).scalars().all()
    for open_one in waiting:
        if _same(open_one.filters, wanted):
            return open_one
    if len(waiting) >= MAX_WAITING:
        raise Conflict("You have exports waiting already; ask again when one is done.", code="too_many_exports")
    job = PayoutExport(requested_by_id=actor.id, filters=wanted, locale=locale[:10], status=QUEUED,
                       requested_at=clock.now(), rows_done=0, attempts=0)
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "payout_export", job.id, "requested", None, {"filters": wanted, "locale": job.locale})
    return job


def _check(actor, everything: bool, filters: dict) -> None:
    start, end = filters.get("date_from"), filters.get("date_to")
    if everything and (start is not None or end is not None):
        raise field_error("all", "Ask for a period or for everything, not both.")
    if start is not None and end is not None and end <= start:
        raise field_error("to", "The period ends before it starts.")
    store_id = filters.get("store_id")
    if store_id is not None and db.session.execute(
            in_stores(select(Store.id), actor, Store.id, store_id=store_id)).first() is None:
        raise field_error("store_id", "No such store.")


def _same(asked: dict, wanted: dict) -> bool:
    """The same export: the same filters, "the last 90 days" whenever it was asked."""
    ignored = {"upto_id"} | ({"date_from"} if asked.get("recent") and wanted.get("recent") else set())
    return {k: v for k, v in asked.items() if k not in ignored} == {k: v for k, v in wanted.items() if k not in ignored}


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _filters(job: PayoutExport) -> dict:
    f = dict(job.filters)
    f.pop("upto_id", None)
    f.pop("recent", None)
    for key in ("date_from", "date_to"):
        if f.get(key):
            f[key] = datetime.fromisoformat(f[key])
    return f


# ---- reading --------------------------------------------------------------------------------

def get_export(actor, export_id: int) -> PayoutExport:
    """The export if `actor` asked for it (or is an admin); 404 for anyone else, as for none."""
    job = db.session.get(PayoutExport, export_id)
    if job is None or (actor.role != "admin" and job.requested_by_id != actor.id):
        raise NotFound(code="export_not_found")
    return job


def my_exports(actor, limit: int = 20) -> list[PayoutExport]:
    return list(db.session.execute(select(PayoutExport).where(PayoutExport.requested_by_id == actor.id)
                                   .order_by(PayoutExport.id.desc()).limit(limit)).scalars())


def file_of(actor, export_id: int):
    """The path and download name of a done export's file; 409 while it is not (or no longer) there."""
    job = get_export(actor, export_id)
    if job.status in (QUEUED, RUNNING):
        raise Conflict("The export is not finished yet.", code="export_not_ready")
    if job.status == FAILED:
        raise Conflict("The export failed; ask for it again.", code="export_failed")
    path = export_files.directory() / (job.file_name or "")
    if job.status == EXPIRED or not path.is_file() or path.stat().st_size != job.size_bytes:
        raise Conflict("The export's file has expired; ask for it again.", code="export_expired")
    audit.record(actor, "payout_export", job.id, "downloaded", None, {"sha256": job.sha256})
    return path, f"payouts-{job.requested_at:%Y%m%d}-{job.id}.csv"


# ---- running (the scheduler's job, `flask payouts exports run`) -----------------------------

def claim_next() -> PayoutExport | None:
    """The oldest queued export, marked running (locked, so two schedulers never take the same)."""
    requeue_stale()
    job = db.session.execute(select(PayoutExport).where(PayoutExport.status == QUEUED)
                             .order_by(PayoutExport.id).limit(1).with_for_update(skip_locked=True)
                             ).scalar_one_or_none()
    if job is None:
        return None
    now = clock.now()
    job.status, job.attempts, job.rows_done, job.rows_total, job.error = RUNNING, job.attempts + 1, 0, None, None
    job.started_at = job.heartbeat_at = now
    return job


def run(job: PayoutExport) -> None:
    """Write the claimed export's file, committing progress per batch; done, or failed and raised.
    An attempt that finds the export no longer its own (taken for dead and queued again) stops
    and leaves it to its successor."""
    export_id, attempt = job.id, job.attempts
    try:
        actor = _requester(job)
        query = service.payouts_query(actor, **_filters(job)).where(Payout.id <= job.filters.get("upto_id", 0))
        job.rows_total = export_files.count(query)
        db.session.commit()
        with force_locale(job.locale):
            written = export_files.write(export_id, attempt, query, lambda n: _progress(export_id, attempt, n))
        job = _own(export_id, attempt)
        export_files.publish(export_id, attempt)
        _finish(job, written)
        db.session.commit()
    except Superseded:
        db.session.rollback()
        export_files.remove(export_id, attempt)
        log.warning("payout export %s: attempt %s was taken for dead; its successor goes on", export_id, attempt)
    except Exception as exc:
        db.session.rollback()
        export_files.remove(export_id, attempt)
        try:
            _fail(_own(export_id, attempt), str(exc) or type(exc).__name__)
            db.session.commit()
        except Superseded:
            db.session.rollback()
        raise


class Superseded(Exception):
    """This attempt was taken for dead and the export queued again (or failed) meanwhile."""


def _own(export_id: int, attempt: int) -> PayoutExport:
    """The export, locked, if this attempt still runs it."""
    job = db.session.execute(select(PayoutExport).where(PayoutExport.id == export_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    if job.status != RUNNING or job.attempts != attempt:
        raise Superseded(export_id)
    return job


def _requester(job: PayoutExport) -> Staff:
    staff = db.session.get(Staff, job.requested_by_id)
    if staff is None or not staff.active or staff.role not in BOOKS:
        raise ExportRefused("The requester may no longer export payouts.")
    return staff


def _progress(export_id: int, attempt: int, rows: int) -> None:
    job = _own(export_id, attempt)
    job.rows_done, job.heartbeat_at = rows, clock.now()
    db.session.commit()


def _finish(job: PayoutExport, written: export_files.Written) -> None:
    now = clock.now()
    job.status, job.file_name, job.size_bytes, job.sha256 = DONE, written.name, written.size, written.sha256
    job.rows_done = job.rows_total or 0
    job.finished_at, job.expires_at = now, now + timedelta(days=settings.export_keep_days)
    audit.record(None, "payout_export", job.id, "done", None, audit.snapshot(job, FIELDS))


def _fail(job: PayoutExport, error: str) -> None:
    job.status, job.error, job.finished_at = FAILED, error[:500], clock.now()
    audit.record(None, "payout_export", job.id, "failed", None, audit.snapshot(job, FIELDS))


def requeue_stale() -> int:
    """Running exports with no heartbeat for export_stale_seconds died with their process: queued
    again (their half file removed), or failed after MAX_ATTEMPTS."""
    since = clock.now() - timedelta(seconds=settings.export_stale_seconds)
    stale = db.session.execute(select(PayoutExport).where(PayoutExport.status == RUNNING,
                                                          PayoutExport.heartbeat_at < since)
                               .with_for_update(skip_locked=True)).scalars().all()
    for job in stale:
        export_files.remove(job.id, job.attempts)  # if it still runs, it finds itself superseded
        log.warning("payout export %s stopped after %s rows (attempt %s)", job.id, job.rows_done, job.attempts)
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job, f"stopped {job.attempts} times")
        else:
            job.status, job.rows_done = QUEUED, 0
            audit.record(None, "payout_export", job.id, "requeued", None, audit.snapshot(job, FIELDS))
    return len(stale)


def expire_next() -> PayoutExport | None:
    """One done export past its expiry: its file removed, the export marked expired."""
    job = db.session.execute(select(PayoutExport).where(PayoutExport.status == DONE,
                                                        PayoutExport.expires_at <= clock.now())
                             .order_by(PayoutExport.id).limit(1).with_for_update(skip_locked=True)
                             ).scalar_one_or_none()
    if job is None:
        return None
    export_files.remove(job.id)
    job.status = EXPIRED
    audit.record(None, "payout_export", job.id, "expired", None, audit.snapshot(job, FIELDS))
    return job
