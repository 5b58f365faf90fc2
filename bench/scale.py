"""p50 of each call at a small and a large database, side by side (issue 16's second table).

    .venv/bin/python bench/scale.py [--small URL] [--large URL] [--small-n 10000] [--large-n 100000] [--repeat 9]

Builds (or reuses) both databases with bench/load.py, then in one process per database drives the
app in-process (Flask's test client, no HTTP server: what grows with history is the queries, not the
transport) and prints the median of --repeat calls of each, the ratio large/small and how many SQL
statements each call ran. Writes take fresh customers made through the services (not timed), and
the callback claim and its answers work through the due queue as an agent would.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# --code: the app of another checkout first (before/after), this one for bench.load
sys.path[:0] = [os.environ.get("BENCH_CODE", str(ROOT))] + ([str(ROOT)] if os.environ.get("BENCH_CODE") else [])

from bench.load import _pg, bench_env, ensure  # noqa: E402

SMALL = "postgresql://postgres@127.0.0.1:5432/wt_perf_10k"
LARGE = "postgresql://postgres@127.0.0.1:5432/wt_perf_big"
PASSWORD = "demo-pass-2026"


def _timed(fn, repeat: int, prepare=None) -> tuple[float, int, int]:
    """(median ms, statements of the last call, last status); `prepare` makes each call's body untimed."""
    from sqlalchemy import event

    from loyalty.extensions import db
    times, status, count = [], 0, [0]

    def counter(*_a, **_k):
        count[0] += 1
    for _ in range(repeat):
        if prepare is not None:
            fn = prepare()
        count[0] = 0
        event.listen(db.engine, "before_cursor_execute", counter)
        started = time.perf_counter()
        status = fn()
        times.append((time.perf_counter() - started) * 1000)
        event.remove(db.engine, "before_cursor_execute", counter)
    return statistics.median(times), count[0], status


