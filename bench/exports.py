"""The payout export at scale (issue 16): the direct stream against the background job, and what
asking for a job costs.

    .venv/bin/python bench/exports.py --url postgresql://postgres@127.0.0.1:5432/wt_exp_1m [--repeat 9]

On a database built by bench/load.py (or one holding its payouts, stores, staff and transfers).
WRITES to it: export jobs (payout_exports), their audit events, and files under the instance
folder's exports/ (removed at the end). Prints, for an export of every payout (`from=1970-01-01`):
- the direct exports (GET /api/v1/payouts/export.csv and .xlsx, the bound raised so they are direct): time,
  peak RSS;
- the background job (`flask payouts exports run` in its own process): time, peak RSS, rows, size, for
  every payout and for the last 90 days (the same memory for 8x fewer rows: constant memory);
- asking for a job: POST /api/v1/payouts/exports and GET export.csv above the bound (202), p50 of
  --repeat calls, each with other filters so each creates a job (the same filters answer the open one).
Each export runs in a process of its own, so its peak RSS is its own (GNU time's maximum RSS).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench.load import bench_env  # noqa: E402

DIRECT = """
import resource, sys, time
from loyalty.app import create_app
from loyalty.settings import settings
app = create_app()
settings.export_direct_max_rows = 10**9
client = app.test_client()
token = client.post("/api/v1/auth/tokens", json={"username": "finance", "password": "demo-pass-2026"}).json["token"]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # argon2 (the login) peaks at 64 MB
start = time.perf_counter()
resp = client.get("/api/v1/payouts/export.FORMAT?from=1970-01-01", headers={"Authorization": "Bearer " + token})
size = sum(len(chunk) for chunk in resp.response)
print(resp.status_code, size, round(time.perf_counter() - start, 2), before)
"""

ASK = """
import statistics, time
from loyalty.app import create_app
from loyalty.payouts import export_jobs
from loyalty.settings import settings
app = create_app()
settings.export_direct_max_rows = 1000
export_jobs.MAX_WAITING = 10**6  # each call creates an export of its own here
client = app.test_client()
token = client.post("/api/v1/auth/tokens", json={"username": "finance", "password": "demo-pass-2026"}).json["token"]
auth = {"Authorization": "Bearer " + token}
statuses = ["awaiting_approval", "approved", "paid", "rejected", "cancelled", "clawed_back"]
posts, gets = [], []
for i in range(REPEAT):
    body = {"status": statuses[i % 6], "from": "%d-01-01" % (1971 + i)}
    start = time.perf_counter()
    resp = client.post("/api/v1/payouts/exports", json=body, headers=auth)
    posts.append(time.perf_counter() - start)
    assert resp.status_code == 202, resp.json
    start = time.perf_counter()
    resp = client.get("/api/v1/payouts/export.csv?from=%d-06-01" % (1971 + i), headers=auth)
    gets.append(time.perf_counter() - start)
    assert resp.status_code == 202, resp.status_code
print(round(statistics.median(posts) * 1000, 1), round(statistics.median(gets) * 1000, 1))
"""

ASK_ONE = """
from loyalty.app import create_app
from loyalty.extensions import db
from loyalty.directory.models import Staff
from loyalty.payouts import export_jobs
from sqlalchemy import select
app = create_app()
with app.app_context():
    finance = db.session.execute(select(Staff).where(Staff.username == "finance")).unique().scalar_one()
    print(export_jobs.request_export(finance, everything=%s).id)
    db.session.commit()
"""


def child(env: dict, args: list[str]) -> tuple[str, float, int]:
    """(stdout, seconds, peak RSS in MB) of a child process run to its end (GNU time's %e and %M)."""
    done = subprocess.run(["/usr/bin/time", "-f", "BENCH_TIME %e %M", *args], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{done.stderr[-3000:]}")
    seconds, kilobytes = done.stderr.rsplit("BENCH_TIME ", 1)[1].split()
    return done.stdout.strip(), float(seconds), int(kilobytes) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=9)
    opts = parser.parse_args()
    env = bench_env(opts.url)
    python, flask = sys.executable, [sys.executable, "-m", "flask", "--app", "wsgi"]
    exports = Path(env["INSTANCE_PATH"]) / "exports"
    env["EXPORT_DIR"] = str(exports)
    from sqlalchemy import create_engine, text
    engine = create_engine(opts.url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        payouts = conn.execute(text("SELECT count(*) FROM payouts")).scalar_one()
        conn.execute(text("DELETE FROM payout_exports"))
    print(f"payouts: {payouts:,}")

    for fmt in ("csv", "xlsx"):
        out, seconds, rss = child(env, [python, "-c", DIRECT.replace("FORMAT", fmt)])
        status, size, inside, before = out.split()
        print(f"direct export ({fmt}), everything: {inside} s ({seconds:.1f} s with the process), "
              f"{int(size) / 1e6:.1f} MB, peak RSS {rss} MB, {before} MB before the export (HTTP {status})")

    out, seconds, rss = child(env, [python, "-c", "from loyalty.app import create_app; create_app()"])
    print(f"(a bare app process: peak RSS {rss} MB, {seconds:.1f} s)")

    ask = ASK.replace("REPEAT", str(opts.repeat))
    out, _, _ = child(env, [python, "-c", ask])
    post_ms, get_ms = out.split()
    print(f"asking for a job (p50 of {opts.repeat}): POST /payouts/exports {post_ms} ms; "
          f"GET /payouts/export.csv above the bound (202) {get_ms} ms")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM payout_exports"))
    for label, everything in (("everything", True), ("the last 90 days", False)):
        export_id = int(child(env, [python, "-c", ASK_ONE % everything])[0].split()[-1])
        out, seconds, rss = child(env, [*flask, "payouts", "exports", "run"])
        with engine.begin() as conn:
            rows, size = conn.execute(text("SELECT rows_done, size_bytes FROM payout_exports WHERE id = :i AND "
                                           "status = 'done'"), {"i": export_id}).one()
            conn.execute(text("DELETE FROM payout_exports"))
        print(f"background export, {label}: {seconds:.1f} s for {rows:,} rows, {size / 1e6:.1f} MB, "
              f"peak RSS {rss} MB ({out})")
    for path in exports.glob("*payouts-*"):
        os.unlink(path)


if __name__ == "__main__":
    main()
