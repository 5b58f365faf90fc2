"""A bulk loader for the scale benches (issue 16): a database of N referrals written as the app writes them.

    .venv/bin/python bench/load.py --referrals 100000 [--url postgresql://postgres@127.0.0.1:5432/wt_perf_big]

DROPS AND RECREATES THE PUBLIC SCHEMA of the database in --url, unless it already holds at least
N referrals built by this loader (then it does nothing: build once, bench many times; --force rebuilds).

How: the rows are the app's own, multiplied.
1. `db upgrade`, the demo group (stores, a login per role) and then a template of referrals walked
   through the service functions to every state (tests/probes/seed.py: registered, acknowledged,
   delivered with a callback due, verified with its payout awaiting approval, approved, paid), each
   with its customers, vehicles, fact versions, delivery records, callbacks, ledger transfers,
   payouts and audit events, written two years ago (the clock moved back).
2. Every template row is copied R times with COPY (psycopg): ids offset per copy, every foreign key
   and every text reference (`referral:42`, `customer:8`, an audit event's entity id) moved with it,
   unique values (phones, VINs) made unique, times moved forward so the copies spread over the two
   years up to now.
3. What the app computes is computed again for every copy: each transfer's digest (SEC-1), each
   audit event's seq, previous hash and HMAC in one chain, the head row and its MAC, and the
   accounts' cached totals from their transfers; then a signed checkpoint of the head.
`flask ledger check` and `flask audit verify` pass afterwards (the loader runs both unless --no-check).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.copier import AuditChain, const, copy_table  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/wt_perf_big"
# Every bench process (loader, gunicorn, flask CLI) shares these so digests and the chain agree.
BENCH_ENV = {"SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
             "AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef0123456789ab",
             "INSTANCE_PATH": str(ROOT / "bench" / ".instance")}  # + /<database>: its own checkpoint file
TEMPLATE_PAIRS = 24  # referrals walked through the services (the seed keeps those whose customers have cars)
HISTORY = timedelta(days=730)
# Rows that belong to the group, not to a referral: never copied (their ids stay as they are).
WORLD = {"alembic_version", "audit_head", "stores", "store_policies", "staff", "question_templates",
         "api_tokens", "staff_sessions",
         "report_count_deltas", "report_counts", "payout_total_deltas", "payout_totals",
         "ledger_total_deltas", "ledger_totals"}  # derived: `flask reports rebuild` recomputes them at the end
WORLD_ENTITIES = {"store", "store_policy", "staff"}
ENTITY_TABLE = {"customer": "customers", "vehicle": "vehicles", "referral": "referrals", "payout": "payouts",
                "delivery": "deliveries", "delivery_check": "delivery_check_records", "callback": "callbacks"}
REF_TEXT = re.compile(r"\b(referral|customer|payout|callback)([: ])(\d+)\b")
EXTRA_LINKS = {"actor_id": "staff", "reward_transfer_id": "ledger_transfers", "reverse_transfer_id": "ledger_transfers",
               "offset_transfer_id": "ledger_transfers", "paid_transfer_id": "ledger_transfers",
               "clawback_transfer_id": "ledger_transfers"}


def bench_env(url: str) -> dict:
    env = dict(os.environ, **{k: os.environ.get(k, v) for k, v in BENCH_ENV.items()})
    env["DATABASE_URL"] = url
    if "INSTANCE_PATH" not in os.environ:
        env["INSTANCE_PATH"] = str(Path(BENCH_ENV["INSTANCE_PATH"]) / url.rsplit("/", 1)[-1])
    env["PYTHONPATH"] = str(ROOT)
    Path(env["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    return env


def _pg(url: str) -> str:
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url)


def referral_count(url: str) -> int:
    import psycopg
    with psycopg.connect(_pg(url)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM referrals").fetchone()[0]
        except psycopg.Error:
            return -1


def build_template(url: str) -> dict:
    """Migrate, then the demo group and the template referrals through the services, two years ago."""
    import psycopg
    with psycopg.connect(_pg(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    env = bench_env(url)
    for f in Path(env["INSTANCE_PATH"]).glob("audit_checkpoints*"):
        f.unlink()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    os.environ.update(env)
    import time_machine
    from sqlalchemy import text

    from loyalty.app import create_app
    from loyalty.demo import load_demo_data
    from loyalty.extensions import db
    from tests.probes.seed import seed_referrals
    app = create_app()
    with app.app_context(), time_machine.travel(datetime.now(UTC) - HISTORY, tick=True):
        load_demo_data(customers=0, echo=lambda *a: None)
        db.session.commit()
        base = {t.name: db.session.execute(text(f"SELECT coalesce(max(id), 0) FROM {t.name}")).scalar()
                for t in db.metadata.sorted_tables if "id" in t.c}
        load_demo_data(customers=TEMPLATE_PAIRS * 5 // 2, echo=lambda *a: None)
        db.session.commit()
        seed_referrals(count=TEMPLATE_PAIRS)
        db.session.commit()
        db.engine.dispose()
    return base


class Copier:
    """Copies of the template rows (id > base per table), one table at a time in foreign-key order."""

    def __init__(self, conn, base: dict[str, int], copies: int, metadata) -> None:
        self.conn, self.base, self.copies, self.md = conn, base, copies, metadata
        self.top = {t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0] for t in base}
        self.span = {t: self.top[t] - base[t] for t in base}
        self.shared: dict[str, set[int]] = {t: set() for t in base}  # template rows not copied
        now = datetime.now(UTC)
        t0 = conn.execute("SELECT min(registered_at) FROM referrals").fetchone()[0]
        # whole microseconds, so a copy's time is exact in its digest too
        self.step = timedelta(microseconds=(now - t0 - timedelta(hours=1)) // max(copies, 1) // timedelta(microseconds=1))
        self.keys: dict[int, str] = {}
        self.timing = {"python": 0.0, "copy": 0.0, "indexes": 0.0}
        self.phones: dict[str, int] = {}
        self.vins: dict[str, int] = {}

    def moved(self, table: str, old, r: int):
        if old is None or old <= self.base.get(table, 0) or old in self.shared[table]:
            return old
        return old + r * self.span[table]

    def text_ref(self, value: str, r: int) -> str:
        def sub(m):
            return f"{m[1]}{m[2]}{self.moved(ENTITY_TABLE[m[1]], int(m[3]), r)}"
        return REF_TEXT.sub(sub, value)

    def phone(self, value: str | None, r: int) -> str | None:
        i = self.phones.get(value)
        return value if i is None else f"+86199{r:05d}{i:03d}"


def replicate(url: str, base: dict[str, int], referrals: int, echo=print) -> None:
    import psycopg
    from sqlalchemy import MetaData

    os.environ.update(bench_env(url))
    from loyalty.app import create_app
    from loyalty.audit import service as audit
    from loyalty.extensions import db
    from loyalty.ledger import digests
    app = create_app()
    with app.app_context():
        metadata = db.metadata
    md = MetaData()
    md.tables = metadata.tables  # read-only use
    with psycopg.connect(_pg(url)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        per_copy = conn.execute("SELECT count(*) FROM referrals").fetchone()[0]
        copies = max(0, -(-referrals // per_copy) - 1)
        cp = Copier(conn, base, copies, metadata)
        for i, (phone,) in enumerate(conn.execute("SELECT phone FROM customers WHERE id > %s ORDER BY id",
                                                  (base["customers"],))):
            cp.phones[phone] = i
        # accounts of the group (store:1/...) are shared by every copy
        for (aid,) in conn.execute("SELECT id FROM ledger_accounts WHERE owner NOT LIKE 'customer:%%' AND id > %s",
                                   (base["ledger_accounts"],)):
            cp.shared["ledger_accounts"].add(aid)
        conn.execute("SET session_replication_role = replica")  # no FK triggers while copying
        conn.execute("SET maintenance_work_mem = '1GB'")  # the index builds after each COPY

        def phone_of(value):
            i = cp.phones.get(value)
            return const(value) if i is None else (lambda rs: [f"+86199{r:05d}{i:03d}" for r in rs])

        def vehicle(row):
            vin = row["vin"]
            if not vin:
                return {}
            head, tail = vin[:9], row["id"] % 1000
            return {"vin": lambda rs: [f"{head}{r:05d}{tail:03d}" for r in rs]}

        special = {"customers": lambda row: {"phone": phone_of(row["phone"])}, "vehicles": vehicle,
                   "referrals": lambda row: {"claim_referrer_phone": phone_of(row["claim_referrer_phone"])}}
        with app.app_context():
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            chain = AuditChain(audit._canonical, digests.Hmac(audit._chain_key()), head[0], head[1],
                               sealed=audit._sealed, seal=digests.Hmac(audit.settings.event_key))
            cp.keys = dict(conn.execute("SELECT id, key FROM ledger_transfers").fetchall())
            for table in metadata.sorted_tables:
                if table.name in WORLD or "id" not in table.c:
                    continue
                started = time.perf_counter()
                n = copy_table(cp, table.name, md, special.get(table.name),
                               audit=chain if table.name == "audit_events" else None,
                               mac=digests.settings.mac if table.name == "ledger_transfers" else None)
                echo(f"  {table.name}: {n:,} rows in {time.perf_counter() - started:.1f} s "
                     f"({', '.join(f'{k} {v:.1f} s' for k, v in cp.timing.items())} so far)")
            conn.execute("UPDATE audit_head SET seq = %s, hash = %s, mac = %s WHERE id = 1",
                         (chain.seq, chain.head,
                          audit._head_mac(chain.seq, chain.head,
                                          conn.execute("SELECT keyed_from FROM audit_head").fetchone()[0])))
        conn.execute("SET session_replication_role = origin")
        started = time.perf_counter()
        _cached_totals(conn)
        echo(f"  cached totals: {time.perf_counter() - started:.1f} s")
        for table in metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement and table.name not in ("audit_head",):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM {table.name}))")
        started = time.perf_counter()
        conn.commit()
        echo(f"  commit: {time.perf_counter() - started:.1f} s")
        conn.autocommit = True
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        echo(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")


def _cached_totals(conn) -> None:
    """Each account's cached totals from its transfers (what the engine keeps as it writes)."""
    conn.execute("""
        WITH legs AS (
          SELECT debit_account_id AS aid, CASE WHEN kind IN ('posted', 'post') THEN amount ELSE 0 END AS dp,
                 0 AS cp, CASE kind WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END AS dq, 0 AS cq
            FROM ledger_transfers
          UNION ALL
          SELECT credit_account_id, 0, CASE WHEN kind IN ('posted', 'post') THEN amount ELSE 0 END, 0,
                 CASE kind WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END FROM ledger_transfers),
        sums AS (SELECT aid, sum(dp) dp, sum(cp) cp, sum(dq) dq, sum(cq) cq FROM legs GROUP BY aid)
        UPDATE ledger_accounts a SET debits_posted = s.dp, credits_posted = s.cp, debits_pending = s.dq,
               credits_pending = s.cq FROM sums s WHERE s.aid = a.id""")


