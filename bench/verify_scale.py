"""`flask ledger check` and `flask audit verify` at scale (issue 16), beside the machine's floor.

Builds (or reuses) a database with N audit events and N ledger transfers written in bulk with the
app's own formats (each event sealed and linked by loyalty.audit.formats, each transfer signed by
loyalty.ledger.digests), then times, side by side:

- `flask audit verify` and `flask ledger check` (the real commands, progress bars on stderr);
- a plain server-side SELECT stream of the same rows with no work per row (psycopg, Python);
- the HMACs alone: the same number of messages hashed in Python with nothing read.

    python bench/verify_scale.py --url postgresql://postgres@127.0.0.1:5432/chain16_big --rows 1000000
"""
from __future__ import annotations

import argparse
import hmac
import io
import json
import os
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


def flask(url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env_for(url), cwd=ROOT,
                          capture_output=True, text=True)
    took = time.perf_counter() - started
    return took, (done.stdout.strip() or done.stderr.strip()).splitlines()[-1]


def build(url: str, rows: int) -> None:
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
            return
        conn.execute("TRUNCATE audit_events, ledger_transfers RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM ledger_accounts")
        started = time.perf_counter()
        tip, keyed_from = formats.GENESIS, 1
        buf = io.StringIO()
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
                                json.dumps(event.before) if event.before else None, json.dumps(event.after),
                                event.prev_hash, event.hash, event.mac))
        conn.execute("UPDATE audit_head SET seq = %s, hash = %s, keyed_from = %s, mac = %s WHERE id = 1",
                     (rows, tip, keyed_from, formats._head_mac(rows, tip, keyed_from)))
        conn.execute("SELECT setval('audit_events_id_seq', %s)", (rows,))
        print(f"  {rows:,} audit events in {time.perf_counter() - started:.1f} s")
        del buf
        started = time.perf_counter()
        conn.execute("INSERT INTO ledger_accounts (id, owner, purpose, unit, normal, debits_must_not_exceed_credits, "
                     "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, credits_pending, "
                     "created_at) VALUES (1, 'store:1', 'referral_expense', 'CNY', 'debit', false, false, 0, 0, 0, 0, "
                     "now()), (2, 'customer:1', 'reward_payable', 'CNY', 'credit', false, false, 0, 0, 0, 0, now())")
        with conn.cursor().copy("COPY ledger_transfers (id, key, kind, debit_account_id, credit_account_id, amount, "
                                "unit, reason, subject, actor_id, at, digest) FROM STDIN") as copy:
            for i in range(1, rows + 1):
                key, reason, subject, at = f"r{i}", f"Referral {i} reward", f"referral:{i}", T0 + timedelta(seconds=i)
                digest = digests.transfer_digest(key, "posted", 1, 2, 500, "CNY", None, reason, subject, None, 2, at)
                copy.write_row((i, key, "posted", 1, 2, 500, "CNY", reason, subject, 2, at, digest))
        conn.execute("UPDATE ledger_accounts SET debits_posted = %s WHERE id = 1", (500 * rows,))
        conn.execute("UPDATE ledger_accounts SET credits_posted = %s WHERE id = 2", (500 * rows,))
        conn.execute("SELECT setval(pg_get_serial_sequence('ledger_transfers', 'id'), %s)", (rows,))
        conn.execute("SELECT setval(pg_get_serial_sequence('ledger_accounts', 'id'), 2)")
        conn.execute("VACUUM ANALYZE audit_events")
        conn.execute("VACUUM ANALYZE ledger_transfers")
        print(f"  {rows:,} transfers in {time.perf_counter() - started:.1f} s")


def stream_floor(url: str, sql: str) -> tuple[float, int]:
    """A server-side cursor over `sql`, rows fetched and dropped."""
    import psycopg
    started, n = time.perf_counter(), 0
    with psycopg.connect(url) as conn, conn.cursor(name="floor") as cur:
        cur.execute(sql)
        while batch := cur.fetchmany(10_000):
            n += len(batch)
    return time.perf_counter() - started, n


def hash_floor(rows: int) -> float:
    """rows HMAC-SHA256s of a 200-byte message, nothing else."""
    key, message = b"k" * 32, b"m" * 200
    started = time.perf_counter()
    for _ in range(rows):
        hmac.digest(key, message, "sha256")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/chain16_big")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    name = args.url.rsplit("/", 1)[-1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)
    took, out = flask(args.url, "db", "upgrade")
    build(args.url, args.rows)
    print(f"load average {os.getloadavg()[0]:.2f}")
    rows = []
    for label, cmd in (("flask audit verify", ("audit", "verify")), ("flask ledger check", ("ledger", "check"))):
        took, out = flask(args.url, *cmd)
        rows.append((label, took, out.splitlines()[-1] if out else ""))
    from loyalty.audit.service import _PG_CHAINED
    from loyalty.ledger.digests import _PG_DIGEST_ROWS
    for label, sql in (("the verify's SELECT, streamed, no work", _PG_CHAINED % {"low": 1, "high": 2**31 - 1}),
                       ("the check's digest SELECT, streamed", _PG_DIGEST_ROWS)):
        took, n = stream_floor(args.url, sql)
        rows.append((label, took, f"{n:,} rows"))
    rows.append((f"{args.rows:,} HMAC-SHA256 in Python", hash_floor(args.rows), ""))
    print(f"load average {os.getloadavg()[0]:.2f}")
    for label, took, note in rows:
        per_s = args.rows / took if took else 0
        print(f"{label:40s} {took:8.1f} s  {per_s:>10,.0f}/s  -> 10M in {10_000_000 / per_s:6.0f} s   {note[:90]}")


if __name__ == "__main__":
    main()
