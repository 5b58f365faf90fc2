"""Load benchmark of the service's busiest calls (issue 16): gunicorn + wrk, beside a floor and pgbench.

    .venv/bin/python bench/api.py [--referrals 10000] [--url postgresql://postgres@127.0.0.1:5432/wt_perf_10k]
                                  [--clients 50] [--seconds 60] [--workers 4] [--only claim] [--steady 20]

1. Builds or reuses a database of N referrals (bench/load.py).
2. Prepares every request in-process (bench/api_setup.py): each one its own data (fresh customers for
   a registration, a held callback for an answer), and the SQL one request of each endpoint runs, as a
   pgbench script.
3. Starts gunicorn on the app (sync workers, --workers, default 4: two per core, as the requests wait
   on PostgreSQL about as long as they compute) and on bench/floor_app.py (one INSERT through SQLAlchemy
   Core, same settings), and drives each with wrk (bench/api.lua: statuses counted, non-2xx reported)
   at --clients for --seconds; then pgbench runs the endpoint's SQL at the same concurrency.
4. Prints throughput, p50/p95/p99, the ratio to the floor and pgbench's tps per endpoint.

--steady R: instead, a mix of the calls at R requests/s for --seconds, open-loop (bench/openloop.py:
Poisson arrivals fixed in advance, each request's latency counted from its scheduled instant), printing
p50/p95/p99 per call and in all (target: p95 <= 50 ms). During the claim runs the harness lapses the claims every 0.2 s (SQL), so each claim takes a
fresh callback instead of handing back the one the agent holds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_setup import ENDPOINTS, slug  # noqa: E402
from bench.load import _pg, bench_env, ensure  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/wt_perf_10k"
THREADS = 2  # wrk threads: one per core


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(app: str, env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--backlog", "2048", "--timeout", "120", "--log-level", "warning", app],
                            env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            warm_up(port, workers)
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"gunicorn {app} did not start: {log.read_text()[-2000:]}")


def warm_up(port: int, workers: int) -> None:
    """Until every worker has loaded the app (a worker boots after the port opens): rounds of concurrent
    requests until a whole round answers within a second."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.error import HTTPError
    from urllib.request import urlopen

    def one(_):
        started = time.perf_counter()
        try:
            urlopen(f"http://127.0.0.1:{port}/nothing", timeout=60).read()
        except HTTPError:
            pass
        return time.perf_counter() - started
    with ThreadPoolExecutor(2 * workers) as pool:
        for _ in range(60):
            if max(pool.map(one, range(4 * workers))) < 1.0:
                return


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wrk(port: int, data: Path, clients: int, seconds: int, out: Path) -> dict:
    env = dict(os.environ, BENCH_DATA=str(data), BENCH_OUT=str(out), BENCH_THREADS=str(THREADS))
    threads = min(THREADS, clients)
    env["BENCH_THREADS"] = str(threads)
    subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s",
                    "-s", str(ROOT / "bench" / "api.lua"), f"http://127.0.0.1:{port}"],
                   env=env, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


def _pgbench_args(url: str, script: Path, clients: int, threads: int, seconds: int) -> list[str]:
    return ["pgbench", "-n", "-M", "simple", "-c", str(clients), "-j", str(threads), "-T", str(seconds),
            "-f", str(script), _pg(url)]


def _pgbench_said(said: str, code: int) -> dict:
    tps = next((float(line.split("=")[1].split()[0]) for line in said.splitlines() if line.startswith("tps =")), None)
    lat = next((float(line.split("=")[1].split()[0]) for line in said.splitlines()
                if line.startswith("latency average")), None)
    failed = next((line.strip() for line in said.splitlines() if "failed" in line and "transactions" in line), "")
    return {"tps": tps, "latency_ms": lat, "failed": failed, "exit": code, "error": "" if tps else said.strip()[-300:]}


def pgbench(url: str, script: Path, clients: int, seconds: int) -> dict:
    done = subprocess.run(_pgbench_args(url, script, clients, THREADS, seconds), capture_output=True, text=True)
    return _pgbench_said(done.stdout + done.stderr, done.returncode)


