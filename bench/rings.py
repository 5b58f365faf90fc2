"""Ring detection on a synthetic dealer group (issue 17). Prints, per seeded ring kind, the share of
seeded rings found (the kind's signal fired on at least one of the ring's referrals), the share of
genuine referrals flagged (any signal; and at the review score), the full recompute time, and the
registration call's p50 with and without the ring hook. Not part of `make test`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wt_rings_big \\
        /work/main/.venv/bin/python bench/rings.py [--referrals 100000] [--rings 40] [--registrations 200]

DROPS AND RECREATES THE PUBLIC SCHEMA of the database in DATABASE_URL (default: wt_rings_big).

The genuine group: 20 stores, each with 10 consultants, 3 managers and a service agent, over two
years. Old customers mostly refer one or two friends (a long tail), families pass referrals on
(A→B, later B→C: chains, never loops), colleagues share an employer (their home districts differ),
a few popular referrers send 40-80 friends to several consultants, the service desk records facts
at visits, consultants record an old customer's facts when he bought (long before he refers).
Managers acknowledge and check at random. Seeded rings, `--rings` of each kind, are what the
signals are meant to catch (see verification/rings/README.md).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/wt_rings_big"
T0 = datetime(2024, 12, 1, 2, 0, tzinfo=UTC)
DAYS = 730
DISTRICTS = [f"区{n}" for n in range(16)]
EMPLOYERS = [f"单位{n}" for n in range(3000)]
KINDS = ("concentration", "spread", "cycle", "staff_customer", "shared", "fact_edit", "staff_pair", "history")


def make_app(url: str):
    from loyalty.app import create_app
    from loyalty.config import TestConfig
    return create_app(TestConfig(url))


def fresh_schema(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from loyalty.extensions import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()


class Group:
    """The synthetic rows, written in bulk; `truth` maps a referral id to its ring ("kind:n") or None."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.customers: list[dict] = []
        self.referrals: list[dict] = []
        self.facts: list[dict] = []
        self.truth: dict[int, str | None] = {}
        self.staff_phone: dict[int, str] = {}
        self.staff_hash: dict[int, str] = {}

    def customer(self, store: int, **extra) -> int:
        cid = len(self.customers) + 1
        self.customers.append({"id": cid, "store_id": store, "name": f"客户{cid}", "phone": f"+86139{cid:08d}",
                               "employer": extra.get("employer", self.rng.choice(EMPLOYERS)),
                               "home_district": extra.get("district", self.rng.choice(DISTRICTS)),
                               "national_id_hash": extra.get("id_hash", f"{cid:064x}"),
                               "created_at": T0 - timedelta(days=400)})
        return cid

    def referral(self, store: int, referrer: int, referee: int, consultant: int, day: float, managers: list[int],
                 ring: str | None = None, status: str = "verified", ack: int | None = None,
                 check: int | None = None) -> int:
        rid = len(self.referrals) + 1
        at = T0 + timedelta(days=day)
        self.referrals.append({
            "id": rid, "store_id": store, "referrer_id": referrer, "referee_id": referee,
            "registered_by_id": consultant, "status": status, "registered_at": at,
            "acknowledged_by_id": ack or self.rng.choice(managers), "acknowledged_at": at,
            "delivery_checked_by_id": check or self.rng.choice(managers), "reason": None,
            "claim_referrer_name": "老客户", "claim_referrer_phone": "+8613900000000",
            "claim_referrer_model": "速腾", "claim_referrer_colour": "白色", "updated_at": at})
        self.truth[rid] = ring
        return rid


