"""The test databases: built once per session, put back into a saved state before every test.

A `TestDatabase` is one migrated database with one app on it, and two saved states:

- "empty": just migrated (`upgrade head`, never create_all);
- "world": "empty" plus the stores and staff of `tests.helpers.build_world`, written once through
  the services (with their audit events) instead of once per test.

`reset(state)` puts the data back:

- SQLite: the pool is disposed and the state's file (a copy taken right after it was built) is
  copied over the test's file.
- PostgreSQL: one round trip deletes every row (children first, so foreign keys hold), inserts
  the state's rows again from a snapshot schema (`test_state_<state>`) and sets every sequence
  back. DELETE on the few small tables a test wrote is far cheaper than the TRUNCATE of every
  table it replaces (TRUNCATE makes new files for each table and index). The data is really
  committed, so tests that use threads or several connections see it as the code does.

ARCHITECTURE.md example 16: the test world is built once, so setup costs less than the tests.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

STATES = ("empty", "world")


class TestDatabase:
    __test__ = False  # not a test class

    def __init__(self, backend: str, url: str, tmp: Path, migrate: Callable[[str], None]) -> None:
        from loyalty.app import create_app
        from loyalty.config import TestConfig
        self.backend, self.url, self.tmp = backend, url, tmp
        self.state: str | None = None  # the state the last reset put back
        self._saved: dict[str, object] = {}  # state -> its file (SQLite) or its restore SQL (PostgreSQL)
        migrate(url)
        self.app = create_app(TestConfig(url))
        self._save("empty")

    # -- per test -----------------------------------------------------------------------------
    def reset(self, state: str) -> None:
        assert state in STATES, state
        if state not in self._saved:
            self._build(state)
        from loyalty.extensions import db
        with self.app.app_context():
            if self.backend == "sqlite":
                db.engine.dispose()
                target = self._file()
                for suffix in ("-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
                shutil.copyfile(self._saved[state], target)
            else:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql(self._saved[state])
        self.state = state

    def close(self) -> None:
        from loyalty.extensions import db
        with self.app.app_context():
            db.engine.dispose()

    # -- once per session ---------------------------------------------------------------------
    def _build(self, state: str) -> None:
        """Write a state once, through the services, starting from "empty"."""
        from loyalty.extensions import db
        from tests.helpers import build_world
        assert state == "world", state
        self.reset("empty")
        with self.app.app_context():
            build_world()
            db.session.remove()
        self._save(state)

    def _save(self, state: str) -> None:
        from loyalty.extensions import db
        with self.app.app_context():
            if self.backend == "sqlite":
                db.engine.dispose()  # the last connection closed checkpoints the WAL into the file
                assert not Path(f"{self._file()}-wal").exists(), "a connection is still open"
                saved = self.tmp / f"state-{state}.sqlite3"
                shutil.copyfile(self._file(), saved)
                self._saved[state] = saved
            else:
                self._saved[state] = _snapshot_postgres(db, f"test_state_{state}")

    def _file(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))


def _snapshot_postgres(db, schema: str) -> str:
    """Copy the rows of every non-empty table into `schema`; return the SQL that puts them back."""
    tables = [t.name for t in db.metadata.sorted_tables]  # parents before children
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        kept = [t for t in tables if conn.exec_driver_sql(f'SELECT 1 FROM public."{t}" LIMIT 1').first()]
        for table in kept:
            conn.exec_driver_sql(f'CREATE TABLE {schema}."{table}" AS SELECT * FROM public."{table}"')
        sequences = conn.exec_driver_sql(
            "SELECT sequencename, coalesce(last_value, start_value), last_value IS NOT NULL "
            "FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename").all()
    statements = [f'DELETE FROM public."{t}"' for t in reversed(tables)]
    statements += [f'INSERT INTO public."{t}" SELECT * FROM {schema}."{t}"' for t in kept]
    if sequences:
        statements.append("SELECT " + ", ".join(
            f"setval('public.\"{name}\"', {value}, {'true' if called else 'false'})"
            for name, value, called in sequences))
    return ";\n".join(statements)
