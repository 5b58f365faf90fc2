"""Rings (团伙): the connected components of the referral graph whose edges carry signals, and the
report of signals by consultant and store. People are the nodes (customers and staff); an edge is
a flagged referral (old customer → new customer) or a signal that ties a staff member to a
customer or to another staff member (concentration, fact edits, staff pair, staff who are customers).
A manager sees the rings of his own store's referrals, an admin all of them."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from loyalty.directory.models import Customer, Staff, Store
from loyalty.errors import Forbidden
from loyalty.extensions import db
from loyalty.scoping import in_stores
from verification.referrals.models import Referral
from verification.rings.models import RiskAssessment, RiskSignal
from verification.rings.signals import KINDS

READERS = ("manager", "admin")
STAFF_EDGES = {"concentration": "consultant_id", "fact_edit": "consultant_id"}


@dataclass
class Ring:
    risk: int = 0
    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)   # key -> (label, "customer"|"staff")
    edges: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (a, b) -> kinds ("referral" too)
    referrals: list[int] = field(default_factory=list)
    signals: list[tuple[int, RiskSignal]] = field(default_factory=list)
    stores: set[int] = field(default_factory=set)

    @property
    def kinds(self) -> Counter:
        return Counter(signal.kind for _, signal in self.signals)


def _require_reader(actor) -> None:
    if actor is None or actor.role not in READERS:
        raise Forbidden(code="role_forbidden")


class _Union:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _flagged(actor, start: datetime | None, end: datetime | None, store_id: int | None):
    query = in_stores(select(Referral.id, Referral.store_id, Referral.referrer_id, Referral.referee_id,
                             Referral.registered_by_id, RiskAssessment.score)
                      .join(RiskAssessment, RiskAssessment.referral_id == Referral.id)
                      .where(RiskAssessment.score > 0), actor, Referral.store_id, store_id=store_id)
    if start is not None:
        query = query.where(Referral.registered_at >= start)
    if end is not None:
        query = query.where(Referral.registered_at < end)
    return db.session.execute(query).all()


def rings(actor, *, start=None, end=None, store_id: int | None = None, limit: int = 50) -> list[Ring]:
    """The rings among the flagged referrals registered in [start, end), riskiest first."""
    _require_reader(actor)
    flagged = _flagged(actor, start, end, store_id)
    signals: dict[int, list[RiskSignal]] = defaultdict(list)
    ids = [row.id for row in flagged]
    for chunk in range(0, len(ids), 5000):
        for signal in db.session.scalars(select(RiskSignal).where(RiskSignal.referral_id.in_(ids[chunk:chunk + 5000]))):
            signals[signal.referral_id].append(signal)
    union, edges = _Union(), []
    for row in flagged:
        a, b = f"c{row.referrer_id}", f"c{row.referee_id}"
        edges.append((row, a, b, {"referral"} | {s.kind for s in signals[row.id]}))
        for signal in signals[row.id]:
            for other in _signal_ends(row, signal):
                edges.append((row, other, a if signal.detail.get("party") != "referee" else b, {signal.kind}))
    for _row, a, b, _kinds in edges:
        union.join(a, b)
    groups: dict[str, Ring] = defaultdict(Ring)
    for row, a, b, kinds in edges:
        ring = groups[union.find(a)]
        ring.edges.setdefault((a, b), set()).update(kinds)
        if "referral" in kinds and row.id not in ring.referrals:
            ring.referrals.append(row.id)
            ring.signals.extend((row.id, s) for s in signals[row.id])
            ring.risk = max(ring.risk, row.score)
            ring.stores.add(row.store_id)
    ranked = sorted(groups.values(), key=lambda r: (-r.risk, -len(r.referrals), r.referrals[0]))[:limit]
    _name(ranked)
    return ranked


def _signal_ends(row, signal: RiskSignal) -> list[str]:
    """The staff a signal ties to the referral's people."""
    detail = signal.detail
    if signal.kind in STAFF_EDGES:
        return [f"s{detail[STAFF_EDGES[signal.kind]]}"]
    if signal.kind == "staff_customer":
        return [f"s{detail['staff_id']}"]
    if signal.kind == "staff_pair":
        return [f"s{detail['consultant_id']}", f"s{detail['manager_id']}"]
    return []


def _name(found: list[Ring]) -> None:
    keys = {key for ring in found for edge in ring.edges for key in edge}
    customers = {int(k[1:]) for k in keys if k[0] == "c"}
    staff = {int(k[1:]) for k in keys if k[0] == "s"}
    names = {f"c{i}": (n, "customer") for i, n in db.session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(sorted(customers))))}
    names.update({f"s{i}": (n, "staff") for i, n in db.session.execute(
        select(Staff.id, Staff.display_name).where(Staff.id.in_(sorted(staff))))})
    for ring in found:
        ring.nodes = {key: names.get(key, ("?", "customer")) for edge in ring.edges for key in edge}


def report(actor, *, start=None, end=None) -> list[dict]:
    """Signals by store and consultant over a period: flagged referrals and each kind's count."""
    _require_reader(actor)
    query = in_stores(
        select(Referral.store_id, Referral.registered_by_id, RiskSignal.kind,
               func.count(func.distinct(RiskSignal.referral_id)))
        .join(RiskSignal, RiskSignal.referral_id == Referral.id)
        .group_by(Referral.store_id, Referral.registered_by_id, RiskSignal.kind), actor, Referral.store_id)
    if start is not None:
        query = query.where(Referral.registered_at >= start)
    if end is not None:
        query = query.where(Referral.registered_at < end)
    rows: dict[tuple[int, int], dict] = {}
    for store_id, staff_id, kind, count in db.session.execute(query).all():
        row = rows.setdefault((store_id, staff_id), {"store_id": store_id, "consultant_id": staff_id,
                                                     **{k: 0 for k in KINDS}})
        row[kind] = count
    stores = {s.id: s for s in db.session.scalars(select(Store))}
    staff = dict(db.session.execute(select(Staff.id, Staff.display_name).where(
        Staff.id.in_(sorted({k[1] for k in rows})))).all())
    for row in rows.values():
        row.update(store=stores[row["store_id"]].name, store_code=stores[row["store_id"]].code,
                   consultant=staff.get(row["consultant_id"], ""), total=sum(row[k] for k in KINDS))
    return sorted(rows.values(), key=lambda r: (r["store_code"], -r["total"], r["consultant"]))
