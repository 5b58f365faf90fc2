"""The delivery check (提车核对): the claim and the referrer's record against the licence
(DEL-1, DEL-2, DEL-3), with the referee's delivery kept on record whatever it decides (REG-7).

- A decided check records the referee's delivery (time, vehicle, VIN): a match, a licence
  mismatch and a late claim alike. A match then reserves the reward as a pending ledger
  transfer and plans the callback (`awaiting_callback`); a rejection closes the referral.
- A delivery already on record for the referee (imported from the sales system, recorded by
  hand, or seen by an earlier check of this referral) supplies the delivery time and vehicle.
  A typed time must fall on the same local calendar day (the store's timezone) as the time on
  record, else it is refused on `delivered_at`: a check cannot move a delivery to another day.
  The time on record wins within that day; a record that gives only the day takes the typed
  time. Typed vehicle facts must agree with the vehicle on record.
- The result is the claim, the licence and the record side by side, per field, stored with the
  referral (a `CheckRecord`) for replay. A model given only as a licence model code cannot be
  decided (`unreadable`): nothing is decided until the manager adds its common name.
- `preview_delivery` shows that result without deciding (it only audits that the record was
  viewed); the page decides a match at once and shows a rejection for confirmation first.
- A rejection by the check can be reopened once, by a manager who neither checked it nor
  registered the referral, with a reason; the referral is `registered` again (acknowledgement
  kept). The manager who reopened it may not be the one who checks it again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent
from loyalty.auth.access import can_see_full_phone
from loyalty.errors import Conflict, DomainError, Forbidden, ValidationFailed, field_error
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from verification.callbacks import service as callbacks
from verification.delivery import compare as cmp
from verification.delivery import records
from verification.delivery.models import FROM_CHECK, CheckRecord, Delivery
from verification.referrals import service as referrals
from verification.referrals.models import AWAITING_CALLBACK, REGISTERED, REJECTED, Referral

CHECK_REJECTIONS = (cmp.LICENCE_MISMATCH, cmp.LATE_CLAIM)
CHECK_FIELDS = ("referral_id", "delivery_id", "checked_by_id", "checked_at", "outcome", "delivered_at",
                "licence", "checks", "comparison")


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


PREVIEW_LIMIT = 3  # differing licences one manager may be shown per referral (differing_previews)


@dataclass
class CheckResult:
    """An assessed delivery check: decided, or shown for confirmation (a preview)."""
    referral: Referral
    outcome: str                  # passed | licence_mismatch | late_claim | unreadable
    checks: dict[str, str]
    comparison: dict[str, dict]   # as the viewer may read it
    delivered_at: datetime
    delivery: Delivery | None     # the delivery on record it used (or recorded when decided)
    from_record: bool             # time and vehicle came from a delivery on record
    decided: bool = False
    record: CheckRecord | None = None
    messages: list[str] = field(default_factory=list)
    typed_vehicle: dict | None = field(default=None, repr=False)  # recorded when none is on record

    @property
    def id(self) -> int:
        return self.referral.id

    @property
    def status(self) -> str:
        return self.referral.status

    @property
    def reason(self) -> str | None:
        return self.referral.reason if self.decided else None

    @property
    def rejects(self) -> bool:
        return self.outcome in CHECK_REJECTIONS


@dataclass
class _Delivery:
    delivered_at: datetime
    on_record: Delivery | None
    vehicle: dict | None


# ---- who may check, and which delivery ------------------------------------------------

def latest_check(referral_id: int) -> CheckRecord | None:
    return db.session.execute(select(CheckRecord).where(CheckRecord.referral_id == referral_id)
                              .order_by(CheckRecord.id.desc()).limit(1)).unique().scalar_one_or_none()


def _reopened(referral_id: int) -> CheckRecord | None:
    return db.session.execute(select(CheckRecord).where(CheckRecord.referral_id == referral_id,
                                                        CheckRecord.reopened_at.is_not(None))
                              .order_by(CheckRecord.id.desc()).limit(1)).unique().scalar_one_or_none()


def _check_refusal(actor, referral: Referral) -> DomainError | None:
    """Why `actor` may not check this referral's delivery now, or None (DEL-1, REG-1)."""
    if actor is None or actor.role not in referrals.SHOWROOM_MANAGERS:
        return Forbidden(code="role_forbidden")
    if actor.id == referral.registered_by_id:
        return Forbidden("You registered this referral; another manager must check the delivery.",
                         code="checker_is_registrant")
    if referral.status != REGISTERED:
        return referrals.InvalidTransition("Only a registered, reviewed referral can be checked.")
    if referral.acknowledged_at is None:
        return referrals.InvalidTransition("The duty manager has not acknowledged this referral yet.",
                                           code="not_acknowledged")
    reopened = _reopened(referral.id)
    if reopened is not None and reopened.reopened_by_id == actor.id:
        return Forbidden(N_("You reopened this check; another manager must check the delivery again."),
                         code="checker_is_reopener")
    if differing_previews(actor.id, referral.id) >= PREVIEW_LIMIT:
        return Forbidden(N_("The licence you entered differed from the record three times; another manager must "
                            "check this delivery."), code="check_attempts_used")
    return None


