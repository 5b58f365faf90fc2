"""Registration (提前报备), acknowledgement, review and expiry of referrals (REG-1..REG-6).

Every change of a referral goes through `change_referral`, which writes the audit event.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from loyalty import clock, transitions
from loyalty.auth import access
from loyalty.directory import identity
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, Store, StorePolicy
from loyalty.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed, field_error
from loyalty.extensions import db
from loyalty.scoping import get_scoped, get_scoped_many
from verification.referrals.models import (
    EXPIRED,
    LIVE,
    REGISTERED,
    REJECTED,
    TRANSITIONS,
    UNDER_REVIEW,
    Referral,
    ReferrerFlag,
)

AUDIT_FIELDS = ("status", "store_id", "referrer_id", "referee_id", "registered_by_id", "registered_at",
                "acknowledged_at", "acknowledged_by_id", "review_required", "review_decision",
                "review_reason", "reviewed_by_id", "delivered_at", "delivery_checked_by_id",
                "delivery_checks", "reason", "reward_amount", "reward_unit", "reward_transfer_id")
SHOWROOM_MANAGERS = ("manager", "admin")
PHONE_REGION = "CN"  # the doors pass the app's DEFAULT_PHONE_REGION; this is what it defaults to


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "The referral is not in a state that allows this."


# ---- what registration asks of the delivery side ------------------------------

# Deliveries on record live in verification.delivery, which sits above referrals (it checks them);
# the composition root (loyalty/app.py) hands its lookup over here, so referrals import none of it.
def _no_delivery_lookup(customer_id: int, since) -> bool:
    raise RuntimeError("use_delivery_lookup() was not called: create_app wires it")


_delivered_within: Callable[[int, Any], bool] = _no_delivery_lookup


class _NoRisk:
    review = False

    def record(self, actor) -> None:
        pass


# Ring detection (verification.rings, above this layer) assesses a registration before it is written;
# the composition root hands it over: `assess(referral)` -> an object with `.review` and `.record(actor)`.
def _no_risk(referral: Referral) -> _NoRisk:
    return _NoRisk()


_assess_risk: Callable[[Referral], Any] = _no_risk  # nothing is watched until create_app wires it


def use_risk_assessment(assess: Callable[[Referral], Any]) -> None:
    global _assess_risk
    _assess_risk = assess


def use_delivery_lookup(delivered_within: Callable[[int, Any], bool]) -> None:
    """`delivered_within(customer_id, since)`: has the customer taken a delivery since then (REG-2)?"""
    global _delivered_within
    _delivered_within = delivered_within


# ---- the one place a referral changes -----------------------------------------

def change_referral(actor, referral: Referral, action: str, *, extra: dict[str, Any] | None = None,
                    **changes: Any) -> Referral:
    """Apply `changes` through the transition table and audit them; `extra` adds facts that are
    not columns of the referral (a reopening's reason) to the audit after-image."""
    return transitions.change(actor, referral, entity="referral", action=action, audit_fields=AUDIT_FIELDS,
                              transitions=TRANSITIONS, error=InvalidTransition, changes=changes,
                              extra_after=(lambda _r: extra) if extra else None)


def lock(referral_id: int, options=()) -> Referral:
    """The referral, row-locked for a state change (PostgreSQL; SQLite holds the write lock already);
    `options`: loader options of the read (models.for_a_verdict)."""
    return get_scoped(Referral, referral_id, None, what="referral", lock=True, options=options)


def get_referral(actor, referral_id: int, *, for_update: bool = False) -> Referral:
    """A referral `actor` may read: in his stores (SEC-2); a consultant only those he registered,
    as his list shows them (another consultant's is 404, like another store's)."""
    referral = get_scoped(Referral, referral_id, actor, what="referral", lock=for_update)
    if actor is not None and actor.role == "consultant" and referral.registered_by_id != actor.id:
        raise NotFound(code="referral_not_found")
    return referral


def _policy(store_id: int) -> StorePolicy:
    return db.session.get(StorePolicy, store_id)


# ---- registration ------------------------------------------------------------

def _claim_phone(raw: str, region: str) -> str:
    try:
        return identity.normalise_phone(raw, region)
    except identity.InvalidPhone:
        raise field_error("claim.referrer_phone", "Not a valid phone number.") from None


def _parties_in_scope(actor, referrer_id: int, referee_id: int) -> tuple[Customer, Customer]:
    """Both parties, in one statement, without their cars (a registration compares people); one
    that does not exist or is another store's is a field error, the referrer's first."""
    parties = get_scoped_many(Customer, (referrer_id, referee_id), actor, options=(lazyload(Customer.vehicles),))
    for found, field in zip(parties, ("referrer_id", "referee_id")):
        if found is None:
            raise ValidationFailed(code="customer_not_found", fields={field: ["No such customer."]})
    return parties[0], parties[1]


def _is_self_referral(referrer: Customer, referee: Customer, claim_phone: str) -> bool:
    if referrer.id == referee.id or referrer.phone == referee.phone or claim_phone == referee.phone:
        return True
    return bool(referrer.national_id_hash and referrer.national_id_hash == referee.national_id_hash)


def live_referral_of(referee_id: int) -> Referral | None:
    return db.session.execute(
        select(Referral).where(Referral.referee_id == referee_id, Referral.status.in_(LIVE))
    ).unique().scalar_one_or_none()


def live_conflict(existing: Referral) -> Conflict:
    return Conflict("This new customer already has a live referral.", code="referee_has_live_referral",
                    fields={"referee_id": [f"referral {existing.id}"], "referral_id": [str(existing.id)]})


def _live_and_review_reason(referrer: Customer, referee: Customer, policy: StorePolicy) -> tuple[int | None, str | None]:
    """The new customer's live referral (its id, or None: REG-3) and why a registration must go to a
    manager (REG-5, or None), in one round trip."""
    since = clock.now() - timedelta(days=policy.velocity_window_days)
    live, flagged, recent = db.session.execute(select(
        select(Referral.id).where(Referral.referee_id == referee.id, Referral.status.in_(LIVE)).scalar_subquery(),
        select(ReferrerFlag.id).where(ReferrerFlag.customer_id == referrer.id, ReferrerFlag.cleared_at.is_(None))
        .exists(),
        select(func.count(Referral.id)).where(Referral.referrer_id == referrer.id, Referral.registered_at >= since)
        .scalar_subquery())).one()
    if flagged:
        return live, "referrer_flagged"
    if recent >= policy.velocity_limit:
        return live, "velocity"
    return live, None


def register_referral(actor, *, store_id: int, referrer_id: int, referee_id: int,
                      claim: dict[str, str], phone_region: str = PHONE_REGION) -> Referral:
    """Record a referral before the sale (REG-1..REG-5). `registered_at` is server time; the claimed
    phone is read as a number of `phone_region` when it has no country code (DEFAULT_PHONE_REGION)."""
    store = db.session.get(Store, store_id, options=(joinedload(Store.policy),))  # _policy() reads it from the session
    if store is None:
        raise field_error("store_id", "No such store.")
    access.ensure_store(actor, store_id)
    referrer, referee = _parties_in_scope(actor, referrer_id, referee_id)
    claim_phone = _claim_phone(claim["referrer_phone"], phone_region)
    if _is_self_referral(referrer, referee, claim_phone):
        raise RuleViolation("A customer cannot refer themselves.", code="self_referral",
                            fields={"referee_id": ["Same person as the referrer."]})
    policy = _policy(store_id)
    now = clock.now()
    # a delivery on record in the window: seen by a check (whatever it decided), recorded by hand
    # or imported from the sales system (REG-2, REG-7); an older purchase does not block a new one
    if _delivered_within(referee.id, now - timedelta(days=policy.registration_window_days)):
        raise RuleViolation("The new customer's car has already been delivered: too late to register.",
                            code="late_claim", fields={"referee_id": ["Delivery already recorded."]})
    live, why_review = _live_and_review_reason(referrer, referee, policy)
    if live is not None:
        raise live_conflict(db.session.get(Referral, live))
    referral = Referral(
        store_id=store_id, referrer_id=referrer.id, referee_id=referee.id, registered_by_id=actor.id,
        status=UNDER_REVIEW if why_review else REGISTERED, review_required=why_review, registered_at=now,
        claim_referrer_name=claim["referrer_name"].strip(), claim_referrer_phone=claim_phone,
        claim_referrer_model=claim["referrer_model"].strip(),
        claim_referrer_colour=claim["referrer_colour"].strip())
    risk = _assess_risk(referral)
    if risk.review and not why_review:  # a ring risk above the store's score: REG-5's queue first
        referral.status, referral.review_required = UNDER_REVIEW, "ring_risk"
    try:
        with db.session.begin_nested():
            change_referral(actor, referral, "registered")
            risk.record(actor)
    except IntegrityError:
        # Another consultant registered this referee at the same instant: the
        # partial unique index refused ours; name theirs.
        existing = live_referral_of(referee.id)
        if existing is None:
            raise
        raise live_conflict(existing) from None
    return referral


def hold_for_review(actor, referral: Referral, reason: str) -> bool:
    """A registered referral found risky after its registration goes to REG-5's queue (the same
    `under_review` a registration would have gone to); one a manager already accepted for the same
    reason stays where it is. True when it moved."""
    if referral.status != REGISTERED or (referral.review_required == reason and referral.review_decision):
        return False
    change_referral(actor, referral, "held_for_review", status=UNDER_REVIEW, review_required=reason)
    return True


# ---- acknowledgement and review ----------------------------------------------

def _require_store_manager(actor, referral: Referral) -> None:
    if actor.role not in SHOWROOM_MANAGERS:
        raise Forbidden(code="role_forbidden")
    access.ensure_store(actor, referral.store_id, what="referral")


def acknowledge(actor, referral_id: int) -> Referral:
    """The duty manager (值班经理) confirms the registration was reported, at its own time (REG-1)."""
    referral = get_referral(actor, referral_id, for_update=True)
    _require_store_manager(actor, referral)
    if actor.id == referral.registered_by_id:
        raise Forbidden("You registered this referral; the duty manager acknowledges it.",
                        code="acknowledger_is_registrant")
    if referral.acknowledged_at is not None:
        raise Conflict("Already acknowledged.", code="already_acknowledged")
    if referral.status not in (REGISTERED, UNDER_REVIEW):
        raise InvalidTransition()
    return change_referral(actor, referral, "acknowledged", acknowledged_at=clock.now(), acknowledged_by_id=actor.id)


def review(actor, referral_id: int, *, decision: str, reason: str | None = None) -> Referral:
    """A manager accepts or rejects a referral held for review (REG-5)."""
    referral = get_referral(actor, referral_id, for_update=True)
    _require_store_manager(actor, referral)
    if referral.status != UNDER_REVIEW:
        raise InvalidTransition("Only referrals under review can be reviewed.")
    if actor.id == referral.registered_by_id:
        raise Forbidden("You registered this referral; another manager must review it.",
                        code="reviewer_is_registrant")
    reason = (reason or "").strip() or None
    if decision == "reject" and not reason:
        raise field_error("reason", "Give a reason for the rejection.")
    common = dict(reviewed_at=clock.now(), reviewed_by_id=actor.id, review_decision=decision,
                  review_reason=reason)
    if decision == "accept":
        return change_referral(actor, referral, "review_accepted", status=REGISTERED, **common)
    return change_referral(actor, referral, "review_rejected", status=REJECTED, reason="review_rejected",
                   reason_text=reason, closed_at=clock.now(), **common)


# ---- what managers read of a referral's verification --------------------------

def shows_verification(actor, referral: Referral) -> bool:
    """Managers and admins read how a referral was verified once it is decided; before the verdict
    nobody who can influence it sees the plan (CB-4)."""
    return actor is not None and actor.role in SHOWROOM_MANAGERS and referral.status not in LIVE


def visible_fact_changes(actor, referral: Referral) -> list | None:
    """Facts or vehicles changed while the referral was live (CB-10), for managers and admins."""
    if actor is None or actor.role not in SHOWROOM_MANAGERS:
        return None
    from verification.referrals.fact_watch import changes_of
    return changes_of(referral.id)


# ---- expiry (REG-6) ----------------------------------------------------------

def stale_referral_ids(limit: int = 200) -> list[int]:
    """Live referrals with no delivery check inside their store's window (the expiry job's items)."""
    now = clock.now()
    candidates = db.session.execute(
        select(Referral.id, Referral.registered_at, StorePolicy.registration_window_days)
        .join(StorePolicy, StorePolicy.store_id == Referral.store_id)
        .where(Referral.status.in_((REGISTERED, UNDER_REVIEW)))
        .order_by(Referral.registered_at).limit(limit * 5)).all()
    return [referral_id for referral_id, registered_at, window in candidates
            if registered_at + timedelta(days=window) <= now][:limit]


def expire_referral(referral_id: int) -> bool:
    """Expire one referral still live past its store's window (REG-6); False when it is not (any more).

    The row is locked (SKIP LOCKED) and re-read under the lock, so two scheduler processes never
    expire one twice."""
    referral = db.session.execute(
        select(Referral).where(Referral.id == referral_id, Referral.status.in_((REGISTERED, UNDER_REVIEW)))
        .with_for_update(skip_locked=True, of=Referral).execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()
    if referral is None:
        return False
    window = _policy(referral.store_id).registration_window_days
    now = clock.now()
    if referral.registered_at + timedelta(days=window) > now:
        return False
    change_referral(None, referral, "expired", status=EXPIRED, reason="expired", closed_at=now,
                    extra={"window_days": window})
    return True


def expire_stale(limit: int = 200) -> int:
    """Expire every stale referral in one go (the job does it one commit per referral)."""
    return sum(1 for referral_id in stale_referral_ids(limit) if expire_referral(referral_id))


def register_at_showroom(actor, *, store_id: int, referrer_phone: str, referrer_name: str,
                         referrer_model: str, referrer_colour: str, referee_name: str,
                         referee_phone: str, referee_gender: str | None = None,
                         phone_region: str = PHONE_REGION) -> Referral:
    """The registration page's flow: the old customer is found by the phone the new customer
    gave; the new customer is found by phone or created on the way; then `register_referral`."""
    referrer = directory.find_customer_by_phone(actor, referrer_phone, field="referrer_phone")
    if referrer is None:
        raise ValidationFailed("No old customer has this phone number.", code="referrer_not_found",
                               fields={"referrer_phone": ["No old customer has this phone number."]})
    referee = directory.find_customer_by_phone(actor, referee_phone, field="referee_phone")
    if referee is None:
        referee = directory.create_customer(actor, store_id=store_id, name=referee_name, phone=referee_phone,
                                            gender=referee_gender)
    claim = {"referrer_name": referrer_name, "referrer_phone": referrer_phone,
             "referrer_model": referrer_model, "referrer_colour": referrer_colour}
    return register_referral(actor, store_id=store_id, referrer_id=referrer.id, referee_id=referee.id,
                             claim=claim, phone_region=phone_region)
