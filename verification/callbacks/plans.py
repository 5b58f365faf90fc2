"""Planning a referral's callback (CB-1..CB-3, CB-10, CB-11): the facts on record, the plan drawn, stored.

The plan (callee, time, questions, truth) is drawn with `secrets` when a referral enters
awaiting_callback, stored whole for replay (CB-7), and shown to nobody who can influence the outcome
(CB-4): the showroom's schemas never include it, the audit trail records only a digest of it.
"""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select

from loyalty.directory.models import Customer, FactVersion, Vehicle
from loyalty.errors import RuleViolation
from loyalty.extensions import db
from verification import vocabulary
from verification.callbacks import bank, facts, planning, strength
from verification.callbacks.models import PLANNED, Callback
from verification.callbacks.operations import change_callback
from verification.referrals.models import Referral

# Plausible false values even when the database holds few cars: the group's usual line-up.
FALLBACK_MODELS = tuple(spellings[0] for spellings in vocabulary.MODELS.values() if "\u4e00" <= spellings[0][0])
FALLBACK_COLOURS = tuple(spellings[1] for spellings in vocabulary.COLOURS.values())


# ---- facts and planning ---------------------------------------------------------

def facts_of(customer: Customer) -> planning.PartyFacts:
    return planning.PartyFacts(
        name=customer.name, gender=customer.gender, employer=customer.employer,
        home_district=customer.home_district, business=customer.business, occupation=customer.occupation,
        vehicles=tuple(planning.VehicleFacts(model=v.model, colour=v.colour, transmission=v.transmission,
                                             plate=v.plate) for v in customer.vehicles))


_catalogs: dict[tuple, planning.Catalog] = {}  # one per database and state of the records (issue 16)


def _records_key() -> tuple:
    """Changes whenever a customer, a vehicle or a customer's fact is recorded: three index-only
    max() reads in one statement, instead of six DISTINCT scans of every customer and vehicle."""
    state = db.session.execute(select(select(func.max(Customer.id)).scalar_subquery(),
                                      select(func.max(Vehicle.id)).scalar_subquery(),
                                      select(func.max(FactVersion.id)).scalar_subquery())).one()
    return (str(db.session.get_bind().url), *state)


def catalog() -> planning.Catalog:
    """What the group really deals in: the models, colours, employers, districts, businesses and occupations
    on record (plausible false values for traps, and known wrong answers for the grader). Read again only
    when the records changed. PostgreSQL only: its sequences never hand an id out twice, so the
    key is exact; SQLite reuses the ids of rolled-back rows and reads the catalog every time."""
    if db.session.get_bind().dialect.name != "postgresql":
        return _read_catalog()
    key = _records_key()
    found = _catalogs.get(key)
    if found is None:
        _catalogs.clear()
        found = _catalogs[key] = _read_catalog()
    return found


def _read_catalog() -> planning.Catalog:
    def distinct(column) -> set[str]:
        return {v for v in db.session.execute(select(column).distinct()).scalars() if v}
    return planning.Catalog(
        models=tuple(sorted(distinct(Vehicle.model) | set(FALLBACK_MODELS))),
        colours=tuple(sorted(distinct(Vehicle.colour) | set(FALLBACK_COLOURS))),
        employers=tuple(sorted(distinct(Customer.employer))),
        districts=tuple(sorted(distinct(Customer.home_district))),
        businesses=tuple(sorted(distinct(Customer.business))),
        occupations=tuple(sorted(distinct(Customer.occupation))))


def plan_digest(callback: Callback) -> str:
    body = {"party": callback.party, "callee_id": callback.callee_id, "due_at": callback.due_at.isoformat(),
            "questions": callback.questions}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def due_window(referral: Referral, after) -> tuple:
    policy = referral.store.policy
    due = planning.due_time(after, policy.callback_delay_min_hours, policy.callback_delay_max_hours,
                            referral.store.timezone, policy.calling_hours_start, policy.calling_hours_end)
    return due, {"after": after.isoformat(), "min_hours": policy.callback_delay_min_hours,
                 "max_hours": policy.callback_delay_max_hours, "timezone": referral.store.timezone,
                 "calling_hours": [policy.calling_hours_start, policy.calling_hours_end]}


