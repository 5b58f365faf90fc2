"""The payout exports' jobs (issue 16): write the queued exports, remove the expired files."""
from __future__ import annotations

from loyalty.extensions import db
from loyalty.payouts import export_jobs
from loyalty.scheduler import Job


def run_next_export(_item=None) -> bool:
    """Claim the oldest queued export and write its file; False when none is queued. Unlike other
    items this one commits as it goes (the claim, then its progress after each batch), so a status
    poll sees it move and no transaction stays open for the whole file. A failing export is marked
    failed (committed) and its error raised, for the scheduler to log and count."""
    job = export_jobs.claim_next()
    db.session.commit()  # the claim (and any stale exports put back in the queue)
    if job is None:
        return False
    export_jobs.run(job)
    return True


def run_exports(limit: int = 100) -> int:
    """Every queued export now, one after another (`flask payouts exports run`, tests)."""
    done = 0
    while done < limit and run_next_export():
        done += 1
    return done


def expire_exports(limit: int = 10_000) -> int:
    done = 0
    while done < limit and export_jobs.expire_next() is not None:
        db.session.commit()
        done += 1
    db.session.commit()
    return done


EXPORTS = Job("payout_exports", seconds=5, setting="EXPORT_POLL_SECONDS", work=run_next_export, limit=100)
EXPORT_EXPIRY = Job("payout_export_expiry", seconds=3600, work=lambda _: export_jobs.expire_next() is not None)
JOBS = (EXPORTS, EXPORT_EXPIRY)
