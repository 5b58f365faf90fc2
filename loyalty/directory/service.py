"""Stores, policies, staff, customers and vehicles: the rules for changing them."""
from __future__ import annotations

import re
from typing import Any, Callable
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, lazyload

from loyalty.audit import service as audit
from loyalty.auth import access
from loyalty.auth.passwords import check_new_password, hash_password
from loyalty.directory import identity, search, staff_identity
from loyalty.directory.models import (
    DESKS,
    FACTS,
    POLICY_FIELDS,
    ROLES,
    Customer,
    FactVersion,
    Staff,
    Store,
    StorePolicy,
    Vehicle,
)
from loyalty.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from loyalty.extensions import db
from loyalty.paging import Page
from loyalty.scoping import get_scoped, in_stores
from loyalty.settings import settings
from loyalty.text import visible_text

STORE_FIELDS = ("code", "name", "timezone", "active")
STAFF_FIELDS = ("username", "display_name", "role", "store_id", "active", "phone", "national_id_last4")
CUSTOMER_FIELDS = ("store_id", "name", "gender", "phone", "national_id_last4",
                   "employer", "home_district", "business", "occupation")
VEHICLE_FIELDS = ("customer_id", "model", "colour", "transmission", "plate", "vin", "recorded_by_id", "desk")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


def _require_admin(actor) -> None:
    if actor is not None and actor.role != "admin":
        raise Forbidden(code="role_forbidden")


def _check_timezone(tz: str) -> str:
    if tz not in available_timezones():
        raise field_error("timezone", "Unknown time zone.")
    ZoneInfo(tz)
    return tz


# ---- stores and policies ----------------------------------------------------

def create_store(actor, *, code: str, name: str, timezone: str = "Asia/Shanghai") -> Store:
    _require_admin(actor)
    code, name = visible_text(code, "code"), visible_text(name, "name")
    if db.session.execute(select(Store.id).where(Store.code == code)).first():
        raise Conflict("A store with this code exists.", code="store_code_taken",
                       fields={"code": ["Already used."]})
    store = Store(code=code, name=name, timezone=_check_timezone(timezone))
    store.policy = StorePolicy()
    db.session.add(store)
    db.session.flush()
    audit.record(actor, "store", store.id, "created", None, audit.snapshot(store, STORE_FIELDS))
    audit.record(actor, "store_policy", store.id, "created", None, audit.snapshot(store.policy, POLICY_FIELDS))
    return store


def list_stores(actor) -> list[Store]:
    query = in_stores(select(Store).order_by(Store.code), actor, Store.id)
    return list(db.session.execute(query).scalars().unique())


def get_store(actor, store_id: int) -> Store:
    store = db.session.get(Store, store_id)
    if store is None:
        raise NotFound(code="store_not_found")
    access.ensure_store(actor, store.id)
    return store


def update_store(actor, store_id: int, changes: dict[str, Any]) -> Store:
    _require_admin(actor)
    store = get_store(actor, store_id)
    before = audit.snapshot(store, STORE_FIELDS)
    changes = {**changes, **{k: visible_text(changes[k], k) for k in ("code", "name") if k in changes}}
    if "timezone" in changes:
        _check_timezone(changes["timezone"])
    if "code" in changes and changes["code"] != store.code and db.session.execute(
            select(Store.id).where(Store.code == changes["code"])).first():
        raise Conflict(code="store_code_taken", fields={"code": ["Already used."]})
    for key in ("code", "name", "timezone", "active"):
        if key in changes:
            setattr(store, key, changes[key])
    db.session.flush()
    audit.record(actor, "store", store.id, "updated", before, audit.snapshot(store, STORE_FIELDS))
    return store