def differing_previews(actor_id: int, referral_id: int) -> int:
    """How often `actor_id` was shown this referral's check differing from the record and did not
    confirm it: an honest checker corrects a typo once or twice; trying value after value (the
    colour, the plate) until the check passes is guessing the record, so after PREVIEW_LIMIT he
    may not check it at all (neither pass nor reject it): another manager does."""
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "referral", AuditEvent.entity_id == str(referral_id),
        AuditEvent.action == "delivery_check_viewed", AuditEvent.actor_id == actor_id)).scalar_one()


def _checkable(actor, referral_id: int, *, for_update: bool) -> Referral:
    referral = referrals.get_referral(actor, referral_id, for_update=for_update)
    refusal = _check_refusal(actor, referral)
    if refusal is not None:
        raise refusal
    return referral


def can_check(actor, referral: Referral) -> bool:
    """For pages: whether to offer the delivery check."""
    return _check_refusal(actor, referral) is None


def sees_record_values(actor) -> bool:
    """Outside a check's own confirmation and result, only admins read the record values it
    compared (the referrer's name and vehicle on record): SEC-5."""
    return actor is not None and actor.role == "admin"


def start_check(actor, referral_id: int) -> tuple[Referral, Delivery | None]:
    """The check page before anything is entered: refused to whoever may not check this
    referral; the referee's delivery on record, if any (it supplies the time and the car)."""
    referral = _checkable(actor, referral_id, for_update=False)
    return referral, delivery_on_record(referral)


def delivery_on_record(referral: Referral) -> Delivery | None:
    """The referee's delivery on record that a check of this referral is about: the latest one
    from the start of the registration window before registration up to now (an older
    purchase is another sale)."""
    window = referral.store.policy.registration_window_days
    return records.on_record_for(referral.referee_id, records.window_start(referral.registered_at, window),
                                 clock.now())


def local_day(instant: datetime, zone: str):
    return instant.astimezone(ZoneInfo(zone)).date()


