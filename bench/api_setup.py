"""What bench/api.py sends, prepared in-process against the bench database (run in its environment).

    python bench/api_setup.py OUTDIR COUNT REGISTRATIONS ANSWERS [SCRIPTS]   # prints a JSON summary; writes OUTDIR/*.tsv|.sql

For each endpoint: COUNT requests (REGISTRATIONS, ANSWERS for those two), one a line, each with data of
its own (a referee never referred, made through the service when the database has too few; a
customer for a visit; a callback this agent holds for an answer), and
the SQL such a request runs, captured from the app and written as a pgbench script: the request is
sent here through the test client, every statement the driver's cursors run is recorded (the ORM's
and those sent on the connection itself, such as the ring hook's pipelined queries; an executemany
as one statement per row), and its commits are turned into rollbacks so that its rows can be
inserted again by pgbench (statements a request runs after its commit, such as the audit chain's
step or reloading what it wrote, are then cut short). A read is captured once: every pgbench client
runs the same script. A write is captured SCRIPTS times (default 1), one request each, so that each
pgbench client can run a request of its own: one script run by 50 clients inserts the same unique
keys 50 times, and each client would wait on another's rollback, which no client of the app does.
A claim's captures hold the callbacks taken so far (FOR UPDATE on a side connection), so that each
takes another. Tokens are issued
by the auth service (no password hashing per login). Callbacks for the answers are claimed through
the queue by a second agent (`bench_agent2`), so the first agent's claims never find one it holds.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo-pass-2026"
NEW_CONSULTANT = "POST /referrals (a consultant without history)"
ENDPOINTS = ("POST /referrals", NEW_CONSULTANT, "POST /customers/{id}/service-visits", "GET /customers/{id}",
             "POST /callbacks/claim", "POST /callbacks/{id}/answers", "GET /referrals")
WRITES = {"POST /referrals", NEW_CONSULTANT, "POST /customers/{id}/service-visits", "POST /callbacks/claim",
          "POST /callbacks/{id}/answers"}


def slug(endpoint: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in endpoint).strip("_").replace("__", "_")


def prepare(out: Path, count: int, writes: int, answers: int, scripts: int = 1) -> dict:
    from sqlalchemy import select, text

    from loyalty.app import create_app
    from loyalty.auth.service import issue_token
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff, Store
    from loyalty.extensions import db
    from tests.flows import truthful
    from verification.callbacks import queue
    from verification.callbacks.models import Callback
    app = create_app()
    with app.app_context():
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        staff = {s.username: s for s in db.session.execute(select(Staff)).unique().scalars()}
        for username, name, role in (("bench_agent2", "回访二号", "agent"), ("bench_consultant2", "新顾问", "consultant")):
            if username not in staff:  # a second agent for the answers; a consultant without history
                staff[username] = directory.create_staff(staff["admin"], username=username, display_name=name,
                                                         role=role, store_id=store.id, password=PASSWORD + "-x")
        tokens = {who: issue_token(staff[who], 48)[0]
                  for who in ("consultant", "bench_consultant2", "service", "agent", "bench_agent2", "admin")}
        db.session.commit()
        free = db.session.execute(text(
            "SELECT c.id, c.name, c.phone FROM customers c WHERE c.store_id = :s AND NOT EXISTS "
            "(SELECT 1 FROM referrals r WHERE r.referee_id = c.id OR r.referrer_id = c.id) "
            "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.customer_id = c.id) ORDER BY c.id DESC LIMIT :n"),
            {"s": store.id, "n": writes}).all()
        free += _new_customers(staff["admin"], store.id, writes - len(free), directory, db)
        sample = db.session.execute(text(
            "SELECT id, name, phone FROM customers WHERE store_id = :s ORDER BY random() LIMIT :n"),
            {"s": store.id, "n": count}).all()
        some = [r[0] for r in sample]
        held = _claim_for_answers(staff["bench_agent2"], answers, queue, Callback, truthful, db, text)
        pairs = [(a, b) for a, b in zip(sample, free) if a[0] != b[0]]

        def registrations(who, part):  # the loader gave every copied referral to `consultant`
            return [("POST", "/api/v1/referrals", tokens[who], 0, {
                "store_id": store.id, "referrer_id": a[0], "referee_id": b[0],
                "claim": {"referrer_name": a[1], "referrer_phone": a[2], "referrer_model": "速腾",
                          "referrer_colour": "白色"}}) for a, b in pairs[part::2]]
        rows = {
            "POST /referrals": registrations("consultant", 0),
            NEW_CONSULTANT: registrations("bench_consultant2", 1),
            "POST /customers/{id}/service-visits": [
                ("POST", f"/api/v1/customers/{cid}/service-visits", tokens["service"], 1,
                 {"store_id": store.id, "amount": random.randint(10_000, 500_000)}) for cid in some],
            "GET /customers/{id}": [("GET", f"/api/v1/customers/{cid}", tokens["consultant"], 0, None) for cid in some],
            "POST /callbacks/claim": [("POST", "/api/v1/callbacks/claim", tokens["agent"], 0, None)] * count,
            "POST /callbacks/{id}/answers": [("POST", f"/api/v1/callbacks/{cid}/answers", tokens["bench_agent2"], 0,
                                              {"answers": body}) for cid, body in held],
            "GET /referrals": [("GET", "/api/v1/referrals", tokens["admin"], 0, None)] * count,
        }
        summary = {"tokens": tokens, "counts": {}, "captured": {}}
        client = app.test_client()
        for endpoint, items in rows.items():
            if not items:
                summary["counts"][endpoint] = 0
                continue
            write = endpoint in WRITES
            captured = _captures(app, client, db, items[:max(scripts, 1) if write else 1],
                                 hold="callbacks" if endpoint == "POST /callbacks/claim" else None)
            for n, (sql, _status) in enumerate(captured):
                name = f"{slug(endpoint)}.{n}.sql" if write else f"{slug(endpoint)}.sql"
                (out / name).write_text(_pgbench_script(sql, write), encoding="utf-8")
            sent = items[len(captured):] or items  # the captures were rolled back: wrk may send them again
            with (out / f"{slug(endpoint)}.tsv").open("w", encoding="utf-8") as f:
                for method, path, token, idem, body in sent:
                    f.write(f"{method}\t{path}\t{token}\t{idem}\t"
                            f"{'' if body is None else json.dumps(body, ensure_ascii=False)}\n")
            summary["counts"][endpoint] = len(sent)
            summary["captured"][endpoint] = {"statements": len(captured[0][0]), "scripts": len(captured),
                                             "status": sorted({status for _, status in captured})}
    return summary


def _new_customers(admin, store_id: int, n: int, directory, db) -> list:
    """Customers made through the service, when the database has too few never referred."""
    made, stamp = [], random.randrange(10**3)
    for i in range(max(n, 0)):
        c = directory.create_customer(admin, store_id=store_id, name="钱多多", phone=f"166{stamp:03d}{i:05d}")
        made.append((c.id, c.name, c.phone))
        if i % 500 == 499:
            db.session.commit()
    db.session.commit()
    return made


def _claim_for_answers(agent, n, queue, Callback, truthful, db, text) -> list:
    """n callbacks claimed through the queue by `agent`, with the truthful answers to each plan. Each
    claim is set aside (its due time moved to next year, its hold lapsed) so that the next claim takes
    another; at the end every one is held again for three hours."""
    held = []
    for _ in range(n):
        callback = queue.claim_next(agent)
        if callback is None:
            break
        held.append((callback.id, [truthful(q) for q in callback.questions]))
        db.session.commit()
        db.session.execute(text("UPDATE callbacks SET lease_until = now() - interval '1 second', "
                                "due_at = due_at + interval '1 year' WHERE id = :i"), {"i": callback.id})
        db.session.commit()
    if held:
        db.session.execute(text("UPDATE callbacks SET lease_until = now() + interval '3 hours' WHERE id = ANY(:ids)"),
                           {"ids": [i for i, _ in held]})
        db.session.commit()
    return held


def _captures(app, client, db, items, hold: str | None) -> list[tuple[list[str], int]]:
    """Each item's statements and status. `hold`: a table whose rows each capture updated (by id)
    are locked on a side connection until the last, so that the next request's SKIP LOCKED takes others."""
    import re

    import psycopg
    if hold is None:
        return [_capture(app, client, db, item) for item in items]
    out = []
    with psycopg.connect(db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")) as side:
        for item in items:
            out.append(_capture(app, client, db, item))
            ids = [int(i) for stmt in out[-1][0] if stmt.startswith(f"UPDATE {hold} ")
                   for i in re.findall(rf"WHERE {hold}\.id = (\d+)", stmt)]
            if ids:
                side.execute(f"SELECT 1 FROM {hold} WHERE id = ANY(%s) FOR UPDATE", (ids,))
        side.rollback()
    return out


def _capture(app, client, db, item) -> tuple[list[str], int]:
    """The statements one request runs through the driver's cursors, with their parameters inlined
    (psycopg's client-side mogrify): the ORM's, and those a service sends on the connection itself
    (not a server-side cursor's: no request here streams)."""
    import psycopg
    method, path, token, idem, body = item
    seen: list[str] = []
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def mogrify(cursor, query, params):
        return psycopg.ClientCursor(cursor.connection).mogrify(query, params)

    def recording(self, query, params=None, **kwargs):
        if str(query).strip(" ;"):  # not a pool's pre-ping
            seen.append(mogrify(self, query, params))
        return execute(self, query, params, **kwargs)

    def recording_many(self, query, params_seq, **kwargs):
        params_seq = list(params_seq)
        seen.extend(mogrify(self, query, params) for params in params_seq)
        return executemany(self, query, params_seq, **kwargs)
    headers = {"Authorization": f"Bearer {token}"}
    if idem:
        headers["Idempotency-Key"] = f"bench-capture-{random.getrandbits(64)}"
    from sqlalchemy.orm import Session
    commit = Session.commit

    def rolled_back(self):  # the rows stay out of the database, so pgbench can insert them again
        self.flush()
        seen.append("-- the request's COMMIT (rolled back while capturing)")
        self.rollback()
    psycopg.Cursor.execute, psycopg.Cursor.executemany = recording, recording_many
    Session.commit = rolled_back
    try:
        resp = client.open(path, method=method, json=body, headers=headers)
    finally:
        Session.commit = commit
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, executemany
    return seen, resp.status_code


def _pgbench_script(statements: list[str], write: bool) -> str:
    """BEGIN, the statements, and COMMIT for a read; ROLLBACK for a write (the same rows, seq numbers and
    unique keys every time would fail a second commit), so a write's pgbench figure spares the WAL flush,
    and its clients queue on the same unique keys as the app's writers queue on the audit head."""
    body = [s if s.startswith("--") else s.strip().rstrip(";").replace("\n", " ") + ";" for s in statements]
    if write:  # ids the sequences handed out are not those captured: no foreign-key triggers
        return "\n".join(["BEGIN;", "SET LOCAL session_replication_role = replica;", *body, "ROLLBACK;"]) + "\n"
    return "\n".join(["BEGIN;", *body, "COMMIT;"]) + "\n"


if __name__ == "__main__":
    print(json.dumps(prepare(Path(sys.argv[1]), *map(int, sys.argv[2:6]))))
