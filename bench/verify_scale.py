"""`flask ledger check` and `flask audit verify` at scale (issue 16), beside the machine's floor.

Builds (or reuses) a database with N audit events and N ledger transfers (spread over --accounts
customer accounts, default N / 16, and 16 store accounts) written in bulk with the
app's own formats (each event sealed and linked by loyalty.audit.formats, each transfer signed by
loyalty.ledger.digests), then times, side by side:

- `flask audit verify` and `flask ledger check` (the real commands, progress bars on stderr) at
  each `--jobs` value given (default 1 and 2);
- the same SELECTs the commands' spans run, streamed to Python with no work per row (binary cursor);
- PostgreSQL alone producing those rows (COPY to /dev/null: no client at all);
- PostgreSQL computing the same HMACs with pgcrypto, no Python: for the ledger the very check
  (each transfer's message, its HMAC under the digest key, compared), for the audit chain two
  HMACs per event over text of the same size;
- the HMACs alone in Python, nothing read.

Each line gives the rate and 10M rows at that rate. On the shared 2-core machine the other
workers' load moves every figure; the load average is printed before and after.

    python bench/verify_scale.py --url postgresql://postgres@127.0.0.1:5432/chain16_big --rows 1000000 [--jobs 1,2]
"""
from __future__ import annotations