def _resolve_delivery(referral: Referral, delivered_at: datetime | None, vehicle: dict | None) -> _Delivery:
    """The delivery the check is about: the one on record, else the one typed (see module doc)."""
    on_record = delivery_on_record(referral)
    errors: dict[str, list[str]] = {}
    zone = referral.store.timezone
    if on_record is not None:
        for name in records.vehicle_differences(on_record.vehicle, vehicle or {}):
            errors[name] = [N_("Differs from the delivery on record.")]
        if delivered_at is not None and local_day(delivered_at, zone) != local_day(on_record.delivered_at, zone):
            errors["delivered_at"] = [N_("The delivery on record is on another day.")]
        elif delivered_at is None and not on_record.time_known:
            errors["delivered_at"] = [N_("The delivery on record gives only the day: enter the time.")]
        when = on_record.delivered_at if on_record.time_known else delivered_at
    else:
        if delivered_at is None:
            errors["delivered_at"] = [N_("Required: no delivery is on record for this customer.")]
        if not vehicle:
            errors["vehicle"] = [N_("Required: no delivery is on record for this customer.")]
        for key in ("model", "colour", "transmission"):
            if vehicle and not vehicle.get(key):
                errors[f"vehicle.{key}"] = [N_("Required.")]
        when = delivered_at
    if when is not None and when > clock.now() and "delivered_at" not in errors:
        errors["delivered_at"] = [N_("The delivery cannot be in the future.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return _Delivery(delivered_at=when, on_record=on_record, vehicle=None if on_record else vehicle)


def _claim(referral: Referral) -> dict:
    return {"referrer_name": referral.claim_referrer_name, "referrer_phone": referral.claim_referrer_phone,
            "referrer_model": referral.claim_referrer_model, "referrer_colour": referral.claim_referrer_colour}


def _assess(actor, referral_id: int, *, delivered_at: datetime | None, vehicle: dict | None, licence: dict,
            for_update: bool) -> tuple[CheckResult, dict]:
    """Everything a check decides on, nothing written. Returns the result (as the actor may read
    it) and the full comparison to store."""
    referral = _checkable(actor, referral_id, for_update=for_update)
    found = _resolve_delivery(referral, delivered_at, vehicle)
    comparison = cmp.compare(_claim(referral), referral.referrer, licence)
    checks = cmp.results(comparison)
    outcome = cmp.LATE_CLAIM if found.delivered_at < referral.registered_at else cmp.verdict(checks)
    messages = []
    if comparison["model"].get("note") == "code_only":
        messages.append(N_("The licence gives only a model code. Add the common name seen on the car in "
                           "brackets, e.g. 大众汽车牌SVW7141BRD(速腾)."))
    result = CheckResult(referral=referral, outcome=outcome, checks=checks,
                         comparison=cmp.shown_to(comparison, can_see_full_phone(actor), sees_record_values(actor)),
                         delivered_at=found.delivered_at, delivery=found.on_record,
                         from_record=found.on_record is not None, messages=messages, typed_vehicle=found.vehicle)
    return result, comparison


# ---- the three ways in ------------------------------------------------------------------

def preview_delivery(actor, referral_id: int, *, licence: dict, delivered_at: datetime | None = None,
                     vehicle: dict | None = None) -> CheckResult:
    """The side-by-side result without deciding. Only an audit event is written: the checking
    manager has now seen the record values (SEC-5)."""
    result, _ = _assess(actor, referral_id, delivered_at=delivered_at, vehicle=vehicle, licence=licence,
                        for_update=False)
    audit.record(actor, "referral", referral_id, "delivery_check_viewed", None,
                 {"outcome": result.outcome, "checks": result.checks})
    return result


def check_delivery(actor, referral_id: int, *, licence: dict, delivered_at: datetime | None = None,
                   vehicle: dict | None = None) -> CheckResult:
    """Decide at once (the API): a match reserves and plans the callback; a mismatch or a late
    claim rejects. A model that cannot be read is a 422 and decides nothing."""
    result, comparison = _assess(actor, referral_id, delivered_at=delivered_at, vehicle=vehicle, licence=licence,
                                 for_update=True)
    return _decide(actor, result, comparison, licence)


def review_delivery(actor, referral_id: int, *, licence: dict, confirmed: bool, delivered_at: datetime | None = None,
                    vehicle: dict | None = None) -> CheckResult:
    """The page: a match is decided at once; a rejection only when `confirmed`, else it comes
    back undecided for the manager to confirm or correct (and the viewing is audited)."""
    result, comparison = _assess(actor, referral_id, delivered_at=delivered_at, vehicle=vehicle, licence=licence,
                                 for_update=True)
    if result.outcome == cmp.PASSED or confirmed:
        return _decide(actor, result, comparison, licence)  # a model it cannot read is refused there
    audit.record(actor, "referral", referral_id, "delivery_check_viewed", None,
                 {"outcome": result.outcome, "checks": result.checks})
    return result


# ---- deciding ---------------------------------------------------------------------------

def _unreadable() -> DomainError:
    return ValidationFailed(N_("The licence model cannot be compared: add its common name."),
                            code="licence_model_unreadable", fields={"licence.model": [N_(
                                "The licence gives only a model code. Add the common name seen on the car in "
                                "brackets, e.g. 大众汽车牌SVW7141BRD(速腾).")]})


def _the_delivery(actor, result: CheckResult) -> Delivery:
    referral = result.referral
    if result.delivery is not None:
        records.link_to_referral(actor, result.delivery, referral.id)
        return result.delivery
    delivery, _created = records.record_delivery(
        actor, store_id=referral.store_id, customer=referral.referee, delivered_at=result.delivered_at,
        vehicle=result.typed_vehicle, source=FROM_CHECK, referral_id=referral.id)
    if delivery.referral_id is None:
        records.link_to_referral(actor, delivery, referral.id)
    return delivery


def _decide(actor, result: CheckResult, comparison: dict, licence: dict) -> CheckResult:
    if result.outcome == cmp.UNDECIDABLE:
        raise _unreadable()
    referral = result.referral
    now = clock.now()
    delivery = _the_delivery(actor, result)
    record = CheckRecord(referral_id=referral.id, delivery_id=delivery.id, checked_by_id=actor.id, checked_at=now,
                         outcome=result.outcome, delivered_at=result.delivered_at, licence=dict(licence),
                         checks=result.checks, comparison=comparison)
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "delivery_check", record.id, "decided", None, audit.snapshot(record, CHECK_FIELDS))
    common = dict(delivered_at=result.delivered_at, delivery_checked_at=now, delivery_checked_by_id=actor.id,
                  delivery_checks=result.checks)
    if result.outcome == cmp.LATE_CLAIM:
        referrals.change_referral(actor, referral, "delivery_rejected", status=REJECTED, reason="late_claim",
                                  reason_text="Delivered before the referral was registered.", closed_at=now,
                                  **common)
    elif result.outcome == cmp.LICENCE_MISMATCH:
        referrals.change_referral(actor, referral, "delivery_rejected", status=REJECTED,
                                  reason="licence_mismatch", reason_text=None, closed_at=now, **common)
    else:
        transfer = reserve_reward(actor, referral)
        referrals.change_referral(actor, referral, "delivery_matched", status=AWAITING_CALLBACK,
                                  delivered_vehicle_id=delivery.vehicle_id, reward_amount=transfer.amount,
                                  reward_unit=transfer.unit, reward_transfer_id=transfer.id, **common)
        callbacks.plan_callback(actor, referral)
    result.decided, result.record, result.delivery = True, record, delivery
    return result


def reserve_reward(actor, referral: Referral):
    """Pending transfer: the store's referral expense -> the referrer's reward payable (or points)."""
    policy = referral.store.policy
    unit = policy.reward_unit
    purpose = "reward_payable" if unit == "CNY" else "points_reserved"
    expense, payable = ledger.accounts_for((f"store:{referral.store_id}", "referral_expense", unit),
                                           (f"customer:{referral.referrer_id}", purpose, unit))
    return ledger.transfer(debit=expense, credit=payable, amount=policy.reward_amount, unit=unit,
                           reason=f"推荐奖励预留 referral {referral.id}", subject=f"referral:{referral.id}",
                           key=f"referral:{referral.id}:reserve", pending=True, actor=actor)


# ---- reopening a rejection (once) ----------------------------------------------------------

def _reopen_refusal(actor, referral: Referral, last: CheckRecord | None) -> DomainError | None:
    """Why `actor` may not reopen this referral's rejection, or None."""
    if actor is None or actor.role not in referrals.SHOWROOM_MANAGERS:
        return Forbidden(code="role_forbidden")
    if referral.status != REJECTED or referral.reason not in CHECK_REJECTIONS or last is None \
            or last.outcome not in CHECK_REJECTIONS:
        return referrals.InvalidTransition(N_("Only a rejection by the delivery check can be reopened."),
                                           code="not_reopenable")
    if _reopened(referral.id) is not None:
        return Conflict(N_("This delivery check was reopened once already."), code="already_reopened")
    if actor.id == last.checked_by_id:
        return Forbidden(N_("You checked this delivery; another manager must reopen it."),
                         code="reopener_is_checker")
    if actor.id == referral.registered_by_id:
        return Forbidden(N_("You registered this referral; another manager must reopen it."),
                         code="reopener_is_registrant")
    return None


def can_reopen(actor, referral: Referral) -> bool:
    """For pages: whether to offer the reopen button."""
    return _reopen_refusal(actor, referral, latest_check(referral.id)) is None


def reopen(actor, referral_id: int, *, reason: str) -> Referral:
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", N_("Say why the check is reopened."))
    referral = referrals.get_referral(actor, referral_id, for_update=True)
    last = latest_check(referral.id)
    refusal = _reopen_refusal(actor, referral, last)
    if refusal is not None:
        raise refusal
    live = referrals.live_referral_of(referral.referee_id)
    if live is not None:
        raise referrals.live_conflict(live)
    now = clock.now()
    last.reopened_at, last.reopened_by_id, last.reopen_reason = now, actor.id, reason[:500]
    db.session.flush()
    audit.record(actor, "delivery_check", last.id, "reopened", {"reopened_at": None},
                 {"reopened_at": now, "reopened_by_id": actor.id, "reopen_reason": last.reopen_reason})
    return referrals.change_referral(
        actor, referral, "reopened", extra={"reopen_reason": last.reopen_reason, "check_record_id": last.id},
        status=REGISTERED, reason=None, reason_text=None, closed_at=None, delivered_at=None,
        delivery_checked_at=None, delivery_checked_by_id=None, delivery_checks=None)