def build(rng: random.Random, n_referrals: int, n_rings: int, stores: list[int],
          staff: dict[int, dict[str, list[int]]]) -> Group:
    g = Group(rng)
    old = {s: [g.customer(s) for _ in range(n_referrals // len(stores) // 2)] for s in stores}
    popular = {s: rng.sample(old[s], 2) for s in stores}

    def genuine_referral(store, referrer, day, **extra):
        referee = g.customer(store, **extra)
        g.referral(store, referrer, referee, rng.choice(staff[store]["consultant"]), day, staff[store]["manager"],
                   status=rng.choices(("verified", "expired", "unverifiable", "registered"), (85, 8, 4, 3))[0])
        return referee

    seeded = n_rings * len(KINDS) * 5
    while len(g.referrals) < n_referrals - seeded:
        store = rng.choice(stores)
        day = rng.uniform(0, DAYS)
        roll = rng.random()
        if roll < 0.02:  # a popular referrer's friend (40-80 a year across the store's consultants)
            genuine_referral(store, rng.choice(popular[store]), day)
        elif roll < 0.10:  # a family: the new customer later refers a relative of his own
            referrer = rng.choice(old[store])
            referee = genuine_referral(store, referrer, day, district=next(
                c["home_district"] for c in [g.customers[referrer - 1]]))
            if day + 60 < DAYS:
                genuine_referral(store, referee, day + rng.uniform(30, 60))
        elif roll < 0.16:  # colleagues: one employer, homes across the city
            referrer = rng.choice(old[store])
            employer = g.customers[referrer - 1]["employer"]
            for k in range(rng.randint(2, 3)):
                genuine_referral(store, referrer, day + k * rng.uniform(5, 40), employer=employer)
        else:
            genuine_referral(store, rng.choice(old[store]), day)
    for c in rng.sample(range(1, len(g.customers) + 1), len(g.customers) // 10):  # service desk visits
        agent = staff[g.customers[c - 1]["store_id"]]["agent"][0]
        g.facts.append({"customer_id": c, "fact": "employer", "value": "x", "recorded_by_id": agent,
                        "recorded_at": T0 + timedelta(days=rng.uniform(0, DAYS)), "desk": "service"})
    for r in g.referrals[: len(g.referrals) // 5]:  # the consultant who sold the old customer his car
        g.facts.append({"customer_id": r["referrer_id"], "fact": "occupation", "value": "x",
                        "recorded_by_id": r["registered_by_id"], "recorded_at": T0 - timedelta(days=300),
                        "desk": "sales"})
    seed_rings(g, rng, n_rings, stores, staff)
    return g


def seed_rings(g: Group, rng: random.Random, n: int, stores: list[int], staff) -> None:
    staff_pool = [(s, who) for s in stores for role in ("consultant", "manager") for who in staff[s][role]]
    rng.shuffle(staff_pool)
    for k in range(n):
        store, _who = staff_pool[-1]
        other = rng.choice([s for s in stores if s != store])
        mgrs, cons = staff[store]["manager"], staff[store]["consultant"]
        day = rng.uniform(200, DAYS - 60)
        fake = g.customer(store)  # a ring's "old customer"
        # concentration: one consultant, one "old customer", 7 friends in four months
        c = rng.choice(cons)
        for i in range(7):
            g.referral(store, fake, g.customer(store), c, day + i * 15, mgrs, f"concentration:{k}")
        # spread: one "old customer" collecting at three consultants of two stores in three weeks
        spreader = g.customer(store)
        for i, (s, who) in enumerate(((store, cons[0]), (store, cons[1]), (other, staff[other]["consultant"][0]))):
            g.referral(s, spreader, g.customer(s), who, day + i * 7, staff[s]["manager"], f"spread:{k}")
        # cycle: a pair or a triangle referring each other
        people = [g.customer(store) for _ in range(2 + k % 2)]
        for i, a in enumerate(people):
            g.referral(store, a, people[(i + 1) % len(people)], rng.choice(cons), day + i * 10, mgrs, f"cycle:{k}")
        # staff_customer: a staff member as the "old customer" (his phone), or a referee with a staff ID
        _store, who = staff_pool.pop()
        if k % 2:
            mine = g.customer(store)
            g.staff_phone[who] = g.customers[mine - 1]["phone"]
            g.referral(store, mine, g.customer(store), rng.choice(cons), day, mgrs, f"staff_customer:{k}")
        else:
            twin = g.customer(store)
            g.staff_hash[who] = g.customers[twin - 1]["national_id_hash"]
            g.referral(store, g.customer(store), twin, rng.choice(cons), day, mgrs, f"staff_customer:{k}")
        # shared: three "new customers" at one employer and home district, two with one ID, or three
        # from one home (different employers) within days
        referrer = g.customer(store)
        if k % 3 == 2:
            home = rng.choice(DISTRICTS)
            for i in range(3):
                g.referral(store, referrer, g.customer(store, district=home), rng.choice(cons), day + i * 3, mgrs,
                           f"shared:{k}")
        elif k % 3:
            shared = {"employer": rng.choice(EMPLOYERS), "district": rng.choice(DISTRICTS)}
            for i in range(3):
                g.referral(store, referrer, g.customer(store, **shared), rng.choice(cons), day + i * 5, mgrs,
                           f"shared:{k}")
        else:
            twin = f"{rng.getrandbits(255):064x}"
            for i in range(2):
                g.referral(store, referrer, g.customer(store, id_hash=twin), rng.choice(cons), day + i * 5, mgrs,
                           f"shared:{k}")
        # fact_edit: the consultant records the "old customer's" employer two days before
        referrer, c = g.customer(store), rng.choice(cons)
        g.facts.append({"customer_id": referrer, "fact": "employer", "value": "x", "recorded_by_id": c,
                        "recorded_at": T0 + timedelta(days=day - 2), "desk": "sales"})
        g.referral(store, referrer, g.customer(store), c, day, mgrs, f"fact_edit:{k}")
        # staff_pair: a ring consultant whose referrals one manager always acknowledges and checks
        ring_consultant, boss = staff[store]["ring"][k % len(staff[store]["ring"])], rng.choice(mgrs)
        for i in range(9):
            g.referral(store, g.customer(store), g.customer(store), ring_consultant, day + i * 6, mgrs,
                       f"staff_pair:{k}", ack=boss, check=boss)
        # history: an "old customer" caught once, back a month later
        referrer = g.customer(store)
        g.referral(store, referrer, g.customer(store), rng.choice(cons), day - 30, mgrs, f"history:{k}",
                   status="fraudulent")
        g.referral(store, referrer, g.customer(store), rng.choice(cons), day, mgrs, f"history:{k}")


def write(app, n_referrals: int, n_rings: int, seed: int) -> Group:
    from sqlalchemy import insert, update

    from loyalty.directory import service as directory
    from loyalty.directory.models import Customer, FactVersion, Staff
    from loyalty.extensions import db
    from verification.referrals.models import Referral

    rng = random.Random(seed)
    with app.app_context():
        stores = [directory.create_store(None, code=f"S{n:02d}", name=f"门店{n}", timezone="Asia/Shanghai").id
                  for n in range(20)]
        rows, staff = [], defaultdict(lambda: defaultdict(list))
        for store in stores:
            for role, count in (("consultant", 10), ("manager", 3), ("agent", 1), ("ring", 2)):
                for i in range(count):
                    rows.append({"id": len(rows) + 1, "username": f"{role}{store}_{i}", "display_name": f"{role}{i}",
                                 "role": "consultant" if role == "ring" else role, "store_id": store,
                                 "password_hash": "x", "phone": f"+86137{len(rows):08d}"})
                    staff[store][role].append(len(rows))
        db.session.execute(insert(Staff), rows)
        g = build(rng, n_referrals, n_rings, stores, staff)
        for staff_id, phone in g.staff_phone.items():
            db.session.execute(update(Staff).where(Staff.id == staff_id).values(phone=phone))
        for staff_id, id_hash in g.staff_hash.items():
            db.session.execute(update(Staff).where(Staff.id == staff_id).values(national_id_hash=id_hash))
        for model, data in ((Customer, g.customers), (Referral, g.referrals), (FactVersion, g.facts)):
            if db.engine.dialect.name == "postgresql":
                copy_rows(db, model.__tablename__, data)
                continue
            for start in range(0, len(data), 10_000):
                db.session.execute(insert(model), data[start:start + 10_000])
        if db.engine.dialect.name == "postgresql":
            for table in ("customers", "referrals", "staff"):
                db.session.execute(db.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # what autovacuum would do after a load this size
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("ANALYZE"))
        return g


def copy_rows(db, table: str, data: list[dict]) -> None:
    """COPY the rows into `table` in the session's transaction (PostgreSQL: ~10x an executemany)."""
    if not data:
        return
    columns = list(data[0])
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in data:
            copy.write_row([row[c] for c in columns])


def score_it(app, g: Group) -> None:
    from sqlalchemy import select

    from loyalty.extensions import db
    from verification.rings import service
    from verification.rings.models import RiskAssessment, RiskSignal

    with app.app_context():
        started = time.perf_counter()
        counts = service.recompute_all()
        db.session.commit()
        elapsed = time.perf_counter() - started
        kinds_of = defaultdict(set)
        for rid, kind in db.session.execute(select(RiskSignal.referral_id, RiskSignal.kind)):
            kinds_of[rid].add(kind)
        review = set(db.session.scalars(select(RiskAssessment.referral_id).where(RiskAssessment.score >= 50)))
    print(f"referrals {counts['referrals']:,}  flagged {counts['flagged']:,}  signals {counts['signals']:,}")
    print(f"full recompute (load, assess, write, commit): {elapsed:.1f} s")
    rings = defaultdict(set)
    for rid, ring in g.truth.items():
        if ring:
            rings[ring].add(rid)
    print(f"{'kind':<16}{'seeded':>8}{'found':>8}{'share':>8}")
    for kind in KINDS:
        mine = [ids for ring, ids in rings.items() if ring.split(":")[0] == kind]
        found = sum(1 for ids in mine if any(kind in kinds_of[r] for r in ids))
        print(f"{kind:<16}{len(mine):>8}{found:>8}{found / max(1, len(mine)):>8.1%}")
    genuine = [rid for rid, ring in g.truth.items() if ring is None]
    flagged = sum(1 for rid in genuine if kinds_of[rid])
    held = sum(1 for rid in genuine if rid in review)
    print(f"genuine referrals {len(genuine):,}: any signal {flagged / len(genuine):.2%}, "
          f"at the review score {held / len(genuine):.2%}")
    by_kind = defaultdict(int)
    for rid in genuine:
        for kind in kinds_of[rid]:
            by_kind[kind] += 1
    print("genuine flagged by kind: " + ", ".join(f"{k} {by_kind[k] / len(genuine):.2%}" for k in KINDS))


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recompute_only(app) -> None:
    from loyalty.extensions import db
    from verification.rings import service
    with app.app_context():
        phases: dict[str, float] = {}
        backend = db.session.scalar(db.text("SELECT pg_backend_pid()"))
        server0 = server_cpu(backend)
        started, cpu0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
        counts = service.recompute_all(phases=phases)
        db.session.commit()
        done, cpu1 = time.perf_counter(), time.process_time()
        server = server_cpu(backend) - server0
    print(f"full recompute of {counts['referrals']:,} referrals ({counts['flagged']:,} flagged): "
          f"{done - started:.1f} s wall, commit included; cpu: python {cpu1 - cpu0:.1f} s + postgres backend "
          f"{server:.1f} s = {cpu1 - cpu0 + server:.1f} s; load average {load0:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (2 cores)")
    print("  phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
          + f", commit {done - started - sum(phases.values()):.1f} s")


def registrations(app, count: int) -> None:
    """p50 of register_referral (the service call a registration makes, its audit event included),
    with the ring hook and without it, alternating, each in a rolled-back transaction."""
    from sqlalchemy import func, select

    from loyalty.directory.models import Customer, Staff
    from loyalty.extensions import db
    from verification.referrals import service as referrals
    from verification.rings import service as rings

    with app.app_context():
        consultant = db.session.scalars(select(Staff).where(Staff.role == "consultant").limit(1)).first()
        referrers = list(db.session.scalars(select(Customer).where(Customer.store_id == consultant.store_id)
                                            .order_by(Customer.id).limit(count)))
        taken = db.session.scalar(select(func.count(Customer.id)).where(Customer.phone.like("+86136%")))
        newcomers = [Customer(store_id=consultant.store_id, name="新客户", phone=f"+86136{taken + i:08d}")
                     for i in range(count)]
        db.session.add_all(newcomers)
        db.session.commit()
        timings = {True: [], False: []}
        for i in range(count):
            for hooked in (i % 2 == 0, i % 2 == 1):
                referrals.use_risk_assessment(rings.assess_registration if hooked else referrals._no_risk)
                referrer, referee = referrers[i], newcomers[i]
                started = time.perf_counter()
                referrals.register_referral(consultant, store_id=consultant.store_id, referrer_id=referrer.id,
                                            referee_id=referee.id, claim={
                                                "referrer_name": referrer.name, "referrer_phone": referrer.phone,
                                                "referrer_model": "速腾", "referrer_colour": "白色"})
                db.session.flush()
                timings[hooked].append(time.perf_counter() - started)
                db.session.rollback()
        referrals.use_risk_assessment(rings.assess_registration)
    with_hook, without = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"registration p50: {without * 1000:.1f} ms without the ring hook, {with_hook * 1000:.1f} ms with it "
          f"(+{(with_hook / without - 1):.0%}), {count} each")


def api_registrations(app, count: int) -> None:
    """p50 of the registration call itself, POST /api/v1/referrals through the app (test client:
    authentication, the service, the audit event, the commit and the response; no network), with
    the ring hook and without it, alternating. Each registration is committed (fresh new customers)."""
    from sqlalchemy import func, select

    from loyalty.auth import service as auth
    from loyalty.directory.models import Customer, Staff
    from loyalty.extensions import db
    from verification.referrals import service as referrals
    from verification.rings import service as rings

    with app.app_context():
        consultant = db.session.scalars(select(Staff).where(Staff.role == "consultant").limit(1)).first()
        token, _row = auth.issue_token(consultant, 1)
        store_id = consultant.store_id
        referrers = [(c.id, c.name, c.phone) for c in db.session.scalars(
            select(Customer).where(Customer.store_id == store_id).order_by(Customer.id).limit(count))]
        taken = db.session.scalar(select(func.count(Customer.id)).where(Customer.phone.like("+86137%")))
        newcomers = [Customer(store_id=store_id, name="新客户", phone=f"+86137{taken + i:08d}") for i in range(count)]
        db.session.add_all(newcomers)
        db.session.commit()
        newcomer_ids = [c.id for c in newcomers]
        db.session.remove()
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    timings = {True: [], False: []}
    for i in range(count):
        hooked = i % 2 == 0
        referrals.use_risk_assessment(rings.assess_registration if hooked else referrals._no_risk)
        rid, name, phone = referrers[i]
        body = {"store_id": store_id, "referrer_id": rid, "referee_id": newcomer_ids[i], "claim": {
            "referrer_name": name, "referrer_phone": phone, "referrer_model": "速腾", "referrer_colour": "白色"}}
        started = time.perf_counter()
        resp = client.post("/api/v1/referrals", json=body, headers=headers)
        timings[hooked].append(time.perf_counter() - started)
        assert resp.status_code == 201, resp.get_json()
    referrals.use_risk_assessment(rings.assess_registration)
    with_hook, without = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"POST /api/v1/referrals p50: {without * 1000:.1f} ms without the ring hook, {with_hook * 1000:.1f} ms "
          f"with it (+{(with_hook / without - 1):.0%}), {count // 2} each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--rings", type=int, default=40, help="seeded rings of each kind")
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--recompute-only", action="store_true", help="keep the group; time the full recompute")
    parser.add_argument("--registrations-only", action="store_true",
                        help="keep the group already written; time the registrations only")
    parser.add_argument("--api", action="store_true",
                        help="with --registrations-only: time the whole call, POST /api/v1/referrals, too")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    app = make_app(url)
    if args.registrations_only:
        registrations(app, args.registrations)
        return api_registrations(app, args.registrations) if args.api else None
    if args.recompute_only:
        return recompute_only(app)
    fresh_schema(app)
    started = time.perf_counter()
    g = write(app, args.referrals, args.rings, args.seed)
    print(f"wrote {len(g.referrals):,} referrals, {len(g.customers):,} customers in {time.perf_counter() - started:.0f} s")
    score_it(app, g)
    if args.registrations:
        registrations(app, args.registrations)


if __name__ == "__main__":
    main()