def set_policy(actor, store_id: int, changes: dict[str, Any]) -> StorePolicy:
    """Partial update of a store's policy; the result as a whole must hold together."""
    _require_admin(actor)
    store = get_store(actor, store_id)
    policy = store.policy
    before = audit.snapshot(policy, POLICY_FIELDS)
    merged = {**before, **{k: v for k, v in changes.items() if k in POLICY_FIELDS}}
    errors: dict[str, list[str]] = {}
    for key in ("calling_hours_start", "calling_hours_end"):
        if not _HHMM.match(str(merged[key])):
            errors.setdefault(key, []).append("Use HH:MM, 00:00 to 23:59.")
    if not errors and merged["calling_hours_start"] >= merged["calling_hours_end"]:
        errors.setdefault("calling_hours_end", []).append("Must be after the start of calling hours.")
    if merged["callback_delay_min_hours"] > merged["callback_delay_max_hours"]:
        errors.setdefault("callback_delay_max_hours", []).append("Must not be less than the minimum.")
    if merged["reward_unit"] not in ("CNY", "PTS"):
        errors.setdefault("reward_unit", []).append("Must be CNY or PTS.")
    positive = ("reward_amount", "fen_per_point", "callback_attempts", "velocity_limit",
                "velocity_window_days", "registration_window_days", "points_expiry_months",
                "two_approver_threshold")
    for key in positive:
        if int(merged[key]) <= 0:
            errors.setdefault(key, []).append("Must be greater than 0.")
    for key in ("callback_delay_min_hours", "consultant_penalty", "clawback_window_days"):
        if int(merged[key]) < 0:
            errors.setdefault(key, []).append("Must not be negative.")
    if not 1 <= int(merged["insider_pass_limit_bp"]) <= 10000:
        errors.setdefault("insider_pass_limit_bp", []).append("Between 1 and 10000 basis points (0.01 % to 100 %).")
    if errors:
        raise ValidationFailed(fields=errors)
    for key, value in merged.items():
        setattr(policy, key, value)
    db.session.flush()
    audit.record(actor, "store_policy", store.id, "updated", before, audit.snapshot(policy, POLICY_FIELDS))
    return policy


# ---- staff ------------------------------------------------------------------

def _check_password(password: str, username: str) -> None:
    check_new_password(password, username=username)  # length, common passwords, the username (ASVS 6.2)


def create_staff(actor, *, username: str, display_name: str, role: str,
                 store_id: int | None, password: str, phone: str | None = None,
                 national_id: str | None = None) -> Staff:
    _require_admin(actor)
    username = username.strip()
    if not _USERNAME.match(username):  # here, not only in the API schema: the CLI and pages call this too
        raise field_error("username", "3–64 letters, digits, _ . or -.")
    display_name = visible_text(display_name, "display_name")
    if role not in ROLES:
        raise field_error("role", "Unknown role.")
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise field_error("store_id", "No such store.")
    _check_password(password, username)
    if db.session.execute(select(Staff.id).where(func.lower(Staff.username) == username.lower())).first():
        raise Conflict("This username is taken.", code="username_taken", fields={"username": ["Already used."]})
    staff = Staff(username=username, display_name=display_name, role=role,
                  store_id=store_id, password_hash=hash_password(password),
                  **staff_identity.columns(phone, national_id))
    db.session.add(staff)
    db.session.flush()
    audit.record(actor, "staff", staff.id, "created", None, audit.snapshot(staff, STAFF_FIELDS))
    return staff


def list_staff(actor) -> list[Staff]:
    query = in_stores(select(Staff).order_by(Staff.username), actor, Staff.store_id)
    return list(db.session.execute(query).scalars().unique())


def update_staff(actor, staff_id: int, changes: dict[str, Any]) -> Staff:
    """Rename, move, change role, disable (kills tokens and sessions) or reset a password."""
    _require_admin(actor)
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(code="staff_not_found")
    if actor is not None and staff.id == actor.id and changes.get("active") is False:
        raise field_error("active", "You cannot disable yourself.")
    before = audit.snapshot(staff, STAFF_FIELDS)
    if "display_name" in changes:
        changes = {**changes, "display_name": visible_text(changes["display_name"], "display_name")}
    if "role" in changes and changes["role"] not in ROLES:
        raise field_error("role", "Unknown role.")
    if changes.get("store_id") is not None and db.session.get(Store, changes["store_id"]) is None:
        raise field_error("store_id", "No such store.")
    known = {k: v for k, v in changes.items() if k in ("display_name", "role", "store_id", "active")}
    for key, value in {**known, **staff_identity.columns(changes.get("phone"), changes.get("national_id"))}.items():
        setattr(staff, key, value)
    action = "updated"
    if changes.get("password"):
        _check_password(changes["password"], staff.username)
        staff.password_hash = hash_password(changes["password"])
        action = "updated+password_reset"
    if changes.get("password") or changes.get("active") is False:
        _revoke_tokens(staff)  # a reset or a disabled account must not leave API tokens alive
    db.session.flush()
    audit.record(actor, "staff", staff.id, action, before, audit.snapshot(staff, STAFF_FIELDS))
    return staff


