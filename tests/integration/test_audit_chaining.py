"""Issue 16: writers seal their audit events and a short step after their commit chains them
(SEC-1). Writers never wait on the head row for their whole transaction; what waits to be
chained is still tamper-evident; the chain stays dense, linked and verifiable."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, select, text, update

from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.extensions import db
from tests.helpers import new_customer

EVENTS = AuditEvent.__table__


def verify(runner):
    db.session.commit()
    return runner.invoke(args=["audit", "verify"])


def write_unchained(entity_id: str) -> int:
    """An event committed by its writer whose chaining step never ran (the process died between)."""
    event = audit.record(None, "probe", entity_id, "tick", None, {"n": entity_id})
    db.session.info.pop(audit.UNCHAINED)
    event_id = event.id
    db.session.commit()
    return event_id


def row(event_id: int):
    return db.session.execute(select(EVENTS).where(EVENTS.c.id == event_id)).one()


@pytest.mark.rule("SEC-1")
def test_a_committed_event_is_chained_by_the_step_after_its_commit(app, world):
    new_customer(world.store.id, "客户", "13800138000")
    db.session.commit()
    newest = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    head = db.session.get(AuditHead, 1)
    assert newest.mac and (newest.seq, newest.hash) == (head.seq, head.hash)
    assert newest.hash == audit._link(newest.seq, newest.prev_hash, newest.mac)
    assert db.session.execute(select(EVENTS.c.id).where(EVENTS.c.seq.is_(None))).all() == []


@pytest.mark.rule("SEC-1")
def test_a_rolled_back_transaction_leaves_no_event_and_nothing_to_chain(app, world):
    before = db.session.execute(select(AuditHead.seq)).scalar_one()
    audit.record(None, "probe", "gone", "tick")
    db.session.rollback()
    assert audit.UNCHAINED not in db.session.info
    assert db.session.execute(select(EVENTS.c.id).where(EVENTS.c.entity_id == "gone")).all() == []
    assert db.session.execute(select(AuditHead.seq)).scalar_one() == before


@pytest.mark.rule("SEC-1")
def test_an_event_waiting_to_be_chained_verifies_and_a_sweep_chains_it(runner, world):
    waiting = write_unchained("w1")
    assert row(waiting).seq is None and row(waiting).mac
    result = verify(runner)
    assert result.exit_code == 0 and "1 more sealed and waiting to be chained" in result.output, result.output
    new_customer(world.store.id, "客户", "13800138000")  # a later writer's step chains its own event (at least)
    db.session.commit()
    assert verify(runner).exit_code == 0
    audit.chain_waiting()  # the sweep (the checkpoint job, `flask audit checkpoint`) chains what waits
    assert row(waiting).seq is not None
    result = verify(runner)
    assert result.exit_code == 0 and "waiting" not in result.output, result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("column, value", [("after", {"n": "forged"}), ("actor", "someone-else"),
                                           ("action", "deleted"), ("at", None)])
def test_an_event_edited_while_waiting_to_be_chained_is_named_before_and_after_chaining(runner, world, column, value):
    waiting = write_unchained("w1")
    if column == "at":
        value = row(waiting).at.replace(year=2020)
    db.session.execute(update(EVENTS).where(EVENTS.c.id == waiting).values({column: value}))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at event id {waiting} (not chained)" in result.output and "seal" in result.output
    audit.chain_waiting()  # the chaining step does not read content: it cannot launder the edit
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at event seq {row(waiting).seq}" in result.output and "seal" in result.output


@pytest.mark.rule("SEC-1")
def test_an_event_copied_under_another_id_is_named_once_chained(runner, world):
    """The seal covers the id: a copy of a sealed event (to repeat what it records) does not hold."""
    db.session.commit()
    original = db.session.execute(select(EVENTS).where(EVENTS.c.seq == 3)).one()._mapping
    copy = {**original, "id": 10_000, "seq": None, "prev_hash": None, "hash": None}
    db.session.execute(insert(EVENTS).values(**copy))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and "event id 10000 (not chained)" in result.output
    audit.chain_waiting()
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at event seq {row(10_000).seq}" in result.output and "copied" in result.output


@pytest.mark.rule("SEC-1")
def test_an_unsealed_event_inserted_behind_the_service_is_named_and_never_chained(runner, world):
    db.session.commit()
    forged = {"id": 10_001, "at": row(1).at, "actor": "system", "entity": "customer", "entity_id": "1",
              "action": "deleted"}
    db.session.execute(insert(EVENTS).values(**forged))
    db.session.commit()
    assert audit.chain_waiting() == 0 and row(10_001).seq is None
    result = verify(runner)
    assert result.exit_code == 1 and "event id 10001 (not chained)" in result.output
    assert "neither chained nor sealed" in result.output


@pytest.mark.rule("SEC-1")
def test_the_checkpoint_job_chains_events_whose_step_did_not_run(app, world):
    from loyalty import scheduler
    waiting = write_unchained("w1")
    assert scheduler.run_job(app, "audit_checkpoint").failed == 0
    assert row(waiting).seq == db.session.get(AuditHead, 1).seq
    assert audit.verify_chain().ok


# ---- concurrency (PostgreSQL, real threads) ----------------------------------------------------

@pytest.mark.rule("SEC-1")
def test_two_transactions_appending_events_are_open_at_once(app, pg_only):
    """Issue 16: a writer that appended an event and has not committed yet does not hold up a
    second writer's append and commit (before, the second waited on the audit_head row lock until
    the first committed; here it would time out on lock_timeout)."""
    db.session.commit()
    first_open, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first():
        with app.app_context():
            try:
                audit.record(None, "probe", "first", "tick")
                db.session.flush()
                first_open.set()
                assert second_done.wait(timeout=30), "the second writer never finished"
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                first_open.set()

    def second():
        with app.app_context():
            try:
                assert first_open.wait(timeout=30)
                db.session.execute(text("SET lock_timeout = '3s'"))
                started = time.monotonic()
                audit.record(None, "probe", "second", "tick")
                db.session.commit()  # and the chaining step after it: neither waits on the first
                assert time.monotonic() - started < 3
                second_done.set()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.entity == "probe").order_by(AuditEvent.seq)).scalars()
    assert [e.entity_id for e in rows] == ["second", "first"]  # chained in commit order, dense
    report = audit.verify_chain()
    assert report.ok and report.unchained == 0, report
