"""Fixtures shared by every tier.

Integration tests take `app` (or `client`, `api`, `runner`), which is
parametrised over the databases: SQLite always, PostgreSQL too when
DATABASE_URL names one. The schema is built once per database by the Alembic
migrations (never create_all) and the test world once by the services; before each
test the data is put back to one of those two saved states (tests/databases.py).
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
# Under pytest-xdist (`make test` runs `-n 2`) each worker process is "gw0", "gw1", ...: it gets a
# temporary directory (above) and a PostgreSQL database of its own (`_worker_database`).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
BACKENDS = ["sqlite"] + (["postgresql"] if HAS_PG else [])

from loyalty.config import TestConfig, normalise_database_url  # noqa: E402

DEMO_PASSWORD = "test-pass-1234"


def pytest_configure(config):
    from loyalty.auth.passwords import use_cheap_hashing_for_tests
    from tests.web import compile_catalogs
    use_cheap_hashing_for_tests()
    if not hasattr(config, "workerinput"):  # the controller compiles once, before its workers start
        compile_catalogs()  # *.mo are not in git; pages must be Chinese on a fresh checkout too


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP, ignore_errors=True)


def _worker_database(url: str) -> str:
    """The PostgreSQL database this process tests in: DATABASE_URL's own, or under xdist one per
    worker beside it (`<name>_gw0`, ...), created on first use. Each is migrated from scratch."""
    if not XDIST_WORKER:
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    given = make_url(url)
    name = f"{given.database}_{XDIST_WORKER}"
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


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


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def databases():
    """backend -> its `TestDatabase`: migrated once, the test world built once, reset per test."""
    from tests.databases import TestDatabase
    made: dict[str, TestDatabase] = {}

    def get(backend: str) -> TestDatabase:
        if backend not in made:
            url = (f"sqlite:///{_TMP / 'test.sqlite3'}" if backend == "sqlite"
                   else _worker_database(normalise_database_url(PG_URL)))
            made[backend] = TestDatabase(backend, url, _TMP, migrate=_migrate)
        return made[backend]

    yield get
    for database in made.values():
        database.close()


@pytest.fixture
def db_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def app(request, backend, databases):
    """The session's app for this database, its data put back before the test: to the test world
    (`build_world`, built once per session) when the test uses `world`, else to just migrated."""
    from loyalty.extensions import db, limiter
    database = databases(backend)
    database.reset("world" if "world" in request.fixturenames else "empty")
    limiter.reset()  # rate-limit counters are per test
    with database.app.app_context():
        yield database.app
        db.session.remove()


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
def world(app, backend, databases):
    """Two stores and one staff member per role in the first store (plus group-level ones): the
    rows `build_world` wrote once per session, put back by `app` and loaded here."""
    from tests.helpers import build_world, load_world
    return load_world() if databases(backend).state == "world" else build_world()


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