def _revoke_tokens(staff: Staff) -> None:
    from loyalty import clock
    from loyalty.auth.models import ApiToken
    db.session.execute(update(ApiToken).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


# ---- customers and vehicles ---------------------------------------------------

def _phone(raw: str, field: str = "phone") -> str:
    try:
        return identity.normalise_phone(raw, settings.phone_region, mobile=True)  # customers have mobiles
    except identity.InvalidPhone:
        raise field_error(field, "Not a valid phone number.") from None


def find_customer_by_phone(actor, raw_phone: str, *, field: str = "phone") -> Customer | None:
    """The customer with this mobile; a phone that is not a mobile is a field error on `field`."""
    phone = _phone(raw_phone, field)
    customer = db.session.execute(select(Customer).where(Customer.phone == phone)).scalar_one_or_none()
    if customer is None:
        return None
    access.ensure_store(actor, customer.store_id, what="customer")
    return customer


def create_customer(actor, *, store_id: int, name: str, phone: str, national_id: str | None = None,
                    gender: str | None = None, employer: str | None = None,
                    home_district: str | None = None, business: str | None = None,
                    occupation: str | None = None, desk: str | None = None,
                    source: str | None = None) -> Customer:
    access.ensure_store(actor, store_id)  # first, so store-bound staff cannot probe other store ids
    if db.session.get(Store, store_id) is None:
        raise field_error("store_id", "No such store.")
    name = visible_text(name, "name")
    e164 = _phone(phone)
    existing = db.session.execute(select(Customer.id).where(Customer.phone == e164)).scalar_one_or_none()
    if existing is not None:
        raise Conflict("A customer with this phone exists.", code="phone_taken",
                       fields={"phone": ["Already registered."]})
    id_hash = id_last4 = None
    if national_id:
        try:
            normalised = identity.normalise_national_id(national_id)
        except identity.InvalidNationalId:
            raise field_error("national_id", "Not a valid national ID number.") from None
        id_hash = identity.national_id_hash(normalised, settings.pii_key())
        id_last4 = normalised[-4:]
    customer = Customer(store_id=store_id, name=name.strip(), phone=e164, gender=gender,
                        national_id_hash=id_hash, national_id_last4=id_last4)
    db.session.add(customer)
    db.session.flush()
    given = {"employer": employer, "home_district": home_district, "business": business, "occupation": occupation}
    _record_facts(actor, customer, given, desk=desk or desk_of(actor), source=source)
    audit.record(actor, "customer", customer.id, "created", None, audit.snapshot(customer, CUSTOMER_FIELDS))
    return customer


# ---- verification facts and their provenance (CB-10) ------------------------------

FactListener = Callable[..., None]
_fact_listeners: list[FactListener] = []


def on_fact_recorded(listener: FactListener) -> None:
    """Register `listener(actor, customer_id, fact, desk, source)`, called after a verification fact
    or a vehicle of a customer is recorded (the composition root wires verification here)."""
    if listener not in _fact_listeners:
        _fact_listeners.append(listener)


def desk_of(actor) -> str:
    """The desk a value was recorded from: the showroom, the service desk, an admin's correction, or
    an import when no staff member acted (CLI, demo data, DMS files)."""
    if actor is None:
        return "import"
    return {"admin": "admin", "service": "service"}.get(actor.role, "sales")


def _record_facts(actor, customer: Customer, given: dict[str, str | None], *, desk: str,
                  source: str | None = None) -> list[str]:
    """Append a version for each fact whose value changes; the customer's column keeps the newest."""
    if desk not in DESKS:
        raise ValueError(f"unknown desk {desk!r}")
    changed, written = [], [fact for fact in given if fact in FACTS]
    for fact in written:
        value = _clean(given[fact])
        if value == getattr(customer, fact):
            continue
        db.session.add(FactVersion(customer_id=customer.id, fact=fact, value=value, desk=desk,
                                   recorded_by_id=actor.id if actor is not None else None))
        setattr(customer, fact, value)
        changed.append(fact)
    db.session.flush()
    # Listeners hear every fact written, changed or not: a flag raised only on a change would tell
    # whoever types a guess whether it was the value on record (an oracle on the answer key).
    for fact in written:
        if fact in changed or _clean(given[fact]) is not None:
            _notify(actor, customer.id, fact, desk, source)
    return changed


def _notify(actor, customer_id: int, fact: str, desk: str, source: str | None) -> None:
    for listener in _fact_listeners:
        listener(actor, customer_id, fact, desk, source)


def visible_fact_history(actor, customer: Customer) -> list[FactVersion] | None:
    """The history of the customer's facts where the viewer may read it (admins), else None."""
    if actor is None or actor.role != "admin":
        return None
    return fact_history(actor, customer.id)["facts"]


def fact_history(actor, customer_id: int) -> dict[str, list]:
    """Every recorded value of the customer's verification facts and vehicles, oldest first (admins)."""
    _require_admin(actor)
    customer = get_customer(actor, customer_id)
    versions = db.session.execute(select(FactVersion).where(FactVersion.customer_id == customer.id)
                                  .order_by(FactVersion.recorded_at, FactVersion.id)).unique().scalars().all()
    return {"facts": list(versions), "vehicles": list(customer.vehicles)}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def get_customer(actor, customer_id: int, *, vehicles: bool = True) -> Customer:
    """The customer if `actor` may see him, with his cars in the same statement (a join: the
    relationship's own select-in load would be a second round trip and half the read's CPU);
    `vehicles=False` leaves them unread until used (a registration compares people, not cars)."""
    return get_scoped(Customer, customer_id, actor, what="customer",
                      options=(joinedload(Customer.vehicles),) if vehicles else (lazyload(Customer.vehicles),))


def list_customers(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Customer], int]:
    return search.customer_list(actor, page=page, per_page=per_page, **filters)


