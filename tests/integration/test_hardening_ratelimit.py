"""Security review, finding 7: the login rate limit's shared storage works as the README says.

With `RATELIMIT_STORAGE_URI=redis://...` every gunicorn worker failed to boot (the `redis`
package was missing), and with Redis configured but down every login answered 500. Each
"worker" here is its own Python process building the app from the environment, as gunicorn's
workers do: the shared count must hold across them, and with the storage down logins go on
(fail open), each process counting on its own, with a warning in the log; never a 500."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from loyalty.app import create_app
app = create_app()
client = app.test_client()
codes = []
for password in sys.argv[1:]:
    resp = client.post("/api/v1/auth/tokens", json={"username": "consultant", "password": password})
    codes.append(resp.status_code)
print(json.dumps(codes))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url():
    """A Redis of our own on a free port (redis-server), else the one on 6379; in CI one of the
    two must be there (.ci/run installs redis-server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if _answers(6379):
            yield "redis://127.0.0.1:6379"
            return
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI")
        pytest.skip("no redis-server and nothing on 127.0.0.1:6379")
    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if _answers(port):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def worker(app, storage: str, *passwords: str, limit: str = "3 per minute", prefix: str = "") -> tuple[list, str]:
    """Run one worker process against the test's database; its status codes and its log."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": app.config["SECRET_KEY"], "RATELIMIT_STORAGE_URI": storage,
           "LOGIN_RATE_LIMIT": limit, "RATELIMIT_KEY_PREFIX": prefix or uuid.uuid4().hex}
    done = subprocess.run([sys.executable, "-c", WORKER, *passwords], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.rule("SEC-2")
def test_workers_share_the_login_count_through_redis(app, world, redis_url):
    prefix = uuid.uuid4().hex
    first, _ = worker(app, redis_url, "wrong-1", "wrong-2", "wrong-3", prefix=prefix)
    assert first == [401, 401, 401]
    second, _ = worker(app, redis_url, "wrong-4", "test-pass-1234", prefix=prefix)
    assert second == [429, 429]  # the other worker's attempts count here too


@pytest.mark.rule("SEC-4")
def test_redis_down_logins_go_on_counted_per_process_and_logged(app, world):
    dead = f"redis://127.0.0.1:{_free_port()}"  # nothing listens there
    codes, log = worker(app, dead, "test-pass-1234", "wrong-1", "wrong-2", "wrong-3")
    assert 500 not in codes
    assert codes == [201, 401, 401, 429]  # fail open, yet still limited within the process
    assert "falling back to in-memory" in log.lower() or "fail open" in log.lower(), log[-2000:]
