"""Deliveries on record (交车记录), with or without a referral (REG-7).

A delivery is on record when a delivery check saw it (whatever the check decided), when a
manager recorded it (`POST /deliveries`) or when a row of the dealer's sales-system export was
imported. One delivery per vehicle; a VIN names the vehicle, so recording the same VIN again
with the same facts is a no-op and with other facts is refused (never overwritten).

A referee whose delivery is on record within the store's registration window cannot be
registered (late claim, REG-2/REG-7); at the delivery check that delivery supplies the time
and the vehicle.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.auth import access
from loyalty.directory import search
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, Store, Vehicle
from loyalty.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from loyalty.extensions import db
from loyalty.paging import Page, keyset, page_of, probed
from loyalty.scoping import in_stores
from loyalty.settings import settings
from verification import vocabulary as v
from verification.delivery import licence
from verification.delivery.models import FROM_API, SOURCES, Delivery
from verification.referrals.models import Referral

AUDIT_FIELDS = ("store_id", "customer_id", "vehicle_id", "delivered_at", "time_known", "source", "referral_id")
RECORDERS = ("manager", "admin")
_VEHICLE_FIELDS = {name: f"vehicle.{name}" for name in ("model", "colour", "transmission", "plate", "vin")}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# ---- reading --------------------------------------------------------------------------

def delivered_within(customer_id: int, since: datetime) -> bool:
    """Has this customer taken a delivery on or after `since` (any source)?

    Referrals checked before deliveries were recorded on rejection (before migration 0008)
    carry their delivery time only on the referral: those count too."""
    on_record = exists().where(Delivery.customer_id == customer_id, Delivery.delivered_at >= since)
    on_referral = exists().where(Referral.referee_id == customer_id, Referral.delivered_at >= since)
    return bool(db.session.execute(select(or_(on_record, on_referral))).scalar())  # one round trip for both


def on_record_for(customer_id: int, since: datetime, until: datetime) -> Delivery | None:
    """The customer's latest delivery in [since, until], if any."""
    return db.session.execute(
        select(Delivery).where(Delivery.customer_id == customer_id, Delivery.delivered_at >= since,
                               Delivery.delivered_at <= until)
        .order_by(Delivery.delivered_at.desc(), Delivery.id.desc()).limit(1)).unique().scalar_one_or_none()


def by_vin(vin: str) -> tuple[Vehicle | None, Delivery | None]:
    vehicle = db.session.execute(select(Vehicle).where(Vehicle.vin == vin)).scalar_one_or_none()
    if vehicle is None:
        return None, None
    delivery = db.session.execute(select(Delivery).where(Delivery.vehicle_id == vehicle.id)).unique() \
        .scalar_one_or_none()
    return vehicle, delivery


def _deliveries(actor, *, store_id: int | None = None, customer_id: int | None = None, vin: str | None = None,
                source: str | None = None, q: str | None = None, date_from=None, date_to=None, indexed: bool = False):
    query = in_stores(select(Delivery), actor, Delivery.store_id, store_id=store_id)
    if customer_id is not None:
        query = query.where(Delivery.customer_id == customer_id)
    if vin:
        query = query.join(Vehicle, Vehicle.id == Delivery.vehicle_id).where(Vehicle.vin == v.canon_vin(vin))
    if source:
        query = query.where(Delivery.source == source)
    if date_from is not None:
        query = query.where(Delivery.delivered_at >= date_from)
    if date_to is not None:
        query = query.where(Delivery.delivered_at < date_to)
    if q:  # the customer's name (through its index: migration 0012n), or a phone as the searcher may search it (SEC-3)
        matches = search.text_match(actor, q, settings.phone_region, indexed=indexed)
        if indexed:  # a probe's form (`_searched`): from the customers' indexes to their deliveries
            return query.join(Customer, Customer.id == Delivery.customer_id).where(matches)
        # a walk's: each delivery's customer looked up as it is read (verification.referrals.lists._matches)
        query = query.where(select(matches).where(Customer.id == Delivery.customer_id).scalar_subquery())
    return query


def _searched(actor, **filters):
    """`_deliveries`, and the count when a search's probe has told it (loyalty.paging.probed: the
    customers' names and phones through their indexes): a rare name is a few index rows, not a walk
    of every delivery testing each one's customer (600,000 at 1M referrals)."""
    query = _deliveries(actor, **filters)
    if not filters.get("q"):
        return query, None
    return probed(query, Delivery.id, [_deliveries(actor, **filters, indexed=True).with_only_columns(Delivery.id)])