def customer_page(actor, *, cursor: str | None = None, per_page: int = 25, **filters) -> Page:
    """The customer search (客户查询), keyset-paged by id with a bounded count (loyalty.paging):
    text searches in two steps whose cost follows what they find (loyalty.directory.search)."""
    return search.customer_page(actor, cursor=cursor, per_page=per_page, **filters)


def update_customer(actor, customer_id: int, changes: dict[str, Any]) -> Customer:
    customer = get_customer(actor, customer_id)
    before = audit.snapshot(customer, CUSTOMER_FIELDS)
    if "name" in changes:
        changes = {**changes, "name": visible_text(changes["name"], "name")}
    if "phone" in changes:
        e164 = _phone(changes["phone"])
        clash = db.session.execute(
            select(Customer.id).where(Customer.phone == e164, Customer.id != customer.id)).first()
        if clash:
            raise Conflict(code="phone_taken", fields={"phone": ["Already registered."]})
        customer.phone = e164
    if "name" in changes:
        customer.name = _clean(changes["name"]) or customer.name
    if "gender" in changes:
        customer.gender = changes["gender"]
    _record_facts(actor, customer, {k: v for k, v in changes.items() if k in FACTS}, desk=desk_of(actor))
    db.session.flush()
    audit.record(actor, "customer", customer.id, "updated", before, audit.snapshot(customer, CUSTOMER_FIELDS))
    return customer


def add_vehicle(actor, customer_id: int, *, model: str, colour: str, transmission: str,
                plate: str | None = None, vin: str | None = None, desk: str | None = None,
                source: str | None = None) -> Vehicle:
    """Record a customer's vehicle with who recorded it and from which desk (CB-10); `source`
    tells listeners why (e.g. "delivery": the car the delivery check itself records)."""
    customer = get_customer(actor, customer_id)
    if transmission not in ("automatic", "manual"):
        raise field_error("transmission", "Must be automatic or manual.")
    vin = (vin or "").strip().upper() or None
    if vin is not None:
        if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin):
            raise field_error("vin", "A VIN has 17 letters and digits (no I, O or Q).")
        if db.session.execute(select(Vehicle.id).where(Vehicle.vin == vin)).first():
            raise Conflict(code="vin_taken", fields={"vin": ["Already registered."]})
    plate = "".join((plate or "").split()).upper() or None
    desk = desk or desk_of(actor)
    if desk not in DESKS:
        raise ValueError(f"unknown desk {desk!r}")
    vehicle = Vehicle(model=model.strip(), colour=colour.strip(), transmission=transmission,
                      plate=plate, vin=vin, desk=desk, recorded_by_id=actor.id if actor is not None else None)
    customer.vehicles.append(vehicle)  # keeps the loaded collection current for later readers
    db.session.flush()
    audit.record(actor, "vehicle", vehicle.id, "created", None, audit.snapshot(vehicle, VEHICLE_FIELDS))
    _notify(actor, customer.id, "vehicle", desk, source)
    return vehicle
