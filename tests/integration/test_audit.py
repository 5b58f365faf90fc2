"""The audit trail (SEC-1): an event per state change, a hash chain that `flask audit verify`
checks, and appends that stay dense and linked under concurrency."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update

from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.directory.models import Customer
from loyalty.extensions import db
from tests.helpers import new_customer

EVENTS = AuditEvent.__table__


def events(entity: str | None = None) -> list[AuditEvent]:
    db.session.rollback()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return list(db.session.execute(query).scalars())


def last_event() -> AuditEvent:
    return events()[-1]


def verify(runner):
    db.session.commit()
    return runner.invoke(args=["audit", "verify"])


# ---- every state change writes an event ---------------------------------------------

@pytest.mark.rule("SEC-1")
def test_every_state_change_writes_an_event(api, world):
    admin, consultant = api.as_("admin"), api.as_("consultant")

    store = admin.post("stores", json={"code": "SH09", "name": "新店"}).json
    store_events = events("store")[-1], events("store_policy")[-1]
    assert [(e.actor, e.entity_id, e.action, e.before) for e in store_events] == [
        ("admin", str(store["id"]), "created", None), ("admin", str(store["id"]), "created", None)]
    assert store_events[0].after["code"] == "SH09"
    assert store_events[1].after["reward_amount"] == 50000

    admin.patch(f"stores/{store['id']}", json={"name": "改名店"})
    e = last_event()
    assert (e.actor, e.entity, e.action) == ("admin", "store", "updated")
    assert (e.before["name"], e.after["name"]) == ("新店", "改名店")

    admin.put(f"stores/{store['id']}/policy", json={"reward_amount": 60000})
    e = last_event()
    assert (e.entity, e.action, e.entity_id) == ("store_policy", "updated", str(store["id"]))
    assert (e.before["reward_amount"], e.after["reward_amount"]) == (50000, 60000)

    staff = admin.post("staff", json={"username": "newbie", "display_name": "新人", "role": "agent",
                                      "store_id": store["id"], "password": "long-enough-1"}).json
    e = last_event()
    assert (e.actor, e.entity, e.entity_id, e.action) == ("admin", "staff", str(staff["id"]), "created")
    assert e.after["role"] == "agent" and "password" not in e.after and "password_hash" not in e.after

    admin.patch(f"staff/{staff['id']}", json={"active": False})
    e = last_event()
    assert (e.entity, e.action, e.before["active"], e.after["active"]) == ("staff", "updated", True, False)
    admin.patch(f"staff/{staff['id']}", json={"password": "another-long-1"})
    e = last_event()
    assert e.action == "updated+password_reset"
    assert "another-long-1" not in repr(e.before) + repr(e.after)

    customer = consultant.post("customers", json={"store_id": world.store.id, "name": "张三",
                                                  "phone": "13800138000"}).json
    e = last_event()
    assert (e.actor, e.actor_id, e.entity, e.entity_id, e.action) == (
        "consultant", world["consultant"].id, "customer", str(customer["id"]), "created")
    assert e.before is None and e.after["phone"] == "+8613800138000" and e.after["name"] == "张三"

    consultant.patch(f"customers/{customer['id']}", json={"employer": "上海汽车集团"})
    e = last_event()
    assert (e.entity, e.action, e.before["employer"], e.after["employer"]) == (
        "customer", "updated", None, "上海汽车集团")

    vehicle = consultant.post(f"customers/{customer['id']}/vehicles",
                              json={"model": "速腾", "colour": "白色", "transmission": "automatic"}).json
    e = last_event()
    assert (e.entity, e.entity_id, e.action) == ("vehicle", str(vehicle["id"]), "created")
    assert e.after["customer_id"] == customer["id"] and e.after["model"] == "速腾"

    for event in events():
        assert event.at is not None and event.actor and event.hash and event.prev_hash
    assert audit.verify_chain().ok


@pytest.mark.rule("SEC-1")
def test_refused_requests_write_no_event(api, world):
    api.token("consultant")
    count = len(events())
    api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "x", "phone": "123"})
    api.as_("consultant").post("stores", json={"code": "SH09", "name": "x"})
    assert len(events()) == count


@pytest.mark.rule("SEC-1")
def test_system_actions_are_attributed_to_the_system(app, world):
    new_customer(world.store.id)
    e = last_event()
    assert (e.actor, e.actor_id, e.entity) == ("system", None, "customer")


# ---- the chain and `flask audit verify` -------------------------------------------------------

@pytest.fixture
def chain(world):
    """world wrote 2 stores x 2 events + 10 staff = 14 events; add a few customers."""
    for i, phone in enumerate(("13800138000", "13900139000", "13700137000")):
        new_customer(world.store.id, f"客户{i}", phone)
    rows = events()
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    return rows


@pytest.mark.rule("SEC-1")
def test_chain_links_each_event_to_the_previous(chain):
    assert chain[0].prev_hash == audit.GENESIS
    for before, after in zip(chain, chain[1:]):
        assert after.prev_hash == before.hash
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.hash) == (chain[-1].seq, chain[-1].hash)


@pytest.mark.rule("SEC-1")
def test_verify_passes_on_a_clean_chain(runner, chain):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and str(len(chain)) in result.output


@pytest.mark.rule("SEC-1")
def test_verify_passes_on_an_empty_chain(runner, app):
    result = verify(runner)
    assert result.exit_code == 0, result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("column, value", [
    ("after", {"name": "李鬼", "phone": "+8613800138000"}),
    ("before", {"name": "x"}),
    ("actor", "someone-else"),
    ("action", "deleted"),
    ("entity_id", "999"),
])
def test_verify_names_an_edited_event(runner, chain, column, value):
    target = chain[15].seq
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == target).values({column: value}))
    result = verify(runner)
    assert result.exit_code != 0
    assert f"seq {target}" in result.output
    assert "edited" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_names_a_rehashed_edit_by_the_broken_link(runner, chain):
    """Recomputing the edited event's own hash moves the break to the next event's link."""
    target = db.session.execute(select(AuditEvent).where(AuditEvent.seq == 5)).scalar_one()
    target.after = {**(target.after or {}), "name": "李鬼"}
    target.mac = audit._event_mac(target)  # resealed and rehashed with the key itself
    target.hash = audit._digest(target)
    db.session.flush()
    result = verify(runner)
    assert result.exit_code != 0
    assert "seq 6" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_names_a_deleted_middle_event(runner, chain):
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq == 7))
    result = verify(runner)
    assert result.exit_code != 0
    assert "seq 7" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_names_a_deleted_last_event(runner, chain):
    last = chain[-1].seq
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq == last))
    result = verify(runner)
    assert result.exit_code != 0
    assert f"seq {last}" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_names_the_first_of_two_reordered_events(runner, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 3).values(seq=-1))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 4).values(seq=3))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == -1).values(seq=4))
    result = verify(runner)
    assert result.exit_code != 0
    assert "seq 3" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_names_the_first_of_several_breaks(runner, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 9).values(action="x"))
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq == 12))
    result = verify(runner)
    assert result.exit_code != 0
    assert "seq 9" in result.output and "seq 12" not in result.output


@pytest.mark.rule("SEC-1")
def test_appends_after_a_clean_verify_keep_the_chain(runner, chain, world):
    assert verify(runner).exit_code == 0
    new_customer(world.store.id, "又一个", "13600136000")
    assert verify(runner).exit_code == 0


# ---- the API -------------------------------------------------------------------------

@pytest.mark.rule("SEC-1")
def test_admin_lists_events_by_entity(api, world, chain):
    resp = api.as_("admin").get("audit", query_string={"entity": "customer"})
    assert resp.status_code == 200
    items = resp.json["items"]
    assert len(items) == 3 == resp.json["total"]
    assert {i["entity"] for i in items} == {"customer"}
    assert [i["seq"] for i in items] == sorted((i["seq"] for i in items), reverse=True)  # newest first
    assert {"seq", "at", "actor", "entity", "entity_id", "action", "before", "after", "hash"} <= set(items[0])
    one = api.as_("admin").get("audit", query_string={"entity": "customer", "entity_id": items[0]["entity_id"]})
    assert [i["seq"] for i in one.json["items"]] == [items[0]["seq"]]
    page = api.as_("admin").get("audit", query_string={"per_page": 2, "page": 2})
    assert len(page.json["items"]) == 2 and page.json["total"] > 4


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("username", ["consultant", "manager", "agent", "finance", "manager_b"])
def test_only_admins_read_the_audit_trail(api, world, username):
    assert api.as_(username).get("audit", query_string={"entity": "customer"}).status_code == 403
    assert api.as_(username).get("audit/verify").status_code == 403


@pytest.mark.rule("SEC-1")
def test_verify_endpoint_reports_the_break(api, chain):
    assert api.as_("admin").get("audit/verify").json["ok"] is True
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 4).values(after={"tampered": True}))
    db.session.commit()
    body = api.as_("admin").get("audit/verify").json
    assert body["ok"] is False and body["broken_seq"] == 4 and body["problem"]


# ---- concurrency (PostgreSQL, real threads) ----------------------------------------------------

def _in_threads(count, work):
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def _assert_dense_linked_chain():
    rows = events()
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    prev = audit.GENESIS
    for e in rows:
        assert e.prev_hash == prev
        prev = e.hash
    report = audit.verify_chain()
    assert report.ok, report
    return rows


@pytest.mark.rule("SEC-1")
def test_concurrent_appends_keep_the_chain_dense_and_linked(app, pg_only):
    threads, per_thread = 12, 5

    def work(i):
        for n in range(per_thread):
            with app.app_context():
                audit.record(None, "probe", f"{i}-{n}", "tick", None, {"thread": i, "n": n})
                db.session.commit()

    db.session.commit()
    _in_threads(threads, work)
    rows = _assert_dense_linked_chain()
    assert len(rows) == threads * per_thread
    assert {e.entity_id for e in rows} == {f"{i}-{n}" for i in range(threads) for n in range(per_thread)}


@pytest.mark.rule("SEC-1")
def test_concurrent_api_writes_keep_the_chain(app, api, world, pg_only):
    token, store_id = api.token("admin"), world.store.id  # ORM objects are not read in the threads
    before = len(events())
    phones = [f"1380013{8000 + i:04d}" for i in range(8)]
    statuses = {}

    def work(i):
        resp = app.test_client().post("/api/v1/customers", headers={"Authorization": f"Bearer {token}"},
                                      json={"store_id": store_id, "name": f"并发{i}", "phone": phones[i]})
        statuses[i] = resp.status_code

    _in_threads(len(phones), work)
    assert sorted(statuses.values()) == [201] * len(phones)
    rows = _assert_dense_linked_chain()
    assert len(rows) == before + len(phones)


@pytest.mark.rule("SEC-3")
def test_concurrent_creations_with_one_phone_give_one_201_and_one_409(app, api, world, pg_only):
    token, store_id = api.token("admin"), world.store.id
    results = {}

    def work(i):
        resp = app.test_client().post("/api/v1/customers", headers={"Authorization": f"Bearer {token}"},
                                      json={"store_id": store_id, "name": f"抢注{i}",
                                            "phone": "138 0013 8000" if i else "+8613800138000"})
        results[i] = (resp.status_code, resp.get_json())

    for _round in range(3):
        db.session.execute(delete(Customer.__table__))
        db.session.commit()
        results.clear()
        _in_threads(2, work)
        assert sorted(code for code, _ in results.values()) == [201, 409], results
        refused = next(body for code, body in results.values() if code == 409)
        assert refused["code"] in ("phone_taken", "conflict")
        db.session.rollback()
        assert db.session.execute(select(db.func.count(Customer.id))).scalar_one() == 1
    _assert_dense_linked_chain()