def pgbench_each(url: str, scripts: list[Path], clients: int, seconds: int) -> dict:
    """`clients` pgbench processes at once, one client each, each running a request of its own (a
    write's captures, bench/api_setup.py): the sum of their tps and the mean of their latencies."""
    procs = [subprocess.Popen(_pgbench_args(url, scripts[n % len(scripts)], 1, 1, seconds),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(clients)]
    runs = [_pgbench_said(proc.communicate()[0], proc.returncode) for proc in procs]
    done = [r for r in runs if r["tps"]]
    if len(done) < len(runs):
        return {**runs[next(i for i, r in enumerate(runs) if not r["tps"])], "tps": None}
    failed = [r["failed"] for r in runs if r["failed"] and not r["failed"].startswith("number of failed transactions: 0 ")]
    return {"tps": sum(r["tps"] for r in done), "latency_ms": sum(r["latency_ms"] for r in done) / len(done),
            "failed": "; ".join(failed[:3]), "exit": max(r["exit"] for r in runs), "error": "",
            "scripts": len(scripts)}


class LeaseLapser:
    """Lapses the agent's claims every `every` s (SQL), so each claim takes a fresh callback."""

    def __init__(self, url: str, every: float = 0.2) -> None:
        self.url, self.every, self.stopped = url, every, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import psycopg
        with psycopg.connect(_pg(self.url), autocommit=True) as conn:
            while not self.stopped.wait(self.every):
                conn.execute("UPDATE callbacks SET lease_until = now() - interval '1 second' WHERE status = 'claimed' "
                             "AND lease_until > now() AND lease_until < now() + interval '1 hour'")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


def prepare(url: str, work: Path, count: int, writes: int, answers: int, scripts: int = 1) -> dict:
    env = bench_env(url)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "api_setup.py"), str(work), str(count), str(writes),
                           str(answers), str(scripts)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def floor_db(url: str) -> str:
    import psycopg
    base, name = _pg(url).rsplit("/", 1)
    floor = f"{base}/{name}_floor"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"{name}_floor",)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}_floor"')
    from bench.floor_app import create_table
    create_table(floor)
    return floor


def fmt(r: dict) -> dict:
    rate = r["requests"] / (r["duration_us"] / 1e6)
    ok = sum(v for k, v in r["statuses"].items() if 200 <= int(k) < 300)
    bad = {k: v for k, v in r["statuses"].items() if not 200 <= int(k) < 300}
    errors = {k: v for k, v in r["errors"].items() if v}
    return {"rate": rate, "ok_rate": ok / (r["duration_us"] / 1e6), "p50": r["p50_us"] / 1000,
            "p95": r["p95_us"] / 1000, "p99": r["p99_us"] / 1000, "non2xx": bad, "errors": errors,
            "statuses": r["statuses"], "wrapped": r["wrapped"]}


def load_runs(args, work: Path, prepared: dict) -> None:
    env = bench_env(args.url)
    floor_url = floor_db(args.url)
    fenv = dict(env, FLOOR_DATABASE_URL=floor_url)
    chosen = [e for e in ENDPOINTS if prepared["counts"].get(e) and (not args.only or args.only in e)]
    # pgbench first: the captured writes were rolled back, so their rows, seq numbers and keys are
    # still free; once wrk has written, they no longer would be
    floor_sql = work / "floor.sql"
    floor_sql.write_text("INSERT INTO floor_hits (n) VALUES (2) RETURNING id;\n")
    pg = {"floor": pgbench(floor_url, floor_sql, args.clients, args.seconds)}
    for endpoint in chosen:
        own = sorted(work.glob(f"{slug(endpoint)}.*.sql"), key=lambda p: int(p.suffixes[-2][1:]))
        pg[endpoint] = (pgbench_each(args.url, own, args.clients, args.seconds) if own
                        else pgbench(args.url, work / f"{slug(endpoint)}.sql", args.clients, args.seconds))
    results = {}
    floor_data = work / "floor.tsv"
    floor_data.write_text("POST\t/hit\t\t0\t{}\n")
    proc, port = gunicorn("bench.floor_app:make()", fenv, args.workers, work / "floor.log")
    try:
        results["floor"] = fmt(wrk(port, floor_data, args.clients, args.seconds, work / "floor.json"))
    finally:
        stop(proc)
    results["floor"]["pgbench"] = pg["floor"]
    echo_row("minimal Flask + Core INSERT (the floor)", results["floor"], None)
    for endpoint in chosen:  # a fresh server each: requests still queued from a slow call must not count
        proc, port = gunicorn("wsgi:app", env, args.workers, work / f"app-{slug(endpoint)}.log")
        try:
            data = work / f"{slug(endpoint)}.tsv"
            if "claim" in endpoint:
                with LeaseLapser(args.url):
                    r = wrk(port, data, args.clients, args.seconds, work / f"{slug(endpoint)}.json")
            else:
                r = wrk(port, data, args.clients, args.seconds, work / f"{slug(endpoint)}.json")
        finally:
            stop(proc)
        results[endpoint] = fmt(r)
        results[endpoint]["pgbench"] = pg[endpoint]
        results[endpoint]["statements"] = prepared["captured"][endpoint]["statements"]
        echo_row(f"`{endpoint}`", results[endpoint], results["floor"])
    (work / "results.json").write_text(json.dumps(results, indent=1))