import argparse
import hmac
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENV = {"SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
       "AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef0123456789ab"}
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def env_for(url: str) -> dict:
    env = dict(os.environ, **ENV, DATABASE_URL=url.replace("postgresql://", "postgresql+psycopg://", 1),
               PYTHONPATH=str(ROOT), INSTANCE_PATH=f"/tmp/verify_scale/{url.rsplit('/', 1)[-1]}")
    Path(env["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    return env


def flask(url: str, *args: str) -> tuple[float, str, float]:
    """(wall seconds, the last line it printed, CPU seconds of the command and its worker processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env_for(url), cwd=ROOT,
                          capture_output=True, text=True)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return took, (done.stdout.strip() or done.stderr.strip()).splitlines()[-1], cpu


def build(url: str, rows: int, accounts: int) -> None:
    import psycopg

    from loyalty.audit import formats
    from loyalty.ledger import digests
    formats.configure(ENV["AUDIT_HMAC_KEY"])
    digests.configure(digest_key=formats.derive_key(ENV["AUDIT_HMAC_KEY"], "ledger-transfer"),
                      unsigned_up_to=lambda: 0)
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        if have >= rows:
            print(f"reusing {url}: {have:,} audit events")
        else:
            build_events(conn, rows, formats)
        have = conn.execute("SELECT count(*) FROM ledger_transfers").fetchone()[0]
        held = conn.execute("SELECT count(*) FROM ledger_accounts").fetchone()[0]
        if have >= rows and held == accounts + STORES:
            print(f"reusing {url}: {have:,} transfers between {held:,} accounts")
        else:
            build_transfers(conn, rows, accounts, digests)


def build_events(conn, rows: int, formats) -> None:
    from loyalty.canonical import canonical_json
    conn.execute("TRUNCATE audit_events RESTART IDENTITY CASCADE")
    started = time.perf_counter()
    tip, keyed_from = formats.GENESIS, 1
    with conn.cursor().copy("COPY audit_events (id, seq, at, actor_id, actor, entity, entity_id, action, "
                            "before, after, prev_hash, hash, mac) FROM STDIN") as copy:
        for i in range(1, rows + 1):
            event = SimpleNamespace(id=i, seq=i, at=T0 + timedelta(seconds=i), actor_id=2, actor="consultant",
                                    entity="referral", entity_id=str(i // 3), action="registered",
                                    before=None if i % 2 else {"status": "acknowledged"},
                                    after={"status": "registered", "store_id": 1, "referee_id": i},
                                    prev_hash=tip)
            event.mac = formats._event_mac(event)
            event.hash = formats._digest(event)
            tip = event.hash
            copy.write_row((i, i, event.at, 2, "consultant", "referral", event.entity_id, "registered",
                            canonical_json(event.before) if event.before else None, canonical_json(event.after),
                            event.prev_hash, event.hash, event.mac))
    conn.execute("UPDATE audit_head SET seq = %s, hash = %s, keyed_from = %s, mac = %s WHERE id = 1",
                 (rows, tip, keyed_from, formats._head_mac(rows, tip, keyed_from)))
    conn.execute("SELECT setval('audit_events_id_seq', %s)", (rows,))
    conn.execute("VACUUM ANALYZE audit_events")
    print(f"  {rows:,} audit events in {time.perf_counter() - started:.1f} s")


STORES = 16  # expense accounts: one per store


def build_transfers(conn, rows: int, accounts: int, digests) -> None:
    """`rows` posted rewards from STORES store expense accounts to `accounts` customer payables, as a
    group's ledger spreads them (one account for every 16 transfers by default); the accounts'
    cached totals and the kept totals per (purpose, unit) as the engine would have left them."""
    conn.execute("TRUNCATE ledger_transfers RESTART IDENTITY CASCADE")
    conn.execute("DELETE FROM ledger_accounts")
    started = time.perf_counter()
    with conn.cursor().copy("COPY ledger_accounts (id, owner, purpose, unit, normal, debits_must_not_exceed_credits, "
                            "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, "
                            "credits_pending, created_at) FROM STDIN") as copy:
        for i in range(1, STORES + accounts + 1):
            owner, purpose, normal = ((f"store:{i}", "referral_expense", "debit") if i <= STORES
                                      else (f"customer:{i}", "reward_payable", "credit"))
            copy.write_row((i, owner, purpose, "CNY", normal, False, False, 0, 0, 0, 0, T0))
    with conn.cursor().copy("COPY ledger_transfers (id, key, kind, debit_account_id, credit_account_id, amount, "
                            "unit, reason, subject, actor_id, at, digest) FROM STDIN") as copy:
        for i in range(1, rows + 1):
            key, reason, subject, at = f"r{i}", f"Referral {i} reward", f"referral:{i}", T0 + timedelta(seconds=i)
            debit, credit, amount = 1 + i % STORES, STORES + 1 + i % accounts, 500 + i % 7 * 100
            digest = digests.transfer_digest(key, "posted", debit, credit, amount, "CNY", None, reason, subject,
                                             None, 2, at)
            copy.write_row((i, key, "posted", debit, credit, amount, "CNY", reason, subject, 2, at, digest))
    conn.execute("UPDATE ledger_accounts a SET debits_posted = s.n FROM (SELECT debit_account_id AS id, sum(amount) "
                 "AS n FROM ledger_transfers GROUP BY 1) s WHERE a.id = s.id")
    conn.execute("UPDATE ledger_accounts a SET credits_posted = s.n FROM (SELECT credit_account_id AS id, "
                 "sum(amount) AS n FROM ledger_transfers GROUP BY 1) s WHERE a.id = s.id")
    # the kept posted totals per (purpose, unit) (issue 16), as the engine would have left them
    total = conn.execute("SELECT sum(amount) FROM ledger_transfers").fetchone()[0]
    conn.execute("DELETE FROM ledger_total_deltas")
    conn.execute("DELETE FROM ledger_totals")
    conn.execute("INSERT INTO ledger_totals (purpose, unit, n) VALUES ('referral_expense', 'CNY', %s), "
                 "('reward_payable', 'CNY', %s)", (total, total))
    conn.execute("SELECT setval(pg_get_serial_sequence('ledger_transfers', 'id'), %s)", (rows,))
    conn.execute("SELECT setval(pg_get_serial_sequence('ledger_accounts', 'id'), %s)", (STORES + accounts,))
    conn.execute("VACUUM ANALYZE ledger_transfers")
    conn.execute("VACUUM ANALYZE ledger_accounts")
    print(f"  {rows:,} transfers between {STORES + accounts:,} accounts in {time.perf_counter() - started:.1f} s")


def stream_floor(url: str, sql: str) -> tuple[float, int]:
    """A binary server-side cursor over `sql`, rows fetched and dropped (psycopg, Python, no work per row)."""
    import psycopg
    started, n = time.perf_counter(), 0
    with psycopg.connect(url) as conn, conn.cursor(name="floor", binary=True) as cur:
        cur.execute(sql)
        while batch := cur.fetchmany(10_000):
            n += len(batch)
    return time.perf_counter() - started, n


def server_floor(url: str, sql: str, *setup: str) -> float:
    """What PostgreSQL alone spends on `sql` (one backend, nothing sent to a client): COPY to /dev/null."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in ("SET jit = off", "SET max_parallel_workers_per_gather = 0", *setup):
            conn.execute(statement)
        started = time.perf_counter()
        conn.execute(f"COPY ({sql}) TO '/dev/null'")
        return time.perf_counter() - started


def hash_floor(rows: int, per_row: int = 1) -> float:
    """rows x per_row HMAC-SHA256s of a 200-byte message in Python, nothing else."""
    key, message = b"k" * 32, b"m" * 200
    started = time.perf_counter()
    for _ in range(rows * per_row):
        hmac.digest(key, message, "sha256")
    return time.perf_counter() - started


# No Python at all: PostgreSQL (pgcrypto's hmac) computes what the commands compute per row. For the
# ledger that is the very check (each transfer's message, its HMAC under the digest key, compared);
# for the audit chain, two HMACs per event over text of the same size (the sealed JSON's exact bytes
# are Python's json.dumps, which SQL cannot rebuild; the row's own text stands in for them).
_PG_AUDIT_HMACS = ("SELECT count(*) FILTER (WHERE hmac(convert_to(concat_ws('|', e.id, e.at, e.actor_id, e.actor, "
                   "e.entity, e.entity_id, e.action, e.before, e.after), 'UTF8'), %(k)s, 'sha256') = "
                   "hmac(convert_to('[\"audit-link\",' || e.seq || ',\"' || e.prev_hash || '\",\"' || e.mac || '\"]', "
                   "'UTF8'), %(k)s, 'sha256')) FROM audit_events e")


def pg_hmac_floor(url: str, sql: str, key: bytes) -> float:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        conn.execute("SET jit = off")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        started = time.perf_counter()
        conn.execute(sql, {"k": key})
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/chain16_big")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", default="1,2", help="the --jobs values to time, comma-separated")
    parser.add_argument("--accounts", type=int, default=None,
                        help="customer accounts the transfers are spread over (default: one per 16 transfers)")
    args = parser.parse_args()
    name = args.url.rsplit("/", 1)[-1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)
    flask(args.url, "db", "upgrade")
    build(args.url, args.rows, args.accounts or max(1, args.rows // 16))
    import psycopg
    from sqlalchemy.dialects import postgresql

    from loyalty.audit import formats
    from loyalty.audit.walking import _SPAN_SQL
    from loyalty.ledger.check import SUMS_WORK_MEM, _account_check_query
    from loyalty.ledger.digest_walk import pg_digest_rows
    accounts_sql = str(_account_check_query("postgresql").compile(dialect=postgresql.dialect(),
                                                      compile_kwargs={"literal_binds": True}))
    digest_key = formats.derive_key(ENV["AUDIT_HMAC_KEY"], "ledger-transfer")
    with psycopg.connect(args.url) as conn:
        digest_sql = pg_digest_rows(conn.info.server_version) % (1, 2**31 - 1)
    audit_sql = _SPAN_SQL["postgresql"] % (1, 2**31 - 1)
    rows = []
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    for jobs in args.jobs.split(","):
        for label, cmd in (("flask audit verify", ("audit", "verify")), ("flask ledger check", ("ledger", "check"))):
            took, out, cpu = flask(args.url, *cmd, "--jobs", jobs)
            rows.append((f"{label} --jobs {jobs}", took, f"Python CPU {cpu:.1f} s; {out}"))
            print(f"  {rows[-1][0]}: {took:.1f} s, Python CPU {cpu:.1f} s, load {os.getloadavg()[0]:.1f}  {out[:70]}",
                  flush=True)
    rows.append(("audit rows streamed to Python, no work", *stream_floor(args.url, audit_sql)))
    rows.append(("digest rows streamed to Python, no work", *stream_floor(args.url, digest_sql)))
    rows.append(("audit rows, PostgreSQL alone (COPY to /dev/null)", server_floor(args.url, audit_sql), ""))
    rows.append(("digest rows, PostgreSQL alone (COPY to /dev/null)", server_floor(args.url, digest_sql), ""))
    rows.append(("ledger check's accounts statement, PostgreSQL alone",
                 server_floor(args.url, accounts_sql, f"SET work_mem = '{SUMS_WORK_MEM}'"), ""))
    rows.append(("audit: 2 HMACs per event in PostgreSQL, no Python",
                 pg_hmac_floor(args.url, _PG_AUDIT_HMACS, formats.derive_key(ENV["AUDIT_HMAC_KEY"], "audit-chain")),
                 ""))
    rows.append(("ledger digests checked in PostgreSQL, no Python",
                 pg_hmac_floor(args.url, f"SELECT count(*) FILTER (WHERE encode(hmac(m.msg, %(k)s, 'sha256'), 'hex') "
                                         f"IS DISTINCT FROM m.digest) FROM ({digest_sql.replace('%', '%%')}) "
                                         f"AS m(id, msg, digest)",
                               digest_key), ""))
    rows.append((f"{args.rows:,} x 2 HMAC-SHA256 in Python alone", hash_floor(args.rows, 2), ""))
    print(f"load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"| what ({args.rows:,} rows) | s | rows/s | 10M at that rate | note |")
    print("|---|---|---|---|---|")
    for label, took, note in rows:
        per_s = args.rows / took if took else 0
        print(f"| {label} | {took:.1f} | {per_s:,.0f} | {10_000_000 / per_s:.0f} s | {str(note)[:70]} |")


if __name__ == "__main__":
    main()
