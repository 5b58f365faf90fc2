"""The facts a callback may ask about, as they stood when the referral was registered (CB-10).

A consultant with a friend can plant the answer key: type a fact the friend will repeat, or add a
car, after registering the referral. So questions are drawn only from fact versions recorded
*before* the referral was registered, and a version recorded by anyone who touched the referral
(registrant, acknowledging, reviewing or checking manager) counts as known to the fake, like the
facts the claim itself disclosed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, func, or_, select

from loyalty.audit.models import AuditEvent
from loyalty.directory.models import FACTS, Customer, FactVersion, Vehicle
from loyalty.extensions import db
from verification.callbacks import planning
from verification.callbacks.strength import Frequencies
from verification.referrals.models import Referral

# What any fake can be told of either party's car: the claim names the old customer's model and
# colour, and the consultant sold the new customer his car (a trade-in shows him the old one too).
SHOWROOM_CAR_FACTS = frozenset({"model", "colour"})
# The checking manager compares the referrer's vehicle on record with the licence in his hand.
CHECKED_VEHICLE_FACTS = frozenset({"model", "colour", "transmission"})
VEHICLE_FACTS = frozenset({"model", "colour", "transmission", "car"})


def involved_staff(referral: Referral) -> frozenset[int]:
    """Everyone who touched the referral and so could coach a fake: the registrant, the acknowledging
    and reviewing managers, and every staff member with an audited action on it (each delivery check,
    a preview of the record in the check, a reopening, a fact changed while it was live)."""
    on_row = {referral.registered_by_id, referral.acknowledged_by_id, referral.reviewed_by_id,
              referral.delivery_checked_by_id}
    audited = db.session.execute(select(AuditEvent.actor_id).distinct().where(
        AuditEvent.entity == "referral", AuditEvent.entity_id == str(referral.id),
        AuditEvent.actor_id.is_not(None))).scalars()
    return frozenset(i for i in (*on_row, *audited) if i is not None)


def untouched_by(actor_id: int):
    """The SQL twin of involved_staff, for lists: `actor_id` neither registered, acknowledged,
    reviewed nor checked the referral, and has no audited action on it (CB-10's insiders)."""
    on_row = (Referral.registered_by_id, Referral.acknowledged_by_id, Referral.reviewed_by_id,
              Referral.delivery_checked_by_id)
    return and_(*(or_(column.is_(None), column != actor_id) for column in on_row),
                ~exists().where(AuditEvent.entity == "referral", AuditEvent.actor_id == actor_id,
                                AuditEvent.entity_id == cast(Referral.id, String)))


@dataclass(frozen=True)
class PartyRecord:
    """A party's facts as of a moment, which of them insiders recorded, and where each came from."""
    facts: planning.PartyFacts
    tainted: frozenset[str]
    provenance: dict


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def as_of(customer: Customer, before: datetime, insiders: frozenset[int]) -> PartyRecord:
    """The newest version of each fact recorded before `before`, and the vehicles recorded by then."""
    versions = db.session.execute(
        select(FactVersion).where(FactVersion.customer_id == customer.id, FactVersion.recorded_at < before)
        .order_by(FactVersion.recorded_at, FactVersion.id)).unique().scalars().all()
    newest = {v.fact: v for v in versions}  # later versions overwrite earlier ones
    values = {fact: (newest[fact].value if fact in newest else None) for fact in FACTS}
    # an insider who ever typed a fact knows it, even when someone re-recorded it later in other words
    tainted = {v.fact for v in versions if v.value and v.recorded_by_id in insiders and values[v.fact]}
    vehicles = [v for v in customer.vehicles if v.created_at < before]
    if any(v.recorded_by_id in insiders for v in vehicles):
        tainted |= VEHICLE_FACTS
    provenance = {
        "facts": {fact: {"version_id": v.id, "recorded_by_id": v.recorded_by_id, "desk": v.desk,
                         "recorded_at": _iso(v.recorded_at)} for fact, v in newest.items() if v.value},
        "vehicles": [{"vehicle_id": v.id, "recorded_by_id": v.recorded_by_id, "desk": v.desk,
                      "recorded_at": _iso(v.created_at)} for v in vehicles],
    }
    facts = planning.PartyFacts(
        name=customer.name, gender=customer.gender, employer=values["employer"],
        home_district=values["home_district"], business=values["business"], occupation=values["occupation"],
        vehicles=tuple(planning.VehicleFacts(model=v.model, colour=v.colour, transmission=v.transmission,
                                             plate=v.plate) for v in vehicles))
    return PartyRecord(facts, frozenset(tainted), provenance)


def insider_known(party: str, record: PartyRecord) -> frozenset[str]:
    """What the referral's own staff know about this party (`party` is the one asked about)."""
    shown = CHECKED_VEHICLE_FACTS if party == "referrer" else SHOWROOM_CAR_FACTS
    return frozenset(shown | record.tainted)


def frequencies() -> Frequencies:
    """How common each value is among the customers and vehicles on record (what a fake guesses from)."""
    def counted(column):
        return db.session.execute(select(column, func.count()).where(column.is_not(None)).group_by(column)).all()
    return Frequencies.counted({
        "employer": counted(Customer.employer), "home_district": counted(Customer.home_district),
        "business": counted(Customer.business), "occupation": counted(Customer.occupation),
        "model": counted(Vehicle.model), "colour": counted(Vehicle.colour),
        "transmission": counted(Vehicle.transmission)})