def measure(repeat: int) -> dict:
    """Runs inside a process whose environment names the database (bench_env)."""
    from sqlalchemy import func, select

    from loyalty.app import create_app
    from loyalty.directory import service as directory
    from loyalty.directory.models import Customer, Staff, Store
    from loyalty.extensions import db
    from tests.flows import truthful
    from verification.callbacks.models import Callback
    app = create_app()
    client = app.test_client()
    tokens = {}

    def auth(who):
        if who not in tokens:
            tokens[who] = client.post("/api/v1/auth/tokens", json={"username": who, "password": PASSWORD}).json["token"]
        return {"Authorization": f"Bearer {tokens[who]}"}

    def get(who, path):
        def call():
            resp = client.get(path, headers=auth(who))
            resp.get_data()  # a streamed body is produced only as it is read
            return resp.status_code
        return call

    import loyalty
    out = {"_code": str(Path(loyalty.__file__).parent.parent)}
    with app.app_context():
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        admin = db.session.execute(select(Staff).where(Staff.username == "admin")).unique().scalar_one()
        sample = db.session.execute(select(Customer).where(Customer.store_id == store.id)
                                    .order_by(Customer.id.desc()).limit(1)).unique().scalar_one()
        n = db.session.execute(select(func.count()).select_from(Callback)).scalar_one()
        # a cursor deep in the list (5,000 rows), as a client paging with `next` reaches it (page 101 of 50)
        from loyalty.paging import _encode
        from verification.referrals.models import Referral
        deep = db.session.execute(select(Referral.registered_at, Referral.id)
                                  .order_by(Referral.registered_at.desc(), Referral.id.desc())
                                  .offset(5_000).limit(1)).one()
        deep_cursor = _encode("n", list(deep))
        db.session.commit()
        fresh = iter(range(10**6))

        other = db.session.execute(select(Store).where(Store.code == "SH02")).unique().scalar_one()
        # an admin's four digits also match inside every phone that holds them, a full page at 1M: a
        # second probe is a manager's (his store's tails only, phones masked), with the tail whose
        # matches in his store are nearest two at each size, so that what is compared is history, not
        # the size of the answer
        by_tail = func.right(Customer.phone, 4)
        few, few_n = db.session.execute(select(by_tail, func.count()).where(Customer.store_id == store.id)
                                        .group_by(by_tail).order_by(func.abs(func.count() - 2), by_tail)
                                        .limit(1)).one()
        matches = {few: few_n, sample.phone[-4:]: db.session.execute(
            select(func.count()).where(by_tail == sample.phone[-4:])).scalar_one()}

        # a plate held by one car (the loader's plates are copies of the template's, 50,000 cars each at
        # 1M): the service desk's lookup of the car in front of it
        owner = directory.create_customer(admin, store_id=store.id, name="车主甲", phone=f"165{int(time.time()) % 10**8:08d}")
        plate = f"沪Z{int(time.time() * 1000) % 10**5:05d}"
        directory.add_vehicle(admin, owner.id, model="速腾", colour="白色", transmission="automatic", plate=plate)
        db.session.commit()

        def register(who="consultant", at=store):
            """A registration by `who` (the loader gave every copied referral to `consultant`: his
            180-day window holds a quarter of the group at 1M; `consultant_b` has no history)."""
            def prepare():
                i = next(fresh)
                tail = f"{int(time.time() * 1000) % 10**6:06d}{i % 100:02d}"
                a = directory.create_customer(admin, store_id=at.id, name="钱多多", phone=f"166{tail}")
                b = directory.create_customer(admin, store_id=at.id, name="孙少少", phone=f"167{tail}")
                db.session.commit()
                body = {"store_id": at.id, "referrer_id": a.id, "referee_id": b.id,
                        "claim": {"referrer_name": "钱多多", "referrer_phone": a.phone, "referrer_model": "速腾",
                                  "referrer_colour": "白色"}}
                return lambda: client.post("/api/v1/referrals", json=body, headers=auth(who)).status_code
            return prepare

        pending = []

        def claim():
            resp = client.post("/api/v1/callbacks/claim", headers=auth("agent"))
            if resp.status_code == 200 and resp.json:
                pending.append(resp.json["id"])
            return resp.status_code

        def answers():
            claim()
            cid = pending.pop()
            plan = db.session.get(Callback, cid)
            body = {"answers": [truthful(q) for q in plan.questions]}
            db.session.commit()
            return lambda: client.post(f"/api/v1/callbacks/{cid}/answers", json=body, headers=auth("agent")).status_code

        calls = {
            "POST /referrals (the loader's consultant)": ("write", register()),
            "POST /referrals (a consultant without history)": ("write", register("consultant_b", other)),
            "GET /referrals page 1 (admin)": get("admin", "/api/v1/referrals"),
            "GET /referrals page 1 (manager)": get("manager", "/api/v1/referrals"),
            "GET /referrals page 200 (admin)": get("admin", "/api/v1/referrals?page=200"),
            "GET /referrals page 200 (manager)": get("manager", "/api/v1/referrals?page=200"),
            "GET /referrals 5,000 rows deep by cursor (admin)": get("admin", f"/api/v1/referrals?cursor={deep_cursor}"),
            "GET /customers?q= name": get("admin", "/api/v1/customers?q=%E7%8E%8B%E4%BC%9F"),
            "GET /customers?q= phone tail (admin: tails and digits inside)": get("admin", f"/api/v1/customers?q={sample.phone[-4:]}"),
            "GET /customers?q= phone tail, manager, as many matches at both sizes":
                get("manager", f"/api/v1/customers?q={few}"),
            "GET /customers?q= a whole plate (service desk)": get("service", f"/api/v1/customers?q={quote(plate)}"),
            "GET /referrals?q= name (admin)": get("admin", "/api/v1/referrals?q=%E7%8E%8B%E4%BC%9F"),
            "GET /referrals?q= name (manager)": get("manager", "/api/v1/referrals?q=%E7%8E%8B%E4%BC%9F"),
            "GET /customers/{id}": get("consultant", f"/api/v1/customers/{sample.id}"),
            "fraud report (by store)": get("admin", "/api/v1/reports/fraud?by=store"),
            "fraud report (by consultant)": get("admin", "/api/v1/reports/fraud?by=consultant"),
            "liabilities report": get("admin", "/api/v1/reports/liabilities"),
            "timeliness report": get("admin", "/api/v1/reports/timeliness"),
            "GET /payouts/export.csv (default)": get("finance", "/api/v1/payouts/export.csv"),
            "POST /callbacks/claim": claim,
            "POST /callbacks/{id}/answers": ("write", answers),
        }
        for name, call in calls.items():
            if isinstance(call, tuple):  # a fresh body per call, prepared outside the clock
                ms, stmts, status = _timed(None, repeat, prepare=call[1])
            else:
                ms, stmts, status = _timed(call, repeat)
            out[name] = {"ms": ms, "statements": stmts, "status": status}
        out["GET /customers?q= phone tail (admin: tails and digits inside)"]["matches"] = matches[sample.phone[-4:]]
        out["GET /customers?q= phone tail, manager, as many matches at both sizes"]["matches"] = matches[few]
        out["_callbacks"] = n
    return out


