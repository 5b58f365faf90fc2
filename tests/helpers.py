"""Test helpers: a small world of stores and staff, and role-carrying API clients."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import func, select

from loyalty.directory import service as directory
from loyalty.extensions import db

PASSWORD = "test-pass-1234"


@dataclass
class World:
    store: object
    other_store: object
    staff: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str):
        return self.staff[key]


STORES = {"store": "SH01", "other_store": "SH02"}
PEOPLE = [  # username, role, store (a key of STORES, or None: group level)
    ("admin", "admin", None), ("consultant", "consultant", "store"), ("manager", "manager", "store"),
    ("manager2", "manager", "store"), ("agent", "agent", "store"), ("finance", "finance", None),
    ("finance2", "finance", None), ("consultant_b", "consultant", "other_store"),
    ("manager_b", "manager", "other_store"), ("agent_b", "agent", "other_store"),
    ("service", "service", "store"), ("service_b", "service", "other_store"),
]


def build_world() -> World:
    """Store A (SH01) with a consultant, two managers, an agent; store B (SH02) with its own
    consultant and manager; a group-level finance pair and an admin.

    Written through the services (with their audit events) once per session into the test
    database's saved "world" state (tests/databases.py); `load_world` reads it back per test."""
    store = directory.create_store(None, code="SH01", name="浦东店", timezone="Asia/Shanghai")
    other = directory.create_store(None, code="SH02", name="闵行店", timezone="Asia/Shanghai")
    world = World(store, other)
    stores = {"store": store, "other_store": other}
    for username, role, where in PEOPLE:
        world.staff[username] = directory.create_staff(
            None, username=username, display_name=username.title(), role=role,
            store_id=stores[where].id if where else None, password=PASSWORD)
    db.session.commit()
    return world


def load_world() -> World:
    """The world `build_world` wrote, read back from the database."""
    from loyalty.directory.models import Staff, Store
    stores = {s.code: s for s in db.session.scalars(select(Store).where(Store.code.in_(STORES.values())))}
    usernames = [username for username, _role, _where in PEOPLE]
    staff = {s.username: s for s in db.session.scalars(select(Staff).where(Staff.username.in_(usernames)))}
    world = World(stores[STORES["store"]], stores[STORES["other_store"]], {u: staff[u] for u in usernames})
    db.session.commit()  # end the read as build_world ended its writes (SQLite: reads hold the write lock)
    return world


class ApiClient:
    def __init__(self, app, world: World):
        self.app, self.world = app, world
        self._tokens: dict[str, str] = {}
        self.anonymous = _Bound(app.test_client(), {})

    def token(self, username: str) -> str:
        if username not in self._tokens:
            resp = self.app.test_client().post(
                "/api/v1/auth/tokens", json={"username": username, "password": PASSWORD})
            assert resp.status_code == 201, resp.json
            self._tokens[username] = resp.json["token"]
        return self._tokens[username]

    def as_(self, username: str) -> _Bound:
        return _Bound(self.app.test_client(), {"Authorization": f"Bearer {self.token(username)}"})


class _Bound:
    def __init__(self, client, headers: dict[str, str]):
        self.client, self.headers = client, headers

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if not path.startswith("/"):
            path = "/api/v1/" + path
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._call("get", path, **kw)

    def post(self, path, **kw):
        return self._call("post", path, **kw)

    def put(self, path, **kw):
        return self._call("put", path, **kw)

    def patch(self, path, **kw):
        return self._call("patch", path, **kw)

    def delete(self, path, **kw):
        return self._call("delete", path, **kw)


def new_customer(store_id: int, name: str = "张三", phone: str = "13800138000", **extra):
    c = directory.create_customer(None, store_id=store_id, name=name, phone=phone, **extra)
    db.session.commit()
    return c


def count_rows(model) -> int:
    return db.session.query(model).count()


def row_counts() -> dict[str, int]:
    """Rows in every table (audit_events included): what a refused request must leave unchanged."""
    db.session.rollback()
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in db.metadata.sorted_tables}


__all__ = ["World", "build_world", "load_world", "ApiClient", "new_customer", "count_rows", "row_counts",
           "SimpleNamespace"]


def at_once(calls: list) -> list:
    """Run each zero-argument call in its own thread, released together by a barrier;
    return their results in the order given (real threads, as the concurrency rules need)."""
    import threading
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def in_threads(app, n: int, work) -> list:
    """`work(i)` for i in range(n), each in its own thread and application context, released
    together (at_once); returns the exceptions they raised, for the test to report."""
    def guarded(i):
        with app.app_context():
            try:
                work(i)
            except Exception as exc:  # reported by the test
                return exc
            finally:
                db.session.remove()
        return None
    return [error for error in at_once([lambda i=i: guarded(i) for i in range(n)]) if error is not None]


def plan_of_the_probe(call, marker: str) -> str:
    """PostgreSQL's plan, sequential scans off, of the one statement `call()` sends that holds
    `marker` (a search's probe): what the probe's form lets the planner read, not what a small
    test table makes cheap."""
    from sqlalchemy import event, text
    sent = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    probes = [(statement, parameters) for statement, parameters in sent if marker in statement]
    assert len(probes) == 1, sent
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("EXPLAIN " + probes[0][0], probes[0][1])
    return "\n".join(row[0] for row in cursor.fetchall())
