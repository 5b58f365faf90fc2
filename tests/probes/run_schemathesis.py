"""Schemathesis against a live server, once per role (issue 14: keep the hardening closed).

    python -m tests.probes.run_schemathesis [--examples N] [--roles admin,consultant,...]

For each role: a fresh database (SQLite file, or the PostgreSQL server of DATABASE_URL with a
database of its own per role, `<name>_probe_<role>`), migrated, loaded with the demo data and the probe seed
(tests/probes/seed.py), served by gunicorn; then `st run` with every check and every phase
(examples, coverage, fuzzing, stateful), a bounded number of examples per operation and a fixed
seed. Fails (exit 1) on any failure: a 5xx, a response that does not match the documented schema
or content type, an undocumented status code, a valid request refused or an invalid one accepted.
Prints, per role, the operations and the test cases run.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "demo-pass-2026"
ROLES = {"admin": "admin", "consultant": "consultant", "manager": "manager", "agent": "agent",
         "finance": "finance", "service": "service"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(role: str, work: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        return f"sqlite:///{work / f'{role}.sqlite3'}"
    import psycopg
    from sqlalchemy.engine import make_url

    from loyalty.config import normalise_database_url
    parsed = make_url(normalise_database_url(url))
    name = f"{parsed.database}_probe_{role}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # say why the probe could not even start
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout}{done.stderr}")


def _prepare(env: dict) -> None:
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    _run(flask + ["db", "upgrade"], env)
    _run(flask + ["demo-data", "--if-empty"], env)
    code = ("from loyalty.app import create_app\nfrom tests.probes.seed import seed_referrals\n"
            "app = create_app()\nwith app.app_context():\n    print(seed_referrals())\n")
    _run([sys.executable, "-c", code], env)


def _serve(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10).ok:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the probe server did not start")


def _probe(role: str, port: int, env: dict, args, work: Path) -> dict:
    base = f"http://127.0.0.1:{port}"
    report = work / f"{role}.ndjson"
    config = work / "schemathesis.toml"
    config.write_text(Path(__file__).with_name("schemathesis.toml").read_text()
                      + f"\n[generation]\nmax-examples = {args.examples}\n"
                      + f"\n[phases.stateful]\nmax-steps = {args.steps}\n"
                      + f"\n[phases.stateful.generation]\nmax-examples = {args.scenarios}\n")
    command = [str(BIN / "st"), "--config-file", str(config), "run", f"{base}/api/v1/openapi.json", "--checks", "all",
               "--phases", "examples,coverage,fuzzing,stateful",
               "--seed", str(args.seed), "--workers", "1", "--no-color", "--report", "ndjson",
               "--report-ndjson-path", str(report), "--warnings", "off", "--request-timeout", "30"]
    env = {**env, "SCHEMATHESIS_HOOKS": "tests.probes.st_hooks", "PROBE_BASE": base,
           "PROBE_USER": ROLES[role], "PROBE_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    (work / f"{role}.txt").write_text(output)
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) unique failures?", output)
    return {"role": role, "exit": done.returncode, "cases": int(cases.group(1)) if cases else 0,
            "failures": int(failures.group(1)) if failures else (0 if done.returncode == 0 else -1),
            "seconds": round(time.monotonic() - started), "output": output}


def _one_role(role: str, args, work: Path) -> dict:
    url = _database(role, work)
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(work / f"instance-{role}"),
           "LOGIN_RATE_LIMIT": "100000 per minute", "SCHEDULER_EMBEDDED": "0",
           "AUDIT_HMAC_KEY": "probe-audit-key-0123456789abcdef", "SECRET_KEY": "probe-secret"}
    _prepare(env)
    port = _free_port()
    server = _serve(env, port)
    try:
        return _probe(role, port, env, args, work)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("PROBE_EXAMPLES", "5")))
    parser.add_argument("--scenarios", type=int, default=int(os.environ.get("PROBE_SCENARIOS", "40")),
                        help="stateful scenarios (chains of linked calls) per run")
    parser.add_argument("--steps", type=int, default=10, help="calls per stateful scenario at most")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("PROBE_SEED", "20261130")))
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("PROBE_JOBS", "2")),
                        help="roles probed at once (each has its own database and server)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (reports, databases)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="loyalty-probe-"))
    roles = args.roles.split(",")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda role: _one_role(role, args, work), roles))
    for result in results:
        print(f"{result['role']:<11} cases {result['cases']:>6}  failures {result['failures']:>3}  "
              f"{result['seconds']:>4} s  exit {result['exit']}", flush=True)
        if result["exit"] != 0:
            print(result["output"][-20000:], flush=True)
    total = sum(r["cases"] for r in results)
    failed = [r["role"] for r in results if r["exit"] != 0]
    print(f"schemathesis: {total} test cases over {len(results)} roles, "
          f"{'failures as ' + ', '.join(failed) if failed else '0 failures'} (reports in {work})")
    if not failed and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