def run(url: str, repeat: int, code: Path = ROOT) -> dict:
    env = bench_env(url)
    env["PYTHONPATH"] = f"{code}:{ROOT}"  # --code: the app of another checkout (before/after)
    env["BENCH_CODE"] = str(code)
    done = subprocess.run([sys.executable, __file__, "--measure", "--repeat", str(repeat)], env=env,
                          cwd=code, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def busy_today(url: str) -> str | None:
    """A warning when `url` holds more referrals registered in the last 24 hours than 3 of its
    average days: writes of a load run (bench/api.py) or of earlier scale runs, which the ring hook
    and the reports read live (the current day), so the ratios would measure them, not history."""
    import psycopg
    with psycopg.connect(_pg(url)) as conn:
        today, per_day = conn.execute(
            "SELECT count(*) FILTER (WHERE registered_at > now() - interval '1 day'), "
            "count(*) / greatest(extract(epoch FROM max(registered_at) - min(registered_at)) / 86400, 1) "
            "FROM referrals").fetchone()
    if today > 3 * per_day + 100:
        return (f"warning: {url.rsplit('/', 1)[-1]} holds {today:,} referrals registered in the last 24 hours, "
                f"{today / max(per_day, 1):.0f}x its average day: a load run's writes, which the ring hook and the "
                f"reports read live; rebuild it (bench/load.py --force) to compare history alone")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default=SMALL)
    parser.add_argument("--large", default=LARGE)
    parser.add_argument("--small-n", type=int, default=10_000)
    parser.add_argument("--large-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--code", type=Path, default=ROOT, help="measure the app of this checkout (default: this one)")
    parser.add_argument("--only", choices=("small", "large"), help="measure one database and print its JSON")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.repeat)))
        return
    if args.only:
        url = args.small if args.only == "small" else args.large
        ensure(url, args.small_n if args.only == "small" else args.large_n)
        print(json.dumps(run(url, args.repeat, args.code)))
        return
    have_small = ensure(args.small, args.small_n)
    have_large = ensure(args.large, args.large_n)
    for url in (args.small, args.large):
        if warning := busy_today(url):
            print(warning, flush=True)
    small, large = run(args.small, args.repeat, args.code), run(args.large, args.repeat, args.code)
    print(f"\np50 of {args.repeat} calls each (statements per call), {have_small:,} vs {have_large:,} referrals\n")
    print(f"| call | {have_small // 1000}k | {have_large // 1000}k | ratio |")
    print("|---|---|---|---|")
    for name in small:
        if name.startswith("_"):  # _callbacks, _code
            continue
        s, g = small[name], large[name]
        flag = "" if s["status"] < 400 and g["status"] < 400 else f" (status {s['status']}/{g['status']})"
        if "matches" in s:
            flag += f" ({s['matches']:,} / {g['matches']:,} matches)"
        print(f"| {name}{flag} | {s['ms']:.1f} ms ({s['statements']}) | {g['ms']:.1f} ms ({g['statements']}) | "
              f"{g['ms'] / s['ms']:.1f}× |")


if __name__ == "__main__":
    main()
