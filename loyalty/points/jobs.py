"""The points expiry job (积分过期): one lot per commit, claimed in the database."""
from __future__ import annotations

from loyalty.extensions import db
from loyalty.points import service
from loyalty.scheduler import register_job


@register_job("points_expiry", seconds=3600)
def expire_points(limit: int = 10_000) -> int:
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
