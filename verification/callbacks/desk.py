"""The agent's desk (回访工作台): the callback an agent holds, if any."""
from __future__ import annotations

from loyalty.extensions import db
from verification.callbacks.models import CLAIMED, Callback


def held_by(agent) -> Callback | None:
    """The callback this agent has claimed and not yet answered or released."""
    return db.session.execute(db.select(Callback).where(
        Callback.claimed_by_id == agent.id, Callback.status == CLAIMED)).unique().scalars().first()
