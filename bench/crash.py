"""A crash test (issue 14): gunicorn under write load, workers SIGKILLed at random, clients
retrying with their Idempotency-Key; then `ledger check`, `audit verify` and a count of
acknowledged-but-lost and applied-twice effects. Prints figures; not part of `make test`.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/wt_crash \\
        .venv/bin/python bench/crash.py [--kills 200] [--clients 8] [--workers 4] [--port 8765] [--aim busy]

DROPS AND RECREATES THE PUBLIC SCHEMA of the database in DATABASE_URL (default: wt_crash).

What it does:
1. `flask --app wsgi db upgrade` and `flask --app wsgi demo-data --customers 40` on the empty
   schema (fixed SECRET_KEY, AUDIT_HMAC_KEY and a fresh INSTANCE_PATH in every process);
2. starts `gunicorn --workers 4 wsgi:app`;
3. N client threads send money-moving calls, each with its own Idempotency-Key, and retry with the
   same key and body on a connection error or a 5xx until they get a 2xx or a 4xx:
   service visits (earn points), redemptions (spend points) as the SH01 service advisor, and admin
   adjustments (store points_issued -> customer points, a new lot) as the admin;
4. a killer thread SIGKILLs a random worker (a child of the gunicorn master) every 0.5-1.5 s
   until --kills kills (`--aim busy`: a worker serving a request at that moment, found through
   /proc/net/tcp, killed 0-30 ms later); the clients then finish the operations they have in flight;
5. with the server stopped: `flask ledger check`, `flask audit verify`, and from the database:
   - lost: an acknowledged (2xx) key whose ledger transfer (or redemption / lot) is missing;
   - doubled: a key with more than one transfer, redemption or lot, or a customer whose points
     balance differs from the sum of the acknowledged operations;
   - unacknowledged effects: a transfer whose key never got a 2xx (a 4xx after it was applied).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path("/work/main/.venv/bin")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/wt_crash"
PASSWORD = "demo-pass-2026"  # loyalty.demo.DEMO_PASSWORD

# the killer's randomness decides nothing in the app; a seed makes a run repeatable in its choices
rng_lock = threading.Lock()


def environment(url: str, instance: str) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT), INSTANCE_PATH=instance,
               SECRET_KEY="crash-bench-secret-key-0123456789abcdef",
               AUDIT_HMAC_KEY="crash-bench-audit-hmac-key-0123456789abcdef",
               SCHEDULER_EMBEDDED="0", LOGIN_RATE_LIMIT="1000 per minute")
    return env


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=check)


def pg_connect(url: str):
    import psycopg
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def setup(url: str, env: dict) -> dict:
    with pg_connect(url) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    flask(env, "db", "upgrade")
    flask(env, "demo-data", "--customers", "40")
    with pg_connect(url) as conn:
        store = conn.execute("SELECT id FROM stores WHERE code = 'SH01'").fetchone()[0]
        customers = [r[0] for r in conn.execute(
            "SELECT id FROM customers WHERE store_id = %s ORDER BY id", (store,)).fetchall()]
    # the accounts the admin adjustments move between: created once, here, through the service
    code = ("import json, sys\n"
            "from wsgi import app\n"
            "from loyalty.extensions import db\n"
            "from loyalty.ledger import service as ledger\n"
            "from loyalty.points.service import points_account\n"
            "store, customers = int(sys.argv[1]), json.loads(sys.argv[2])\n"
            "with app.app_context():\n"
            "    issued = ledger.account_for(f'store:{store}', 'points_issued', 'PTS')\n"
            "    held = {c: points_account(c).id for c in customers}\n"
            "    db.session.commit()\n"
            "    print(json.dumps({'issued': issued.id, 'held': held}))\n")
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code, str(store), json.dumps(customers)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    accounts = json.loads(out.strip().splitlines()[-1])
    return {"store": store, "customers": customers, "issued": accounts["issued"],
            "held": {int(k): v for k, v in accounts["held"].items()}}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0                 # operations (keys) started
        self.attempts = 0             # HTTP requests sent, retries included
        self.retried_ops = 0          # operations that needed at least one retry
        self.retries = 0              # retry requests
        self.replayed = 0             # final answers carrying Idempotent-Replayed: true
        self.finals = Counter()       # (kind, status[, code]) of final answers
        self.failures = Counter()     # what a failed attempt was (exception name or 5xx)
        self.acked: dict[str, dict] = {}   # key -> {"kind", "customer", "points", "body"}
        self.refused: dict[str, tuple] = {}  # key -> (kind, status, code)
        self.unfinished: list[str] = []


def request(port: int, method: str, path: str, body: dict | None, headers: dict) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"raw": raw[:200].decode(errors="replace")}
        return resp.status, payload, dict(resp.getheaders())
    finally:
        conn.close()


def until_final(port: int, method: str, path: str, body: dict | None, headers: dict, stats: Stats | None,
                deadline: float) -> tuple[int, dict, dict, int]:
    """Send, and resend the same request on a connection error or a 5xx, until a 2xx/4xx."""
    tries = 0
    while True:
        tries += 1
        if stats:
            with stats.lock:
                stats.attempts += 1
                if tries > 1:
                    stats.retries += 1
        try:
            status, payload, resp_headers = request(port, method, path, body, headers)
            if status < 500:
                return status, payload, resp_headers, tries
            failure = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as exc:
            failure = type(exc).__name__
        if stats:
            with stats.lock:
                stats.failures[failure] += 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"{method} {path}: no final answer before the deadline (last: {failure})")
        time.sleep(0.05 + random.random() * 0.15)


def login(port: int, username: str) -> str:
    status, payload, _, _ = until_final(port, "POST", "/api/v1/auth/tokens",
                                        {"username": username, "password": PASSWORD}, {}, None,
                                        time.monotonic() + 120)
    if status != 200 and status != 201:
        raise SystemExit(f"login {username}: {status} {payload}")
    return payload["token"]


def client(n: int, port: int, world: dict, tokens: dict, stats: Stats, stop: threading.Event, seed: int):
    rng = random.Random(seed * 1000 + n)
    customers = world["customers"]
    while not stop.is_set():
        customer = rng.choice(customers)
        roll = rng.random()
        key = f"crash-{n}-{uuid.uuid4().hex}"
        if roll < 0.45:
            kind, token = "visit", tokens["service"]
            path = f"/api/v1/customers/{customer}/service-visits"
            body = {"store_id": world["store"], "amount": rng.randrange(1000, 60000)}
        elif roll < 0.80:
            kind, token = "redemption", tokens["service"]
            path = f"/api/v1/customers/{customer}/redemptions"
            body = {"item": rng.choice(["CARWASH", "TYRE-CHECK"]), "quantity": rng.randrange(1, 3)}  # demo catalog
        else:
            kind, token = "adjustment", tokens["admin"]
            path = "/api/v1/ledger/transfers"
            body = {"debit_account_id": world["issued"], "credit_account_id": world["held"][customer],
                    "amount": rng.randrange(1, 20), "unit": "PTS", "reason": "crash bench goodwill"}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        with stats.lock:
            stats.sent += 1
        try:
            status, payload, resp_headers, tries = until_final(port, "POST", path, body, headers, stats,
                                                               time.monotonic() + 300)
        except TimeoutError:
            with stats.lock:
                stats.unfinished.append(key)
            continue
        with stats.lock:
            if tries > 1:
                stats.retried_ops += 1
            if resp_headers.get("Idempotent-Replayed") == "true":
                stats.replayed += 1
            if 200 <= status < 300:
                points = {"visit": payload.get("points"), "redemption": -body.get("points", 0),
                          "adjustment": body.get("amount")}[kind]
                stats.acked[key] = {"kind": kind, "customer": customer, "points": points, "body": body,
                                    "response": payload}
                stats.finals[(kind, status)] += 1
            else:
                code = payload.get("code")
                stats.refused[key] = (kind, status, code)
                stats.finals[(kind, status, code)] += 1


def worker_pids(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        out = subprocess.run(["ps", "--ppid", str(master), "-o", "pid="], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def busy_workers(pids: list[int], port: int) -> list[int]:
    """The workers holding an accepted connection on `port` (serving a request right now): the
    ESTABLISHED sockets of /proc/net/tcp whose local port is the server's, matched to each
    worker's file descriptors (the shared listening socket is in LISTEN state)."""
    serving = set()
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if int(parts[1].split(":")[1], 16) == port and parts[3] == "01":
                    serving.add(parts[9])
    except OSError:
        return []
    busy = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in serving:
                busy.append(pid)
                break
    return busy


