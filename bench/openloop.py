"""An open-loop load driver for bench/api.py --steady (issue 16): requests arrive on a Poisson schedule
fixed in advance, whatever the server does.

wrk is closed-loop: a connection sends its next request only after the previous answer (plus its pause),
so a slow answer delays what follows and the connections fall into step. Here each request has a
scheduled instant drawn beforehand (exponential gaps at the mean rate, a fixed seed); a dispatcher hands
it to a thread at that instant, and its latency is counted from the scheduled instant, not from when a
thread got to it (no coordinated omission: if the client falls behind, that shows as latency). Every
request opens its own connection, as gunicorn's sync workers close each one after the answer.
"""
from __future__ import annotations

import http.client
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass
class Request:
    endpoint: str
    method: str
    path: str
    token: str
    idempotent: bool
    body: str

    @classmethod
    def parse(cls, endpoint: str, line: str) -> Request:
        method, path, token, idempotent, body = line.split("\t", 4)
        return cls(endpoint, method, path, token, idempotent == "1", body)


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # endpoint -> ms
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    late_ms: list[float] = field(default_factory=list)  # how late the dispatcher handed requests over
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (scheduled s from the start, ms)
    seconds: float = 0.0

    def add(self, endpoint: str, ms: float, status: int, at: float = 0.0) -> None:
        self.timeline.append((at, ms))
        self.latencies.setdefault(endpoint, []).append(ms)
        counts = self.statuses.setdefault(endpoint, {})
        counts[status] = counts.get(status, 0) + 1


def schedule(rate: float, seconds: float, seed: int = 16) -> list[float]:
    """Arrival instants (s from the start) of a Poisson process at `rate` per second."""
    rng, at, out = random.Random(seed), 0.0, []
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            return out
        out.append(at)


def send(port: int, req: Request, timeout: float = 60.0) -> int:
    headers = {"Content-Type": "application/json", "Accept-Language": "zh-CN", "Connection": "close"}
    if req.token:
        headers["Authorization"] = f"Bearer {req.token}"
    if req.idempotent:
        headers["Idempotency-Key"] = f"steady-{uuid.uuid4().hex}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(req.method, req.path, body=req.body.encode() if req.body else None, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return 0  # a connection error, counted as status 0
    finally:
        conn.close()


def run(port: int, requests: list[Request], rate: float, seconds: float, threads: int = 64) -> Outcome:
    """Sends requests[i] at the i-th arrival of the schedule (cycling through them if there are fewer)."""
    arrivals = schedule(rate, seconds)
    outcome, lock = Outcome(), threading.Lock()

    def one(req: Request, due: float) -> None:
        status = send(port, req)
        ms = (time.perf_counter() - due) * 1000
        with lock:
            outcome.add(req.endpoint, ms, status, due - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for i, at in enumerate(arrivals):
            due = started + at
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            outcome.late_ms.append(max(0.0, time.perf_counter() - due) * 1000)
            pool.submit(one, requests[i % len(requests)], due)
    outcome.seconds = time.perf_counter() - started
    return outcome


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, max(0, round(q * 10) - 1))]


def report(outcome: Outcome) -> list[str]:
    """Lines of a table: every call and all together, with their count, p50/p95/p99 and non-2xx."""
    rows = ["| call | requests | p50 | p95 | p99 | max | non-2xx |", "|---|---|---|---|---|---|---|"]
    everything = [ms for values in outcome.latencies.values() for ms in values]
    named = sorted(outcome.latencies.items()) + [("all", everything)]
    for endpoint, values in named:
        if endpoint == "all":
            counts: dict[int, int] = {}
            for c in outcome.statuses.values():
                for k, v in c.items():
                    counts[k] = counts.get(k, 0) + v
        else:
            counts = outcome.statuses[endpoint]
        bad = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if not 200 <= k < 300) or "none"
        rows.append(f"| {endpoint} | {len(values)} | {percentile(values, 50):.1f} ms | {percentile(values, 95):.1f} ms | "
                    f"{percentile(values, 99):.1f} ms | {max(values):.1f} ms | {bad} |")
    return rows
