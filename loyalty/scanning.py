"""Walking a big table in id ranges (spans) over several processes, with a signed record of how far
a walk got, so an interrupted walk can resume (issue 16: `flask audit verify` and `flask ledger check`
at 10M rows).

A walk splits [low, high] into spans. With one job the spans are walked in this process, on the
caller's own connection (it sees what the caller's transaction sees); with more, each worker
process opens its own connection with the driver (psycopg or sqlite3: no SQLAlchemy, no ORM rows)
and walks the spans it is given. Results are handed back in span order, whatever order the spans
finish in, so a caller can say "everything up to here holds" and stop at the first span that does
not. Plumbing: imports no loyalty package.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator


class Hmac:
    """HMAC-SHA256 with the key's inner and outer pads hashed once: a walk computes one or two per
    row, and re-keying each time (hmac.digest) costs about a third more than copying the pads."""

    def __init__(self, key: bytes) -> None:
        key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")  # RFC 2104
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        # digest()'s body again, not a call to it or to a shared helper: audit verify calls this twice per
        # event, and a shared helper made a 10M-event verify 2.8-4.7 s slower (46 s against 49-51 s)
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class Span:
    index: int
    low: int
    high: int  # inclusive


LEAST, MOST = 20_000, 250_000  # the narrowest and widest span, in ids


def cpus() -> int:
    """The CPUs this process may run on (the default number of jobs)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def spans(low: int, high: int, jobs: int) -> list[Span]:
    """[low, high] in spans: about 8 per job (so a fast worker takes more of them, and the progress
    bar and a resume record move often), each between LEAST and MOST ids wide."""
    if high < low:
        return []
    width = min(MOST, max(LEAST, -(-(high - low + 1) // (max(1, jobs) * 8))))
    return [Span(i, start, min(high, start + width - 1)) for i, start in enumerate(range(low, high + 1, width))]


def driver_target(url: Any) -> tuple[str, str]:
    """(dialect, what the driver connects to) for a SQLAlchemy URL: a libpq DSN or a SQLite path."""
    if url.get_backend_name() == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    return "sqlite", url.database or ""


SPAN_SETTINGS = ("jit = off", "max_parallel_workers_per_gather = 0", "DateStyle = ISO")  # times as text: ISO


def here(conn: Any, dialect: str) -> Any:
    """The caller's own driver connection, set for walking spans in its transaction (one job)."""
    if dialect == "postgresql":
        for setting in SPAN_SETTINGS:
            conn.execute(f"SET LOCAL {setting}")
    return conn


def connect(dialect: str, target: str) -> Any:
    """A driver connection of a worker process, reading only."""
    if dialect == "postgresql":
        import psycopg
        conn = psycopg.connect(target)  # not autocommit: server-side cursors live in a transaction
        conn.read_only = True
        # one span is a short index range: compiling it (JIT) or fanning it out to parallel workers
        # costs more than it saves, and the walk's own processes are the parallelism
        for setting in SPAN_SETTINGS:
            conn.execute(f"SET {setting}")
        conn.commit()
        return conn
    import sqlite3
    return sqlite3.connect(f"file:{target}?mode=ro", uri=True)


class in_order:  # noqa: N801 - used as a function: in_order(...) is the walk's results
    """(span, result) in span order. One job: `work(span)` here, one span after another, as the
    caller iterates. More: `remote(span)` in `jobs` spawned processes (each set up once by
    `initializer(*initargs)`), started at once, so the caller can do other work (the ledger's sums)
    before it reads the first result. close() (a break found, Ctrl-C) cancels the spans not started."""

    def __init__(self, work: Callable[[Span], Any], parts: list[Span], jobs: int, *,
                 initializer: Callable[..., None], initargs: tuple, remote: Callable[[Span], Any]) -> None:
        self.work, self.parts, self.pool = work, parts, None
        if jobs > 1 and len(parts) > 1:
            self.pool = ProcessPoolExecutor(max_workers=min(jobs, len(parts)), initializer=initializer,
                                            initargs=initargs, mp_context=multiprocessing.get_context("spawn"))
            self.pending: dict[Future, Span] = {self.pool.submit(remote, span): span for span in parts}

    def __iter__(self) -> Iterator[tuple[Span, Any]]:
        if self.pool is None:
            for span in self.parts:
                yield span, self.work(span)
            return
        done: dict[int, Any] = {}
        following = 0
        while following < len(self.parts):
            finished, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done[self.pending.pop(future).index] = future.result()
            while following in done:
                yield self.parts[following], done.pop(following)
                following += 1

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class ProgressRecord:
    """How far an interrupted walk got, in a file outside the database (the instance folder),
    signed with a key the database does not hold: a forged or edited record is ignored, so it can
    never make a walk skip rows nobody walked. A record is honoured for `max_age` seconds, for the
    same database and kind of walk only; a walk that completes removes it."""

    def __init__(self, path: str | os.PathLike, kind: str, database: str, key: bytes, max_age: float = 86_400) -> None:
        self.path, self.kind, self.database, self.max_age = Path(path), kind, database, max_age
        self.mac = Hmac(hashlib.sha256(b"loyalty/walk-progress|" + key).digest())

    def _signed(self, body: dict) -> str:
        return self.mac.hexdigest(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())

    def save(self, **state: Any) -> None:
        body = {"v": 1, "kind": self.kind, "database": self.database, "written": time.time(), "state": state}
        body["sig"] = self._signed(body)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        spare = self.path.with_suffix(".tmp")
        spare.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
        os.replace(spare, self.path)  # never half a record

    def load(self) -> dict | None:
        """The state saved by an interrupted walk, with when it was saved (`written`, a Unix time), or
        None (none, another kind or database, too old, or not signed with this key)."""
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
            signature = body.pop("sig")
        except (OSError, ValueError, KeyError, AttributeError):
            return None
        if not isinstance(signature, str) or not hmac.compare_digest(signature, self._signed(body)):
            return None
        if (body.get("v"), body.get("kind"), body.get("database")) != (1, self.kind, self.database):
            return None
        if not 0 <= time.time() - body.get("written", 0) <= self.max_age:
            return None
        return {**body["state"], "written": body["written"]}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


# ---- in a worker process -------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def start_worker(walk_span: Callable[[Any, Any, Span], Any], walk: Any, target: str,
                 prepare: Callable[[Any], None] | None = None) -> None:
    """ProcessPoolExecutor initializer of a span walk (`in_order`'s `initargs`): `prepare(walk)`
    first when given (a spawned process has not run the app factory), then a connection of this
    process's own to `target`, kept with the walk's parameters and its `walk_span(conn, walk, span)`."""
    if prepare is not None:
        prepare(walk)
    _WORKER.update(walk_span=walk_span, walk=walk, conn=connect(walk.dialect, target))


def walk_remote(span: Span) -> Any:
    """One span walked in a worker process (`in_order`'s `remote`)."""
    conn = _WORKER["conn"]
    try:
        return _WORKER["walk_span"](conn, _WORKER["walk"], span)
    finally:
        conn.rollback()  # read only: end the span's transaction, and its snapshot