def killer(master: int, target: int, kills: list, stop: threading.Event, seed: int, aim: str = "any",
           port: int = 0, hits: list | None = None):
    """SIGKILL a random worker every 0.5-1.5 s. With aim="busy", after the pause it waits (up to 3 s)
    for a worker that is serving a request and kills that one after 0-30 ms, so kills land anywhere
    in a request: before, inside and after its transaction."""
    rng = random.Random(seed)
    while len(kills) < target and not stop.is_set():
        time.sleep(rng.uniform(0.5, 1.5))
        pids = worker_pids(master)
        if not pids:
            continue
        pid = None
        if aim == "busy":
            give_up = time.monotonic() + 3
            while pid is None and time.monotonic() < give_up and not stop.is_set():
                busy = busy_workers(worker_pids(master), port)
                if busy:
                    pid = rng.choice(busy)
                    if hits is not None:
                        hits.append(pid)
                    time.sleep(rng.uniform(0, 0.03))
                else:
                    time.sleep(0.002)
        pid = pid or rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append((time.monotonic(), pid))
        except ProcessLookupError:
            pass


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            request(port, "GET", "/api/v1/health", None, {})
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer")


def examine(url: str, world: dict, stats: Stats) -> dict:
    """Count lost and doubled effects from the database (server stopped)."""
    with pg_connect(url) as conn:
        transfers = conn.execute("SELECT key, credit_account_id, debit_account_id, amount FROM ledger_transfers "
                                 "WHERE key LIKE 'points:visit:crash-%%' OR key LIKE 'points:redeem:crash-%%' "
                                 "OR key LIKE 'adjustment:crash-%%'").fetchall()
        redemptions = Counter(r[0] for r in conn.execute(
            "SELECT key FROM points_redemptions WHERE key LIKE 'crash-%%'").fetchall())
        lots_per_transfer = conn.execute(
            "SELECT transfer_id, count(*) FROM points_lots GROUP BY transfer_id HAVING count(*) > 1").fetchall()
        lot_transfers = {r[0] for r in conn.execute(
            "SELECT t.key FROM points_lots l JOIN ledger_transfers t ON t.id = l.transfer_id").fetchall()}
        balances = dict(conn.execute(
            "SELECT id, credits_posted - debits_posted FROM ledger_accounts WHERE id = ANY(%s)",
            (list(world["held"].values()),)).fetchall())
        stuck_claims = conn.execute("SELECT count(*) FROM idempotency_keys WHERE status_code IS NULL").fetchone()[0]
        claims = {r[0]: r[1] for r in conn.execute(
            "SELECT key, status_code FROM idempotency_keys WHERE key LIKE 'crash-%%'").fetchall()}
    prefix = {"visit": "points:visit:", "redemption": "points:redeem:", "adjustment": "adjustment:"}
    per_key = Counter()
    for key, *_ in transfers:
        bench_key = key.split(":", 2)[-1] if not key.startswith("adjustment:") else key[len("adjustment:"):]
        per_key[bench_key] += 1
    lost, doubled, unacked_effects = [], [], []
    for key, op in stats.acked.items():
        tkey = prefix[op["kind"]] + key
        has_transfer = per_key[key] >= 1
        if op["kind"] == "visit" and not op["points"]:
            continue  # a visit worth 0 points moves nothing
        if not has_transfer:
            lost.append((key, op["kind"], "no ledger transfer"))
        elif op["kind"] == "redemption" and redemptions[key] != 1:
            (lost if redemptions[key] == 0 else doubled).append((key, "redemption", f"{redemptions[key]} redemptions"))
        elif op["kind"] in ("visit", "adjustment") and tkey not in lot_transfers:
            lost.append((key, op["kind"], "transfer without its points lot"))
        if key not in claims:
            lost.append((key, op["kind"], "no stored idempotency claim"))
    for key, n in per_key.items():
        if n > 1:
            doubled.append((key, "transfer", f"{n} transfers"))
        if key not in stats.acked:
            unacked_effects.append((key, stats.refused.get(key)))
    for transfer_id, n in lots_per_transfer:
        doubled.append((f"transfer {transfer_id}", "lot", f"{n} lots for one transfer"))
    expected = defaultdict(int)
    for op in stats.acked.values():
        expected[op["customer"]] += op["points"] or 0
    balance_diffs = []
    for customer, account in world["held"].items():
        if balances.get(account, 0) != expected[customer]:
            balance_diffs.append((customer, balances.get(account, 0), expected[customer]))
    return {"lost": lost, "doubled": doubled, "balance_diffs": balance_diffs, "unacked_effects": unacked_effects,
            "stuck_claims": stuck_claims, "transfers": len(transfers)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--aim", choices=["any", "busy"], default="any",
                    help="any: a random worker; busy: a random worker serving a request right now")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.rstrip("/").rsplit("/", 1)[-1].startswith(("wt_crash", "crash")):
        print(f"refusing to drop the schema of {url}: use a database named wt_crash or crash*", file=sys.stderr)
        return 2
    instance = tempfile.mkdtemp(prefix="crash-bench-")
    env = environment(url, instance)
    started = time.monotonic()
    world = setup(url, env)
    print(f"setup: {len(world['customers'])} customers of store {world['store']}, "
          f"{time.monotonic() - started:.1f} s", flush=True)

    server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--workers", str(args.workers), "--bind",
                               f"127.0.0.1:{args.port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(Path(instance) / "gunicorn.log", "w"))
    stats, kills, hits, stop = Stats(), [], [], threading.Event()
    try:
        wait_ready(args.port, server)
        tokens = {"service": login(args.port, "service"), "admin": login(args.port, "admin")}
        load_started = time.monotonic()
        clients = [threading.Thread(target=client, args=(n, args.port, world, tokens, stats, stop, args.seed))
                   for n in range(args.clients)]
        for t in clients:
            t.start()
        k = threading.Thread(target=killer, args=(server.pid, args.kills, kills, stop, args.seed, args.aim, args.port, hits))
        k.start()
        while k.is_alive():
            k.join(10)
            print(f"  {time.monotonic() - load_started:6.0f} s: {len(kills)} kills, {stats.sent} sent, "
                  f"{len(stats.acked)} acknowledged, {stats.retries} retries", flush=True)
        stop.set()
        for t in clients:
            t.join()
        load_time = time.monotonic() - load_started
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    check = flask(env, "ledger", "check", check=False)
    verify = flask(env, "audit", "verify", check=False)
    found = examine(url, world, stats)
    elapsed = time.monotonic() - started

    def out(proc):
        return (proc.stdout + proc.stderr).strip().replace("\n", " | ")
    print()
    aimed = f"; aimed at a busy worker: {len(hits)}" if args.aim == "busy" else ""
    print(f"kills (SIGKILL to a worker)      {len(kills)}  (aim: {args.aim}{aimed})")
    print(f"operations sent                  {stats.sent}  ({stats.attempts} HTTP requests, {args.clients} clients, "
          f"{load_time:.0f} s of load)")
    print(f"acknowledged (2xx)               {len(stats.acked)}  "
          + ", ".join(f"{kind} {n}" for kind, n in sorted(Counter(o['kind'] for o in stats.acked.values()).items())))
    print(f"refused (final 4xx)              {len(stats.refused)}  "
          + ", ".join(f"{k[0]} {k[1]} {k[2]}: {n}" for k, n in sorted(stats.finals.items(), key=str) if len(k) == 3))
    print(f"no final answer                  {len(stats.unfinished)}")
    print(f"retried operations               {stats.retried_ops}  ({stats.retries} retries; "
          f"{stats.replayed} final answers were replays)")
    print("failed attempts                  " + ", ".join(f"{k}: {n}" for k, n in stats.failures.most_common()))
    print(f"lost (acked, effect missing)     {len({item[0] for item in found['lost']})} keys")
    for item in found["lost"][:20]:
        print(f"    {item}")
    print(f"doubled (applied more than once) {len({item[0] for item in found['doubled']})} keys")
    for item in found["doubled"][:20]:
        print(f"    {item}")
    print(f"balances != sum of acked ops     {len(found['balance_diffs'])} of {len(world['held'])} customers")
    for customer, have, want in found["balance_diffs"][:20]:
        print(f"    customer {customer}: points balance {have}, acknowledged operations add up to {want}")
    print(f"effects never acknowledged       {len(found['unacked_effects'])}")
    for item in found["unacked_effects"][:20]:
        print(f"    {item}")
    print(f"claims without a stored answer   {found['stuck_claims']}")
    print(f"bench transfers in the ledger    {found['transfers']}")
    print(f"flask ledger check               exit {check.returncode}: {out(check)}")
    print(f"flask audit verify               exit {verify.returncode}: {out(verify)}")
    print(f"elapsed                          {elapsed:.0f} s")
    bad = (found["lost"] or found["doubled"] or found["balance_diffs"] or found["unacked_effects"]
           or check.returncode or verify.returncode or stats.unfinished)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
