"""Fixtures shared by every tier.

Integration tests take `app` (or `client`, `api`, `runner`), which is
parametrised over the databases: SQLite always, PostgreSQL too when
DATABASE_URL names one. The schema is built once per database by the Alembic
migrations (never create_all); each test then gets a fresh copy (SQLite: a copy
of the migrated file; PostgreSQL: every table emptied after the test).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="loyalty-tests-"))
os.environ["INSTANCE_PATH"] = str(_TMP / "instance")
PG_URL = os.environ.get("DATABASE_URL", "")
HAS_PG = PG_URL.startswith(("postgres://", "postgresql"))
BACKENDS = ["sqlite"] + (["postgresql"] if HAS_PG else [])

from loyalty.config import TestConfig, normalise_database_url  # noqa: E402

DEMO_PASSWORD = "test-pass-1234"


def pytest_configure(config):
    from loyalty.auth.passwords import use_cheap_hashing_for_tests
    from tests.integration.test_web_i18n import compile_catalogs
    use_cheap_hashing_for_tests()
    compile_catalogs()  # *.mo are not in git; pages must be Chinese on a fresh checkout too


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP, ignore_errors=True)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.extensions import db
    app = create_app(TestConfig(url))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated():
    """backend -> URL of a migrated database (SQLite: a template file to copy)."""
    done: dict[str, str] = {}

    def get(backend: str) -> str:
        if backend not in done:
            url = (f"sqlite:///{_TMP / 'template.sqlite3'}" if backend == "sqlite"
                   else normalise_database_url(PG_URL))
            _migrate(url)
            done[backend] = url
        return done[backend]
    return get


def _empty_postgres(db) -> None:
    from loyalty.audit.service import GENESIS
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def shared_apps(migrated):
    """One app per database for the whole session (building an app costs ~0.5 s; tests are many).

    `reset(backend)` hands back that app over fresh data: SQLite gets a new copy of the
    migrated file (the pool is disposed first), PostgreSQL was emptied after the last test.
    """
    from loyalty.app import create_app
    from loyalty.extensions import db
    apps: dict[str, tuple] = {}

    def reset(backend: str):
        template = migrated(backend)
        if backend not in apps:
            url = f"sqlite:///{_TMP / 'test.sqlite3'}" if backend == "sqlite" else template
            apps[backend] = (create_app(TestConfig(url)), url)
        app, url = apps[backend]
        if backend == "sqlite":
            with app.app_context():
                db.engine.dispose()
            target = Path(url.removeprefix("sqlite:///"))
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            shutil.copy(template.removeprefix("sqlite:///"), target)
        return app

    yield reset
    for app, _url in apps.values():
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def db_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def app(backend, shared_apps):
    from loyalty.extensions import db, limiter
    app = shared_apps(backend)
    limiter.reset()  # rate-limit counters are per test
    with app.app_context():
        yield app
        db.session.remove()
        if backend == "postgresql":
            _empty_postgres(db)


@pytest.fixture
def pg_only(backend):
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """Two stores and one staff member per role in the first store (plus group-level ones)."""
    from tests.helpers import build_world
    return build_world()


@pytest.fixture
def api(app, world):
    """`api.as_("consultant").post(path, json=...)`: a test client carrying that role's token."""
    from tests.helpers import ApiClient
    return ApiClient(app, world)


@pytest.fixture(autouse=True)
def ledger_invariants(request):
    """LED-4: after every test that uses `app` and moved money, `ledger check` must find nothing
    (the same check() as the CLI and the API: invariants, transfer digests, points lots).

    Depends on `app` (when the test does) so it runs before the database is emptied."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    yield
    from sqlalchemy import text

    from loyalty.extensions import db
    from loyalty.ledger.service import check  # the one check: also the CLI's and GET /ledger/check's
    # the test's own app context and session (a second session would wait on SQLite's write lock)
    try:
        moved = db.session.execute(text("SELECT 1 FROM ledger_transfers LIMIT 1")).first()
    except Exception:  # the test left its transaction failed: look at what was committed
        db.session.rollback()
        moved = db.session.execute(text("SELECT 1 FROM ledger_transfers LIMIT 1")).first()
    violations = check() if moved else []
    db.session.rollback()
    assert not violations, "ledger check after the test:\n" + "\n".join(violations)
