"""The points expiry job (积分过期): one lot per commit, each claimed in the database."""
from __future__ import annotations

from loyalty.extensions import db
from loyalty.points import service
from loyalty.scheduler import Job

# expire_next_lot claims the next lot due itself (SKIP LOCKED), so the job has no item list
EXPIRY = Job("points_expiry", seconds=3600, work=lambda _: service.expire_next_lot() is not None)


def expire_points(limit: int = 10_000) -> int:
    """Every lot due in one go, one commit per lot, outside the scheduler (tests, a shell)."""
    done = 0
    while done < limit:
        try:
            lot = service.expire_next_lot()
        except Exception:
            db.session.rollback()
            raise
        if lot is None:
            break
        db.session.commit()
        done += 1
    return done