def list_deliveries(actor, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list[Delivery], int]:
    return page_of(_searched(actor, **filters)[0].order_by(Delivery.delivered_at.desc(), Delivery.id.desc()),
                   page, per_page)


def delivery_page(actor, *, cursor: str | None = None, per_page: int = 50, **filters) -> Page:
    """The newest deliveries first, keyset-paged by (delivered_at, id) with a bounded count."""
    query, known = _searched(actor, **filters)
    return keyset(query, (Delivery.delivered_at, Delivery.id), cursor=cursor, per_page=per_page, known=known)


# ---- recording ------------------------------------------------------------------------

def _same(canon, a: str | None, b: str | None) -> bool:
    return canon(a) == canon(b)


def vehicle_differences(stored: Vehicle, vehicle: dict) -> list[str]:
    """The fields of `vehicle` (as typed) that contradict the stored vehicle, as vehicle.<field>."""
    wrong = []
    if vehicle.get("model") and not _same(licence.canon_model, stored.model, vehicle["model"]):
        wrong.append("vehicle.model")
    if vehicle.get("colour") and not _same(v.canon_colour, stored.colour, vehicle["colour"]):
        wrong.append("vehicle.colour")
    if vehicle.get("transmission") and stored.transmission != vehicle["transmission"]:
        wrong.append("vehicle.transmission")
    if vehicle.get("plate") and stored.plate and not _same(v.canon_plate, stored.plate, vehicle["plate"]):
        wrong.append("vehicle.plate")
    if vehicle.get("vin") and stored.vin and not _same(v.canon_vin, stored.vin, vehicle["vin"]):
        wrong.append("vehicle.vin")
    return wrong


def _delivery_differences(delivery: Delivery, *, store_id: int, customer: Customer, delivered_at: datetime,
                          time_known: bool, vehicle: dict) -> list[str]:
    wrong = vehicle_differences(delivery.vehicle, vehicle)
    if delivery.customer_id != customer.id:
        wrong.append("customer")
    if delivery.store_id != store_id:
        wrong.append("store_id")
    if delivery.delivered_at != delivered_at or delivery.time_known != time_known:
        wrong.append("delivered_at")
    return wrong


def _differs(fields: list[str], message: str, actor=None) -> Conflict:
    """Admins are told which fields differ; anyone else is not told which of the car's fields (model,
    colour, gearbox, plate) differ, only that the VIN is on record with another car: naming them would
    confirm the others, fact by fact (an oracle on the answer key, SEC-5)."""
    if actor is not None and actor.role != "admin" and any(f.startswith("vehicle.") for f in fields):
        fields = [f for f in fields if not f.startswith("vehicle.")] + ["vehicle.vin"]
    return Conflict(N_("A delivery with this VIN is on record with other data; it was not changed."),
                    code="vin_on_record", fields={f: [message] for f in fields})


