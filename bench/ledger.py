"""Ledger throughput on PostgreSQL beside pgbench, measured in one run.

    .venv/bin/python bench/ledger.py [--seconds 8] [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

Uses its own database (`bench`, dropped and re-created), never `test`. Prints:
- pgbench single-row INSERT TPS at 1 and 8 clients;
- pgbench calling the ledger's one-statement transfer (`SELECT ledger_apply(...)`, migration 0006)
  at the same client counts: the database's own floor for a transfer, with no Python at all;
- posted transfers/s one per commit through `ledger.service.submit()` (the transfer is the
  transaction: one round trip), measured in turns with pgbench calling ledger_apply (`--rounds`,
  the median of each: the machine is shared) and given as a ratio to it (issue 16: >= 0.8x), through `transfer()` + `db.session.commit()` (how a business
  operation moves money inside its own transaction: BEGIN, the transfer, COMMIT), and through
  `transfer_batch()` in batches of 1,000 per commit, at 1 and 8 clients (processes, not
  threads: the GIL would make 8 threads one CPU), with the ratios to pgbench;
- how long `ledger check` takes over 1,000,000 transfers (bulk-copied, each with its digest).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="ledger-bench-"))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def _pg_parts(url: str) -> dict:
    m = re.match(r"postgresql(?:\+psycopg)?://(?P<user>[^@:/]+)?(?::[^@]*)?@?(?P<host>[^:/]+)?(?::(?P<port>\d+))?/(?P<db>\w+)", url)
    return {k: v for k, v in m.groupdict().items()}


def _psql(parts: dict, sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", "-q", "-h", parts["host"], "-p", parts["port"] or "5432", "-U", parts["user"], "-d", db,
                    "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


def _make_app(url: str):
    from loyalty.app import create_app
    from loyalty.config import Config

    class BenchConfig(Config):
        def __init__(self):
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = url
    return create_app(BenchConfig())


def setup_database(url: str) -> None:
    parts = _pg_parts(url)
    _psql(parts, f'DROP DATABASE IF EXISTS "{parts["db"]}"')
    _psql(parts, f'CREATE DATABASE "{parts["db"]}"')
    from flask_migrate import upgrade
    app = _make_app(url)
    with app.app_context():
        import logging
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
    _psql(parts, "CREATE TABLE pgb_insert (id bigserial PRIMARY KEY, v integer NOT NULL, "
                 "at timestamptz NOT NULL DEFAULT now())", db=parts["db"])
    # pgbench's own clients get a pair of accounts each: ids 1..32 (the database is new)
    _psql(parts, "INSERT INTO ledger_accounts (owner, purpose, unit, normal, debits_must_not_exceed_credits, "
                 "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, credits_pending, "
                 "created_at) SELECT CASE WHEN g % 2 = 1 THEN 'store:' ELSE 'customer:' END || (90000 + (g + 1) / 2), "
                 "CASE WHEN g % 2 = 1 THEN 'referral_expense' ELSE 'reward_payable' END, 'CNY', "
                 "CASE WHEN g % 2 = 1 THEN 'debit' ELSE 'credit' END, g % 2 = 0, false, 0, 0, 0, 0, now() "
                 "FROM generate_series(1, 32) g ORDER BY g", db=parts["db"])


# The ledger's floor: pgbench itself (a C client, no Python) calling the one-statement transfer.
# The digest (SEC-1) is computed in Python on the real path; pgbench passes a constant of the same size,
# and check_million() removes these rows before it checks.
PGBENCH_TRANSFER = """\\set k random(1, 1000000000000)
SELECT ledger_apply('pgb-' || :client_id || '-' || :k, 'posted', 1 + 2 * :client_id, 2 + 2 * :client_id, 100,
                    'CNY', NULL, 'bench reward', 'referral:1', NULL, now(), repeat('0', 64));"""


def pgbench_tps(url: str, clients: int, seconds: int, sql: str = "INSERT INTO pgb_insert (v) VALUES (1);",
                mode: str = "simple") -> float:
    parts = _pg_parts(url)
    exe = shutil.which("pgbench") or (sorted(glob("/usr/lib/postgresql/*/bin/pgbench")) or [None])[-1]
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql + "\n")
        script = f.name
    out = subprocess.run([exe, "-n", "-h", parts["host"], "-p", parts["port"] or "5432", "-U", parts["user"],
                          "-c", str(clients), "-j", str(clients), "-T", str(seconds), "-M", mode, "-f", script,
                          parts["db"]],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(script)
    m = re.search(r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)", out)
    return float(m.group(1))


def _worker(url, client, mode, seconds, barrier, results) -> None:
    """One client process: its own app, session and pair of accounts; transfers until the deadline."""
    try:
        _work(url, client, mode, seconds, barrier, results)
    except BaseException as exc:  # let the parent stop at once instead of waiting for a result
        barrier.abort()
        results.put(exc)
        raise


def _work(url, client, mode, seconds, barrier, results) -> None:
    app = _make_app(url)
    from loyalty.extensions import db
    from loyalty.ledger import service as ledger
    with app.app_context():
        src = ledger.account_for(f"store:{client}", "referral_expense", "CNY").id
        dst = ledger.account_for(f"customer:{client}", "reward_payable", "CNY").id
        db.session.commit()
        tag = uuid.uuid4().hex[:8]
        n = 0
        # warm up (statement caches, prepared statements), then wait for the common start
        for _ in range(20):
            ledger.transfer(debit=src, credit=dst, amount=100, unit="CNY", reason="warm-up", subject=None,
                            key=f"w-{tag}-{n}")
            db.session.commit()
            n += 1
        barrier.wait()  # every client warmed up: start together
        start_at = time.time()
        done, deadline = 0, start_at + seconds
        while time.time() < deadline:
            if mode == "single":
                ledger.submit(debit=src, credit=dst, amount=100, unit="CNY", reason="bench reward",
                              subject=f"referral:{done}", key=f"s-{tag}-{done}")
                done += 1
                continue  # committed already
            if mode == "session":
                ledger.transfer(debit=src, credit=dst, amount=100, unit="CNY", reason="bench reward",
                                subject=f"referral:{done}", key=f"t-{tag}-{done}")
                done += 1
            else:
                items = [dict(debit=src, credit=dst, amount=100, unit="CNY", reason="bench reward",
                              subject=f"referral:{done + i}", key=f"b-{tag}-{done + i}") for i in range(1000)]
                ledger.transfer_batch(items)
                done += 1000
            db.session.commit()
        elapsed = time.time() - start_at
        db.session.remove()
        results.put(done / elapsed)


def ledger_rate(url: str, clients: int, mode: str, seconds: int) -> float:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, c + 1 + {"single": 0, "session": 100, "batch": 200}[mode] + clients * 1000,
                                               mode, seconds, barrier, results)) for c in range(clients)]
    for proc in procs:
        proc.start()
    rates = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    failed = [r for r in rates if isinstance(r, BaseException)]
    if failed:
        raise SystemExit(f"a client failed: {failed[0]!r}")
    for proc in procs:
        proc.join()
    return sum(rates)


def check_million(url: str) -> tuple[int, float, list[str]]:
    """Bulk-insert 1,000,000 posted transfers over 1,000 account pairs, each with its digest
    (computed here, copied in with COPY), fix the cached totals, time check()."""
    app = _make_app(url)
    from datetime import datetime

    from sqlalchemy import text

    from loyalty.extensions import db
    from loyalty.ledger import service as ledger
    from loyalty.reports import totals
    with app.app_context():
        # pgbench's rows carry a placeholder digest: take them and their accounts' totals out
        db.session.execute(text("DELETE FROM ledger_transfers WHERE key LIKE 'pgb-%'"))
        db.session.execute(text("UPDATE ledger_accounts SET debits_posted = 0, credits_posted = 0, "
                                "debits_pending = 0, credits_pending = 0 WHERE id <= 32"))
        db.session.execute(text("""
            INSERT INTO ledger_accounts (owner, purpose, unit, normal, debits_must_not_exceed_credits,
                credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, credits_pending,
                created_at)
            SELECT 'store:' || (10000 + g), 'referral_expense', 'CNY', 'debit', false, false, 0, 0, 0, 0, now()
              FROM generate_series(1, 1000) g
            UNION ALL
            SELECT 'customer:' || (10000 + g), 'reward_payable', 'CNY', 'credit', true, false, 0, 0, 0, 0, now()
              FROM generate_series(1, 1000) g"""))
        ids = dict(db.session.execute(text("SELECT owner || '/' || purpose, id FROM ledger_accounts")).all())
        at = datetime.now(UTC)
        cursor = db.session.connection().connection.driver_connection.cursor()
        with cursor.copy("COPY ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, "
                         "reason, subject, at, digest) FROM STDIN") as copy:
            for g in range(1, 1_000_001):
                pair = 10000 + 1 + g % 1000
                row = (f"bulk-{g}", "posted", ids[f"store:{pair}/referral_expense"],
                       ids[f"customer:{pair}/reward_payable"], 100 + g % 50, "CNY", None, "bench bulk reward",
                       f"referral:{g}", None, None, at)
                copy.write_row(row[:6] + row[7:9] + (at, ledger.transfer_digest(*row)))
        db.session.execute(text("""
            UPDATE ledger_accounts a SET debits_posted = a.debits_posted + s.d, credits_posted = a.credits_posted + s.c
              FROM (SELECT aid, sum(d) AS d, sum(c) AS c FROM (
                      SELECT debit_account_id AS aid, amount AS d, 0 AS c FROM ledger_transfers WHERE key LIKE 'bulk-%'
                      UNION ALL
                      SELECT credit_account_id, 0, amount FROM ledger_transfers WHERE key LIKE 'bulk-%') x
                    GROUP BY aid) s
             WHERE a.id = s.aid"""))
        totals.rebuild_posted()  # the kept posted totals (issue 16): pgbench's deltas went with its rows
        db.session.commit()
        db.session.execute(text("ANALYZE ledger_transfers"))
        db.session.commit()
        total = db.session.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
        started = time.perf_counter()
        violations = ledger.check()
        took = time.perf_counter() - started
        db.session.rollback()
        return total, took, violations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="turns of pgbench/submit() per client count (median)")
    args = parser.parse_args()
    if args.url.rstrip("/").endswith("/test"):
        sys.exit("refusing to run on the test database")
    print(f"ledger bench on {args.url} ({os.cpu_count()} CPUs), {args.seconds} s per measurement")
    setup_database(args.url)
    rows = []
    native_sql = PGBENCH_TRANSFER.replace("\n                    ", " ")
    for clients in (1, 8):
        pg = pgbench_tps(args.url, clients, args.seconds)
        # the floor of the one-per-commit path, measured in turns with it (the machine is shared: a
        # quiet or busy moment then falls on both); pgbench with prepared statements, as psycopg uses
        natives, singles = [], []
        for _ in range(args.rounds):
            natives.append(pgbench_tps(args.url, clients, args.seconds, native_sql, mode="prepared"))
            singles.append(ledger_rate(args.url, clients, "single", args.seconds))
        native, single = statistics.median(natives), statistics.median(singles)
        session = ledger_rate(args.url, clients, "session", args.seconds)
        batch = ledger_rate(args.url, clients, "batch", args.seconds)
        rows.append((clients, pg, single, session, batch, native))
        print(f"  {clients} client(s): pgbench insert {pg:8.0f} TPS | pgbench calling ledger_apply {native:7.0f} TPS "
              f"({'/'.join(f'{n:.0f}' for n in natives)}) | submit() one per commit {single:7.0f}/s "
              f"({'/'.join(f'{n:.0f}' for n in singles)}; {single / native:.2f}x ledger_apply) | transfer()+commit "
              f"{session:7.0f}/s ({session / native:.2f}x) | batches of 1,000 {batch:8.0f}/s | load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    total, took, violations = check_million(args.url)
    print()
    print("| clients | pgbench single-row insert TPS | pgbench calling ledger_apply (no Python) | "
          "submit(), one per commit | ratio to ledger_apply | transfer() + commit | ratio | batches of 1,000 |")
    print("|---|---|---|---|---|---|---|---|")
    for clients, pg, single, session, batch, native in rows:
        print(f"| {clients} | {pg:.0f} | {native:.0f} | {single:.0f} | {single / native:.2f}x "
              f"| {session:.0f} | {session / native:.2f}x | {batch:.0f} |")
    print()
    print(f"ledger check over {total:,} transfers: {took:.2f} s, {len(violations)} violation(s)")
    targets = [("one per commit >= 0.8x pgbench calling ledger_apply at 1 client", rows[0][2] >= 0.8 * rows[0][5]),
               ("one per commit >= 0.8x pgbench calling ledger_apply at 8 clients", rows[1][2] >= 0.8 * rows[1][5]),
               ("batched >= 10,000 transfers/s", max(r[4] for r in rows) >= 10_000),
               ("check <= 10 s over 1,000,000 transfers", took <= 10 and total >= 1_000_000)]
    for name, met in targets:
        print(f"  target {'met' if met else 'MISSED'}: {name}")


if __name__ == "__main__":
    main()