def _other(party: str) -> str:
    return "referrer" if party == "referee" else "referee"


def _about(referral: Referral, party: str) -> tuple[planning.PartyFacts, frozenset[str], dict]:
    """What the store held of the party asked about when `party` is called, as registered (CB-10), and
    what the referral's own staff know of it."""
    about = _other(party)
    subject = referral.referrer if about == "referrer" else referral.referee
    record = facts.as_of(subject, referral.registered_at, facts.involved_staff(referral))
    return record.facts, facts.insider_known(about, record), record.provenance


def _new_callback(actor, referral: Referral, choice: strength.CallChoice, sequence: int, after, *,
                  provenance: dict, reason: str | None = None) -> Callback:
    callee, subject = ((referral.referee, referral.referrer) if choice.party == "referee"
                       else (referral.referrer, referral.referee))
    due, window = due_window(referral, after)
    chance = strength.to_bp(choice.plan.insider_pass)
    weak = not choice.plan.strong
    drawn = {"callee": choice.party, "window": window, "disclosed": sorted(choice.known),
             "strength": {"insider_pass_bp": chance, "limit_bp": referral.store.policy.insider_pass_limit_bp,
                          "known_to_staff": sorted(choice.known), "confirm_required": weak},
             "provenance": provenance}
    if reason:
        drawn["reason"] = reason
    if choice.fallback:
        drawn.update(drawn_callee=_other(choice.party), fallback=choice.fallback)
    callback = Callback(
        referral_id=referral.id, store_id=referral.store_id, sequence=sequence, party=choice.party,
        callee_id=callee.id, subject_id=subject.id, due_at=due, drawn=drawn, attempts_made=0,
        questions=[q.to_dict() for q in choice.plan.questions], insider_pass_bp=chance, confirm_required=weak)
    return change_callback(actor, callback, "planned", status=PLANNED, extra={"plan_sha256": plan_digest(callback)})


def plan_call(actor, referral: Referral, drawn: str, sequence: int, after, *, only: bool = False,
          reason: str | None = None) -> Callback:
    """Choose and store a call; with `only`, `drawn` is the one party that may be called."""
    about = {party: _about(referral, party) for party in ((drawn,) if only else (drawn, _other(drawn)))}
    templates = bank.active_templates()
    if only:
        facts_, known, _ = about[drawn]
        plan = strength.draw_strong(facts_, known=known, catalog=catalog(), freq=facts.frequencies(),
                                    limit=_limit(referral), templates=templates)
        choice = strength.CallChoice(drawn, plan, known, None)
    else:
        choice = strength.choose_call(drawn, {p: a[:2] for p, a in about.items()}, catalog=catalog(),
                                      freq=facts.frequencies(), limit=_limit(referral), templates=templates)
    return _new_callback(actor, referral, choice, sequence, after, provenance=about[choice.party][2], reason=reason)


def _limit(referral: Referral) -> float:
    return referral.store.policy.insider_pass_limit_bp / 10000


def _not_enough_facts(referral: Referral) -> RuleViolation:
    return RuleViolation(
        "The store holds too few facts about these customers to ask 3 questions. Add their employer, "
        "home district, business or occupation first.", code="not_enough_facts",
        fields={"referrer_id": [str(referral.referrer_id)], "referee_id": [str(referral.referee_id)]})


def plan_callback(actor, referral: Referral) -> Callback:
    """Draw the callee (CB-1), the time (CB-2) and the questions (CB-3) for a referral.

    The drawn callee is called unless the plan about the other party is too weak against the
    referral's own staff (CB-11) or cannot be formed: then the other party is called instead, when
    that plan is strong enough. When neither is, the stronger plan is used and a passing verdict
    waits for a manager's confirmation (strength.choose_call). Everything is recorded in the plan.
    If neither party can be asked 3 questions the check is refused, naming the customers to complete.
    """
    try:
        return plan_call(actor, referral, planning.draw_callee(), 1, referral.delivered_at)
    except planning.NotEnoughFacts:
        raise _not_enough_facts(referral) from None