def record_delivery(actor, *, store_id: int, customer: Customer, delivered_at: datetime, vehicle: dict,
                    source: str, time_known: bool = True, referral_id: int | None = None
                    ) -> tuple[Delivery, bool]:
    """Put a delivery on record; returns (delivery, created).

    Idempotent by VIN: the VIN of a delivery on record with the same facts returns that
    delivery (created False); with other facts it is a 409 naming the fields that differ.
    A VIN already held by the customer's vehicle (entered in the directory) is that vehicle."""
    if source not in SOURCES:
        raise ValueError(source)
    access.ensure_store(actor, store_id)
    if db.session.get(Store, store_id) is None:
        raise ValidationFailed(fields={"store_id": [N_("No such store.")]})
    if delivered_at > clock.now():
        raise ValidationFailed(fields={"delivered_at": [N_("The delivery cannot be in the future.")]})
    vin = v.canon_vin(vehicle.get("vin")) or None
    car = None
    if vin:
        car, on_record = by_vin(vin)
        if on_record is not None:
            wrong = _delivery_differences(on_record, store_id=store_id, customer=customer, delivered_at=delivered_at,
                                          time_known=time_known, vehicle=vehicle)
            if wrong:
                raise _differs(wrong, N_("Differs from the delivery on record with this VIN."), actor)
            return on_record, False
        if car is not None and car.customer_id != customer.id:
            raise Conflict(N_("This VIN belongs to another customer's vehicle."), code="vin_taken",
                           fields={"vehicle.vin": [N_("This VIN belongs to another customer's vehicle.")]})
        if car is not None and vehicle_differences(car, vehicle):
            raise _differs(vehicle_differences(car, vehicle), N_("Differs from the vehicle on record with this VIN."),
                           actor)
    if car is None:
        try:
            # the delivered car is the procedure's own record, not a change to the answer key (fact_watch)
            car = directory.add_vehicle(actor, customer.id, model=vehicle["model"], colour=vehicle["colour"],
                                        transmission=vehicle["transmission"], plate=vehicle.get("plate"), vin=vin,
                                        desk="import" if source == "dms" else None, source="delivery")
        except DomainError as error:  # the directory names the vehicle's fields bare: vin, transmission
            error.fields = {_VEHICLE_FIELDS.get(k, k): m for k, m in error.fields.items()}
            raise
    delivery = Delivery(store_id=store_id, customer_id=customer.id, vehicle_id=car.id, delivered_at=delivered_at,
                        time_known=time_known, source=source, referral_id=referral_id,
                        recorded_by_id=actor.id, recorded_at=clock.now())
    db.session.add(delivery)
    db.session.flush()
    audit.record(actor, "delivery", delivery.id, "recorded", None,
                 {**audit.snapshot(delivery, AUDIT_FIELDS), "vin": car.vin})
    return delivery, True


def link_to_referral(actor, delivery: Delivery, referral_id: int) -> None:
    """A delivery on record (imported, or recorded by hand) turns out to be a referral's."""
    if delivery.referral_id is not None:
        return
    delivery.referral_id = referral_id
    db.session.flush()
    audit.record(actor, "delivery", delivery.id, "linked", {"referral_id": None}, {"referral_id": referral_id})


def customer_for(actor, *, store_id: int, customer_id: int | None = None, name: str | None = None,
                 phone: str | None = None) -> Customer:
    """The customer a delivery is for: by id, or by phone (the name must agree), created if unknown."""
    if customer_id is not None:
        try:
            return directory.get_customer(actor, customer_id)
        except NotFound:
            raise ValidationFailed(code="customer_not_found",
                                   fields={"customer_id": [N_("No such customer.")]}) from None
    name = (name or "").strip()
    if not name or not (phone or "").strip():
        raise ValidationFailed(fields={"customer": [N_("Give the customer's id, or name and phone.")]})
    try:
        found = directory.find_customer_by_phone(actor, phone, field="customer.phone")
    except NotFound:
        raise ValidationFailed(code="customer_other_store", fields={
            "customer.phone": [N_("This phone belongs to a customer of another store.")]}) from None
    except ValidationFailed:
        raise ValidationFailed(fields={"customer.phone": [N_("Not a valid phone number.")]}) from None
    if found is None:
        return directory.create_customer(actor, store_id=store_id, name=name, phone=phone)
    if v.canon_name(found.name) != v.canon_name(name):
        raise ValidationFailed(code="customer_name_differs", fields={
            "customer.name": [N_("This phone belongs to a customer with another name.")]})
    return found


def record_by_hand(actor, *, store_id: int, delivered_at: datetime, vehicle: dict, customer_id: int | None = None,
                   customer: dict | None = None) -> tuple[Delivery, bool]:
    """POST /deliveries: a delivery recorded without a referral (VIN required)."""
    if actor is None or actor.role not in RECORDERS:
        raise Forbidden(code="role_forbidden")
    access.ensure_store(actor, store_id)
    if not v.canon_vin(vehicle.get("vin")):
        raise ValidationFailed(fields={"vehicle.vin": [N_("Required: deliveries on record are kept by VIN.")]})
    person = customer_for(actor, store_id=store_id, customer_id=customer_id,
                          name=(customer or {}).get("name"), phone=(customer or {}).get("phone"))
    return record_delivery(actor, store_id=store_id, customer=person, delivered_at=delivered_at, vehicle=vehicle,
                           source=FROM_API)


def window_start(registered_at: datetime, window_days: int) -> datetime:
    return registered_at - timedelta(days=window_days)

