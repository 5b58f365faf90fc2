"""`flask audit verify` and `flask ledger check` at scale (issue 16, SEC-1, LED-4): the rows walked in
spans over several processes (--jobs) find what one walk finds, wherever it lies, and a walk that was
interrupted resumes after the last span it finished (--resume), from a signed record nobody can forge.

Spans are made a few rows wide here (loyalty.scanning.LEAST), so a small chain has many of them and a
tampered row can sit at the start, inside or at the end of one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from loyalty import scanning
from loyalty.audit import service as audit
from loyalty.audit import verifying
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Transfer

EVENTS = AuditEvent.__table__
WIDTH = 5  # events or transfers per span


@pytest.fixture
def narrow(monkeypatch):
    monkeypatch.setattr(scanning, "LEAST", WIDTH)
    monkeypatch.setattr(scanning, "MOST", WIDTH)


class Interrupted(Exception):
    pass


def stop_after(spans: int):
    """A progress callback that interrupts the walk (as Ctrl-C would) once `spans` spans are done."""
    done = []

    def progress(n: int) -> None:
        done.append(n)
        if len(done) == spans:
            raise Interrupted
    return progress


# ---- the audit chain ----------------------------------------------------------------------------------

@pytest.fixture
def chain(app, narrow):
    """41 events: a span boundary every 5 (spans 1-5, 6-10, ...)."""
    for i in range(41):
        audit.record(None, "probe", str(i), "tick", after={"n": i, "名": "张三", "nested": {"b": [1, 2], "a": None}})
        db.session.commit()
    assert db.session.execute(select(EVENTS.c.seq).order_by(EVENTS.c.seq.desc()).limit(1)).scalar() == 41
    return 41


def verify(runner, *args):
    db.session.commit()
    return runner.invoke(args=["audit", "verify", *args])


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_verify_in_spans_passes_a_clean_chain(runner, chain, jobs):
    result = verify(runner, "--jobs", jobs)
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {chain} events" in result.output


@pytest.mark.rule("SEC-1")
# a span's first or last event, one inside, the last of all (fewer with 3 processes: each run spawns them)
@pytest.mark.parametrize("jobs, seq", [("1", 1), ("1", 5), ("1", 6), ("1", 23), ("1", 41), ("3", 5), ("3", 6),
                                       ("3", 41)])
def test_an_edited_event_is_named_in_whichever_span_it_lies(runner, chain, jobs, seq):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(after={"n": 999}))
    result = verify(runner, "--jobs", jobs)
    assert result.exit_code == 1
    assert f"BROKEN at event seq {seq} " in result.output and "edited" in result.output


@pytest.mark.rule("SEC-1")
# the last event of a span, the first of the next, another
@pytest.mark.parametrize("jobs, seq", [("1", 5), ("1", 6), ("1", 30), ("3", 5), ("3", 6)])
def test_a_deleted_event_is_named_across_span_boundaries(runner, chain, jobs, seq):
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq == seq))
    result = verify(runner, "--jobs", jobs)
    assert result.exit_code == 1
    assert f"BROKEN at event seq {seq} " in result.output and f"event seq {seq} is missing" in result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_the_first_of_two_breaks_in_different_spans_is_named(runner, chain, jobs):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 33).values(action="x"))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 12).values(action="y"))
    result = verify(runner, "--jobs", jobs)
    assert result.exit_code == 1 and "BROKEN at event seq 12 " in result.output


@pytest.mark.rule("SEC-1")
def test_reordered_events_across_a_boundary_are_found(runner, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 10).values(seq=-1))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 11).values(seq=10))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == -1).values(seq=11))
    result = verify(runner, "--jobs", "3")
    assert result.exit_code == 1 and "BROKEN at event seq 10 " in result.output


def interrupt_verify(app, spans: int) -> Path:
    path = Path(app.instance_path) / "audit-verify.progress"
    with pytest.raises(Interrupted):
        audit.verify_chain(progress=stop_after(spans), jobs=1, progress_path=path)
    assert path.exists()
    return path


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_an_interrupted_verify_resumes_after_the_last_span_it_finished(app, runner, chain, jobs):
    db.session.commit()
    path = interrupt_verify(app, spans=3)  # seqs 1..15 walked
    result = verify(runner, "--resume", "--jobs", jobs)
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {chain - 15} events after seq 15 (resumed from the interrupted verify of" in result.output
    assert not path.exists()  # completed: the next verify starts from scratch
    assert f"audit chain OK: {chain} events;" in verify(runner, "--resume", "--jobs", "1").output


@pytest.mark.rule("SEC-1")
def test_a_resumed_verify_still_finds_tampering_after_the_point_and_at_it(app, runner, chain):
    db.session.commit()
    interrupt_verify(app, spans=3)
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 16).values(action="x"))
    result = verify(runner, "--resume", "--jobs", "1")
    assert result.exit_code == 1 and "BROKEN at event seq 16 " in result.output
    interrupt_verify(app, spans=2)  # seqs 1..10: the record names seq 10 and its hash
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 16).values(action="tick"))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 10).values(hash="f" * 64))
    result = verify(runner, "--resume", "--jobs", "1")
    assert result.exit_code == 1 and "BROKEN at event seq 10 " in result.output and "no longer matches" in result.output


@pytest.mark.rule("SEC-1")
def test_a_fresh_verify_forgets_an_older_interrupted_ones_progress(app, runner, chain, monkeypatch):
    db.session.commit()
    path = interrupt_verify(app, spans=3)

    def stopped(*args):
        raise Interrupted
    monkeypatch.setattr(verifying, "walk_span", stopped)  # a fresh verify, stopped before any span was done
    with pytest.raises(Interrupted):
        audit.verify_chain(jobs=1, progress_path=path)
    assert not path.exists()


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("forge", ["seq", "signature"])
def test_a_forged_progress_record_is_ignored_and_everything_is_walked(app, runner, chain, forge):
    db.session.commit()
    path = interrupt_verify(app, spans=1)
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 20).values(action="x"))
    head = db.session.execute(select(EVENTS.c.seq, EVENTS.c.hash).where(EVENTS.c.seq == 40)).one()
    body = json.loads(path.read_text())
    if forge == "seq":  # skip past the edited event, keeping the old signature
        body["state"].update(seq=head.seq, hash=head.hash)
    else:  # signed with a key of the forger's own
        body["sig"] = "0" * 64
    path.write_text(json.dumps(body))
    result = verify(runner, "--resume", "--jobs", "1")
    assert result.exit_code == 1 and "BROKEN at event seq 20 " in result.output
    assert "resumed" not in result.output


# ---- the ledger ---------------------------------------------------------------------------------------

@pytest.fixture
def transfers(app, narrow):
    """33 transfers, ids 1..33 (a span every 5 ids)."""
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    db.session.commit()
    made = ledger.transfer_batch([dict(debit=expense, credit=payable, amount=100 + i, unit="CNY",
                                       reason=f"推荐 {i} 奖励", subject=f"referral:{i}", key=f"r{i}")
                                  for i in range(33)])
    db.session.commit()
    return [t.id for t in made]


def tamper(tid: int, **values) -> dict:
    """Set these columns of a transfer; what they were, to put back (the after-test check must pass)."""
    was = dict(db.session.execute(select(*(Transfer.__table__.c[k] for k in values)).where(
        Transfer.id == tid)).one()._mapping)
    db.session.execute(update(Transfer.__table__).where(Transfer.id == tid).values(**values))
    return was


def put_back(tid: int, was: dict) -> None:
    db.session.execute(update(Transfer.__table__).where(Transfer.id == tid).values(**was))
    db.session.commit()


def check(runner, *args):
    db.session.commit()
    return runner.invoke(args=["ledger", "check", *args])


def violations(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("VIOLATION")]


def changed(tid: int) -> str:
    return (f"VIOLATION: transfer {tid} does not match its digest: its amount, accounts, reason or another field "
            f"was changed after it was written")


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_check_in_spans_passes_a_clean_ledger(runner, transfers, jobs):
    result = check(runner, "--jobs", jobs)
    assert result.exit_code == 0, result.output


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_changed_transfers_are_named_in_whichever_span_they_lie(runner, transfers, jobs):
    picked = [transfers[0], transfers[4], transfers[5], transfers[17], transfers[-1]]
    was = {tid: tamper(tid, reason="x") for tid in picked}
    result = check(runner, "--jobs", jobs)
    assert result.exit_code == 1
    assert violations(result) == [changed(tid) for tid in picked]
    for tid in picked:
        put_back(tid, was[tid])
    assert check(runner, "--jobs", "1").exit_code == 0


def interrupt_check(app, spans: int) -> Path:
    path = Path(app.instance_path) / "ledger-check.progress"
    with pytest.raises(Interrupted):
        ledger.check(progress=stop_after(spans), jobs=1, progress_path=path)
    db.session.rollback()
    assert path.exists()
    return path


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("jobs", ["1", "3"])
def test_an_interrupted_check_resumes_and_keeps_what_it_had_found(app, runner, transfers, jobs):
    early, late = transfers[2], transfers[20]
    was = {tid: tamper(tid, reason="x") for tid in (early, late)}
    db.session.commit()
    path = interrupt_check(app, spans=2)  # ids 1..10 checked, `early` among them
    state = json.loads(path.read_text())["state"]
    assert state["id"] == 10 and state["found"]["changed"] == [early]
    put_back(early, was[early])  # the resumed pass must not look at ids 1..10 again, and keeps what it found
    result = check(runner, "--resume", "--jobs", jobs)
    assert result.exit_code == 1
    assert "resuming after transfer 10" in result.output
    assert changed(early) in violations(result) and changed(late) in violations(result)
    assert not path.exists()
    result = check(runner, "--resume", "--jobs", "1")  # from scratch: the early one holds again
    assert changed(early) not in violations(result) and changed(late) in violations(result)
    put_back(late, was[late])


@pytest.mark.rule("LED-4")
def test_a_forged_check_record_is_ignored(app, runner, transfers):
    was = tamper(transfers[30], reason="x")
    db.session.commit()
    path = interrupt_check(app, spans=1)
    body = json.loads(path.read_text())
    body["state"]["id"] = transfers[-1]  # claims the whole pass was done
    path.write_text(json.dumps(body))
    result = check(runner, "--resume", "--jobs", "1")
    assert "resuming" not in result.output
    assert violations(result) == [changed(transfers[30])]
    put_back(transfers[30], was)


def test_a_transfer_count_reaches_the_progress_bar(app, transfers):
    told = []
    assert ledger.check(progress=told.append, jobs=1) == []
    assert sum(told) == len(transfers) and db.session.get(Transfer, transfers[0]) is not None


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
def test_the_digest_message_is_the_same_from_either_sql_form_and_from_python(app, transfers, pg_only):
    """PostgreSQL 14+ takes an event's epoch microseconds in one exact numeric; earlier servers take
    whole seconds and microseconds apart: both give the text Python's _message builds, at any time."""
    from datetime import UTC, datetime

    from loyalty.ledger import digest_walk
    times = ["1999-12-31 23:59:59.999999", "2026-01-01 00:00:00", "2026-06-30 12:34:56.000001",
             "2026-11-30 23:59:59.5", "2038-01-19 03:14:08.123456"]
    for tid, at in zip(transfers, times):
        db.session.execute(text("UPDATE ledger_transfers SET at = CAST(:at AS timestamptz) WHERE id = :i"),
                           {"at": at + "+00", "i": tid})
    p = ledger.transfer(debit=ledger.account_for("store:1", "referral_expense", "CNY"),
                        credit=ledger.account_for("customer:7", "reward_payable", "CNY"), amount=5, unit="CNY",
                        reason="r", subject=None, key="held", pending=True)
    ledger.post_pending(p.id, reason="posted", key="held:post")  # a message naming its pending's key
    conn = db.session.connection().connection.driver_connection
    high = db.session.execute(select(Transfer.id).order_by(Transfer.id.desc()).limit(1)).scalar_one()
    new, old = ({row[0]: bytes(row[1]) for row in conn.execute(digest_walk.pg_digest_rows(version), (1, high))}
                for version in (150000, 130000))
    assert new == old and len(new) == len(transfers) + 2
    for t in db.session.execute(select(Transfer)).scalars():
        pending_key = db.session.get(Transfer, t.pending_id).key if t.pending_id else None
        at_us = (t.at - datetime(1970, 1, 1, tzinfo=UTC)) // digest_walk._MICROSECOND
        assert new[t.id] == digest_walk._message(t.key, t.kind, t.debit_account_id, t.credit_account_id, t.amount,
                                                 t.unit, pending_key, t.reason, t.subject, t.batch, t.actor_id,
                                                 at_us).encode()
    db.session.rollback()  # the times were changed behind the digests
