"""The agent's queue: claiming the next callback due, holding it, the script, leases that run out."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from loyalty import clock
from loyalty.directory.models import Customer
from loyalty.errors import Conflict
from loyalty.extensions import db
from loyalty.scoping import get_scoped, in_stores
from verification.callbacks import planning
from verification.callbacks.models import ANSWERED, CLAIMED, PLANNED, Callback
from verification.callbacks.operations import change_callback, locked
from verification.callbacks.plans import facts_of

LEASE_MINUTES = 15  # how long an agent holds a claimed callback (claim_next's default)


def _in_scope(query, actor):
    return in_stores(query, actor, Callback.store_id)


def claim_next(agent, *, lease_minutes: int = LEASE_MINUTES) -> Callback | None:
    """Hand the earliest due callback in the agent's scope to this agent only (SKIP LOCKED),
    held for `lease_minutes`."""
    now = clock.now()
    held = db.session.execute(_in_scope(select(Callback).where(
        Callback.status == CLAIMED, Callback.claimed_by_id == agent.id, Callback.lease_until > now), agent)
    ).unique().scalars().first()
    if held is not None:
        return held
    query = _in_scope(select(Callback).where(
        Callback.due_at <= now,
        or_(Callback.status == PLANNED, and_(Callback.status == CLAIMED, Callback.lease_until <= now))), agent)
    callback = db.session.execute(
        query.order_by(Callback.due_at, Callback.id).limit(1).with_for_update(skip_locked=True, of=Callback)
    ).unique().scalars().first()
    if callback is None:
        return None
    return change_callback(agent, callback, "claimed", status=CLAIMED, claimed_by_id=agent.id,
                           lease_until=now + timedelta(minutes=lease_minutes))


def held_callback(agent, callback_id: int) -> Callback:
    callback = get_scoped(Callback, callback_id, agent, what="callback", lock=True)
    if callback.status == ANSWERED and callback.claimed_by_id == agent.id:  # e.g. the page opened again
        raise Conflict("You recorded this call's answers already.", code="callback_answered")
    if callback.status != CLAIMED or callback.claimed_by_id != agent.id:
        raise Conflict("This callback is not held by you.", code="callback_not_held")
    if callback.lease_until <= clock.now():
        raise Conflict("Your hold on this callback expired; claim it again.", code="lease_expired")
    return callback


def script(callback: Callback, lang: str = "zh") -> dict:
    """What the agent reads: the greeting and the questions. No answer key, no trap marks (CB-5)."""
    _load_parties(callback)
    callee, subject = facts_of(callback.callee), facts_of(callback.subject)
    text = "text_zh" if lang == "zh" else "text_en"
    return {"greeting": planning.greeting(callback.party, callee, subject, lang=lang),
            "questions": [{"id": q["key"], "text": q[text],
                           # how the agent records it; says nothing of trap or truth
                           "input": "text" if q["kind"] == "open" else "yes_no"} for q in callback.questions]}


def _load_parties(callback: Callback) -> None:
    """The callee and the subject with their cars in one statement (a lazy load each was four),
    set on the callback as loaded (no change to flush)."""
    wanted = {name: getattr(callback, f"{name}_id") for name in ("callee", "subject")
              if name not in inspect(callback).dict}
    if not wanted:
        return
    found = {c.id: c for c in db.session.scalars(select(Customer).options(joinedload(Customer.vehicles))
                                                 .where(Customer.id.in_(set(wanted.values())))).unique()}
    for name, customer_id in wanted.items():
        if customer_id in found:
            set_committed_value(callback, name, found[customer_id])


def expired_lease_ids(limit: int = 1000) -> list[int]:
    """Claimed callbacks whose agent's hold ran out (the lease job's items)."""
    return list(db.session.execute(select(Callback.id).where(Callback.status == CLAIMED,
                                                             Callback.lease_until <= clock.now())
                                   .order_by(Callback.id).limit(limit)).scalars())


def release_lease(callback_id: int) -> bool:
    """A callback whose agent walked away goes back to the queue; False when it is no longer held
    on an expired lease (answered, or claimed again meanwhile)."""
    callback = locked(Callback.id == callback_id, Callback.status == CLAIMED, Callback.lease_until <= clock.now())
    if callback is None:
        return False
    change_callback(None, callback, "lease_released", status=PLANNED, claimed_by_id=None, lease_until=None)
    return True


def release_expired_leases() -> int:
    """Release every expired lease in one go (the job does it one commit per callback)."""
    return sum(1 for callback_id in expired_lease_ids() if release_lease(callback_id))