def echo_row(name: str, r: dict, floor: dict | None) -> None:
    ratio = f" ({r['rate'] / floor['rate']:.2f}×)" if floor else ""
    pg = r["pgbench"]
    pgs = f"{pg['tps']:.0f} tps, {pg['latency_ms']:.1f} ms" if pg.get("tps") else f"failed: {pg['error'][:80]}"
    bad = ", ".join(f"{k}: {v}" for k, v in {**r["non2xx"], **r["errors"]}.items()) or "none"
    stmts = f" | {r['statements']}" if "statements" in r else " | 1"
    if r["non2xx"] or r["errors"]:
        ratio += f", 2xx {r['ok_rate']:.1f}/s"
    print(f"| {name} | {r['rate']:.1f}/s{ratio} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['p99']:.0f} ms | "
          f"{bad}{stmts} | {pgs} |", flush=True)


def steady(args, work: Path, prepared: dict) -> None:
    """The calls interleaved at args.steady requests/s in total, open-loop (bench/openloop.py): Poisson
    arrivals fixed in advance, latency from each request's scheduled instant."""
    from bench.openloop import Request, report, run
    lines = {e: (work / f"{slug(e)}.tsv").read_text().splitlines() for e in ENDPOINTS
             if prepared["counts"].get(e) and e not in (args.exclude or ())}
    mix = [Request.parse(e, v[i]) for i in range(max(len(v) for v in lines.values()))
           for e, v in lines.items() if i < len(v)]
    env = bench_env(args.url)
    proc, port = gunicorn("wsgi:app", env, args.workers, work / "app.log")
    try:
        with LeaseLapser(args.url):
            outcome = run(port, mix, args.steady, args.seconds)
    finally:
        stop(proc)
    late = sorted(outcome.late_ms)
    print(f"steady open-loop mix of {len(lines)} calls at {args.steady} requests/s (Poisson) for {args.seconds} s, "
          f"gunicorn {args.workers} sync workers: {sum(map(len, outcome.latencies.values())) / outcome.seconds:.1f} "
          f"req/s sent; the dispatcher's lateness p99 {late[int(len(late) * 0.99)]:.1f} ms (target: p95 of all <= 50 ms)")
    print("\n".join(report(outcome)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--exclude", action="append", help="with --steady: leave this call out of the mix "
                        "(e.g. 'POST /referrals', the loader's consultant)")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4: 2 per core)")
    parser.add_argument("--only", help="only the endpoints whose name contains this text")
    parser.add_argument("--steady", type=int, help="a fixed-rate mix at this many requests/s instead")
    parser.add_argument("--per-second", type=int, default=300, help="requests prepared per second of a run")
    parser.add_argument("--registrations", type=int, help="referees prepared (default: 40 per second of the run)")
    parser.add_argument("--answers", type=int, help="callbacks claimed beforehand for the answers (default: "
                                                     "20 per second of the run)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (request files, SQL, logs)")
    args = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("pgbench"):
        raise SystemExit("needs wrk and pgbench on PATH (apt-get install -y wrk postgresql-client)")
    have = ensure(args.url, args.referrals)
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    started = time.perf_counter()
    count = args.per_second * args.seconds
    answers = args.answers if args.answers is not None else 20 * args.seconds
    writes = args.registrations if args.registrations is not None else 40 * args.seconds
    prepared = prepare(args.url, work, count, writes, answers, 1 if args.steady else args.clients)
    print(f"{have:,} referrals; prepared {prepared['counts']} in {time.perf_counter() - started:.0f} s "
          f"(files in {work}); load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.steady:
        steady(args, work, prepared)
    else:
        print(f"\n{args.clients} clients, {args.seconds} s each, gunicorn {args.workers} sync workers; pgbench: "
              f"the SQL of one request, {args.clients} clients; a write's clients each a request of its own, "
              f"ending in ROLLBACK\n")
        print("| call | throughput (× floor) | p50 | p95 | p99 | non-2xx / errors | statements | pgbench |")
        print("|---|---|---|---|---|---|---|---|", flush=True)
        load_runs(args, work, prepared)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
