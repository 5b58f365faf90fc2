"""p50 of the customer search by name (GET /api/v1/customers?q=) on one bench database (issue 16).

    .venv/bin/python bench/name_search.py --url postgresql://postgres@127.0.0.1:5432/wt_perf_big [--repeat 15] [--code DIR]

Reads only (the database must already hold bench/load.py's data; nothing is written). In-process
through Flask's test client, as bench/scale.py measures: for 1-, 2- and 3-character names (a common
surname, a name that matches nothing, the bench's own 王伟), a phone's last 4 digits, and a next page,
as an admin (every store) and as a store's manager, it prints the median milliseconds, the rows on the
page, the `total` shown and how many SQL statements the call ran, as one JSON line per call.
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
# --code: the app of another checkout (before/after), then this one for bench.load
sys.path[:0] = [os.environ.get("BENCH_CODE", str(ROOT)), str(ROOT)]

PASSWORD = "demo-pass-2026"
QUERIES = ("王伟", "王", "明", "王明", "潘远志", "欣秀", "张三丰", "Zz")


def measure(repeat: int) -> list[dict]:
    from sqlalchemy import event, select

    import loyalty
    from loyalty.app import create_app
    from loyalty.directory.models import Customer
    from loyalty.extensions import db
    print(json.dumps({"code": str(Path(loyalty.__file__).parent.parent)}), flush=True)
    app = create_app()
    client = app.test_client()
    with app.app_context():
        tail = db.session.execute(select(Customer.phone).order_by(Customer.id.desc()).limit(1)).scalar_one()[-4:]
        db.session.rollback()
    count = [0]

    def counter(*_a, **_k):
        count[0] += 1
    out = []
    for who in ("admin", "manager"):
        token = client.post("/api/v1/auth/tokens", json={"username": who, "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for q in (*QUERIES, tail):
            path = f"/api/v1/customers?q={quote(q)}"
            first = client.get(path, headers=headers).json
            paths = [(q, path)]
            if first.get("next"):
                paths.append((f"{q} (next page)", f"{path}&cursor={first['next']}"))
            for label, url in paths:
                times, body = [], None
                for _ in range(repeat):
                    count[0] = 0
                    with app.app_context():
                        event.listen(db.engine, "before_cursor_execute", counter)
                    started = time.perf_counter()
                    resp = client.get(url, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                    with app.app_context():
                        event.remove(db.engine, "before_cursor_execute", counter)
                    body = resp.json
                out.append({"who": who, "q": label, "ms": round(statistics.median(times), 1), "status": resp.status_code,
                            "rows": len(body.get("items", [])), "total": body.get("total"),
                            "total_exact": body.get("total_exact"), "statements": count[0]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--code", type=Path, default=ROOT, help="measure the app of this checkout (default: this one)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        for row in measure(args.repeat):
            print(json.dumps(row, ensure_ascii=False))
        return
    from bench.load import bench_env
    env = dict(bench_env(args.url), BENCH_CODE=str(args.code), PYTHONPATH=f"{args.code}:{ROOT}")
    done = subprocess.run([sys.executable, __file__, "--url", args.url, "--measure", "--repeat", str(args.repeat)],
                          env=env, cwd=args.code, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    sys.stdout.write(done.stdout)


if __name__ == "__main__":
    os.environ.setdefault("FLASK_DEBUG", "0")
    main()