def flask(url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=bench_env(url), cwd=ROOT,
                          capture_output=True, text=True)
    out = (done.stdout + done.stderr).strip().splitlines()
    return time.perf_counter() - started, f"exit {done.returncode}: " + " / ".join(out[-2:])


def ensure(url: str, referrals: int, force: bool = False, check: bool = True, echo=print) -> int:
    have = referral_count(url)
    if have >= referrals and not force:
        echo(f"{url}: {have:,} referrals already loaded (reused)")
        return have
    started = time.perf_counter()
    base = build_template(url)
    echo(f"template through the services: {referral_count(url)} referrals in {time.perf_counter() - started:.1f} s")
    replicate(url, base, referrals, echo)
    seconds, said = flask(url, "reports", "rebuild")  # the report summaries, as after an upgrade
    echo(f"flask reports rebuild: {seconds:.1f} s, {said}")
    have = referral_count(url)
    echo(f"loaded {have:,} referrals in {time.perf_counter() - started:.1f} s")
    if check:
        for args in (("ledger", "check"), ("audit", "checkpoint"), ("audit", "verify")):
            seconds, said = flask(url, *args)
            echo(f"flask {' '.join(args)}: {seconds:.1f} s, {said}")
    return have


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--force", action="store_true", help="rebuild even if the database has N referrals")
    parser.add_argument("--no-check", action="store_true", help="skip ledger check / audit verify afterwards")
    args = parser.parse_args()
    ensure(args.url, args.referrals, force=args.force, check=not args.no_check)


if __name__ == "__main__":
    main()
