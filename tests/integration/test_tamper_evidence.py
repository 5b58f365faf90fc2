"""Tampering by someone who can write the database but holds neither AUDIT_HMAC_KEY nor the
checkpoint file (SEC-1, LED-4): what `flask audit verify` and `flask ledger check` find.

The attacker here knows the formats (they are in the code) and rewrites what a consistent
forgery needs: later hashes, links, the head row, cached totals. Without the key, a
recomputed hash is plain SHA-256 or an HMAC under a guessed key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, insert, select, text, update

from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent, AuditHead
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import PostedTotalDelta, Transfer
from tests.helpers import new_customer

EVENTS = AuditEvent.__table__
HEAD = AuditHead.__table__


# ---- the attacker's tools --------------------------------------------------------------------------

def _mac(key: bytes | None, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest() if key else hashlib.sha256(message).hexdigest()


def forged_hash(row, key: bytes | None = None) -> str:
    """What an attacker can compute for an event written before 0011c (no seal): the documented
    body, plain SHA-256 or a guessed key."""
    body = {"seq": row.seq, "at": row.at.isoformat(timespec="microseconds"), "actor_id": row.actor_id,
            "actor": row.actor, "entity": row.entity, "entity_id": row.entity_id, "action": row.action,
            "before": row.before, "after": row.after, "prev_hash": row.prev_hash}
    return _mac(key, json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())


def forged_seal(row, key: bytes | None = None) -> tuple[str, str]:
    """(mac, hash) an attacker can compute for a sealed event, from the documented formats."""
    body = {"v": 2, "id": row.id, "at": row.at.isoformat(timespec="microseconds"), "actor_id": row.actor_id,
            "actor": row.actor, "entity": row.entity, "entity_id": row.entity_id, "action": row.action,
            "before": row.before, "after": row.after}
    mac = _mac(key, json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    return mac, _mac(key, f'["audit-link",{row.seq},"{row.prev_hash}","{mac}"]'.encode())


def rehash_from(seq: int, key: bytes | None = None, unseal: bool = False) -> None:
    """Relink and rehash (and reseal) every event from `seq` on, then point the head row at the new
    tip; `unseal`: rewrite them as events from before 0011c (no seal)."""
    rows = list(db.session.execute(select(EVENTS).where(EVENTS.c.seq.is_not(None)).order_by(EVENTS.c.seq)).all())
    for row in rows:  # links are unique: clear them first, as a forger would
        if row.seq >= seq:
            db.session.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=f"x{row.id}"))
    prev = audit.GENESIS
    for row in rows:
        if row.seq >= seq:
            relinked = SimpleNamespace(**{**row._mapping, "prev_hash": prev})
            if row.mac is None or unseal:
                mac, new = None, forged_hash(relinked, key)
            else:
                mac, new = forged_seal(relinked, key)
            db.session.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=prev, hash=new, mac=mac))
            prev = new
        else:
            prev = row.hash
    db.session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=rows[-1].seq if rows else 0, hash=prev))


def renumber_after(seq: int) -> None:
    """Close the gap a deleted event left: every later event moves down by one."""
    for (later,) in db.session.execute(select(EVENTS.c.seq).where(EVENTS.c.seq > seq).order_by(EVENTS.c.seq)).all():
        db.session.execute(update(EVENTS).where(EVENTS.c.seq == later).values(seq=later - 1))


def verify(runner):
    db.session.commit()
    return runner.invoke(args=["audit", "verify"])


@pytest.fixture
def chain(world):
    """A chain of 17 events: the world's (one per store and staff member) and customers up to 17."""
    written = len(list(db.session.execute(select(AuditEvent.seq)).all()))
    for i, phone in enumerate(("13800138000", "13900139000", "13700137000")[:17 - written]):
        new_customer(world.store.id, f"客户{i}", phone)
    db.session.commit()
    rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    assert len(rows) == 17
    return rows


@pytest.fixture
def checkpoint_file(tmp_path, monkeypatch):
    path = tmp_path / "outside" / "audit_checkpoints.jsonl"
    monkeypatch.setattr(audit.settings, "checkpoint_path", str(path))
    return path


def checkpoint(runner):
    db.session.commit()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result


# ---- the audit chain ----------------------------------------------------------------------------------

@pytest.mark.rule("SEC-1")
def test_an_event_edited_and_every_later_hash_recomputed_is_named(runner, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 5).values(after={"name": "李鬼"}))
    rehash_from(5)
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 5" in result.output and "edited" in result.output


@pytest.mark.rule("SEC-1")
def test_a_middle_event_deleted_and_the_chain_renumbered_and_rehashed_is_named(runner, chain):
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq == 7))
    renumber_after(7)
    rehash_from(7)
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 7" in result.output


@pytest.mark.rule("SEC-1")
def test_two_events_swapped_and_rehashed_are_named(runner, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 3).values(seq=-1))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 4).values(seq=3))
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == -1).values(seq=4))
    rehash_from(3)
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 3" in result.output


@pytest.mark.rule("SEC-1")
def test_the_newest_events_deleted_with_the_head_row_rewound_are_found(runner, chain):
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq > 14))
    db.session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=14, hash=chain[13].hash))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 15" in result.output and "head" in result.output


@pytest.mark.rule("SEC-1")
def test_the_newest_events_deleted_with_an_old_copy_of_the_head_are_caught_by_the_checkpoint(
        runner, world, checkpoint_file):
    """The head row's MAC is valid for an older head: only the checkpoint outside knows the chain went further."""
    db.session.commit()
    old_head = dict(db.session.execute(select(HEAD)).one()._mapping)
    for i, phone in enumerate(("13800138000", "13900139000", "13700137000")):
        new_customer(world.store.id, f"客户{i}", phone)
    checkpoint(runner)
    db.session.execute(delete(EVENTS).where(EVENTS.c.seq > old_head["seq"]))
    db.session.execute(update(HEAD).where(HEAD.c.id == 1).values(**old_head))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at event seq {old_head['seq'] + 1}" in result.output
    assert f"names seq {old_head['seq'] + 3}" in result.output and "deleted" in result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("forger_key", [None, b"a-guessed-key-that-is-not-the-one-in-use"],
                         ids=["plain-sha256", "wrong-key"])
def test_the_whole_chain_recomputed_without_the_key_is_named_at_its_first_event(runner, chain, forger_key):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 9).values(action="deleted"))
    rehash_from(1, forger_key)
    if forger_key:  # and a MAC for the head under the same guess
        head = db.session.execute(select(HEAD)).one()
        message = json.dumps(["audit-head", head.seq, head.hash, head.keyed_from], separators=(",", ":")).encode()
        db.session.execute(update(HEAD).values(mac=hmac.new(forger_key, message, hashlib.sha256).hexdigest()))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 1" in result.output


@pytest.mark.rule("SEC-1")
def test_a_chain_rebuilt_as_if_never_keyed_is_caught_by_the_checkpoint(runner, chain, checkpoint_file):
    """Rehashing everything with plain SHA-256 and clearing the head's switch-over and MAC makes the
    database look like one from before the key; the checkpoint says where keyed hashes began."""
    checkpoint(runner)
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 9).values(action="deleted"))
    rehash_from(1, unseal=True)
    db.session.execute(update(HEAD).values(keyed_from=None, mac=None))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 1" in result.output


@pytest.mark.rule("SEC-1")
def test_an_event_appended_behind_the_service_without_moving_the_head_is_found(runner, chain):
    last = chain[-1]
    forged = SimpleNamespace(seq=18, at=last.at, actor_id=None, actor="system", entity="customer", entity_id="99",
                             action="deleted", before=None, after=None, prev_hash=last.hash)
    db.session.execute(EVENTS.insert().values(**vars(forged), hash=forged_hash(forged)))
    result = verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at event seq 18" in result.output and "past the head" in result.output


@pytest.mark.rule("SEC-1")
def test_verify_and_checkpoints_during_concurrent_appends_raise_no_false_alarm(app, chain, checkpoint_file, pg_only):
    """Appends commit while verify walks: it checks the chain up to the head it read first."""
    import threading
    stop = threading.Event()

    def append():
        with app.app_context():
            n = 0
            while not stop.is_set():
                audit.record(None, "probe", str(n), "tick")
                db.session.commit()
                n += 1

    writers = [threading.Thread(target=append) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        for _ in range(15):
            report = audit.verify_chain()
            db.session.rollback()
            assert report.ok, report
            audit.write_checkpoint()  # raises ChainBroken on a false alarm
            db.session.rollback()
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=60)
    report = audit.verify_chain()
    assert report.ok and report.checkpoints >= 1, report


@pytest.mark.rule("SEC-1")
def test_the_api_reports_the_same_break(api, chain):
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 5).values(after={"name": "李鬼"}))
    rehash_from(5)
    db.session.commit()
    body = api.as_("admin").get("audit/verify").json
    assert body["ok"] is False and body["broken_seq"] == 5


# ---- checkpoints ----------------------------------------------------------------------------------------

@pytest.mark.rule("SEC-1")
def test_checkpoints_are_signed_lines_appended_when_the_head_moves(runner, chain, world, checkpoint_file):
    first = checkpoint(runner)
    assert "seq 17" in first.output
    lines = checkpoint_file.read_text().splitlines()
    mark = json.loads(lines[0])
    assert (mark["seq"], mark["hash"], mark["keyed_from"]) == (17, chain[-1].hash, 1)
    assert mark["sig"] and mark["at"] and mark["key_id"]
    assert "unchanged" in checkpoint(runner).output  # the head did not move: nothing appended
    assert len(checkpoint_file.read_text().splitlines()) == 1
    new_customer(world.store.id, "又一个", "13600136000")
    checkpoint(runner)
    assert [json.loads(line)["seq"] for line in checkpoint_file.read_text().splitlines()] == [17, 18]
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "18 events" in result.output and "2 checkpoint(s)" in result.output


@pytest.mark.rule("SEC-1")
def test_an_edited_checkpoint_line_is_reported(runner, chain, checkpoint_file):
    checkpoint(runner)
    mark = json.loads(checkpoint_file.read_text())
    mark["seq"] = 3  # move the mark so a truncation to seq 3 would pass
    checkpoint_file.write_text(json.dumps(mark) + "\n")
    result = verify(runner)
    assert result.exit_code == 1
    assert "line 1" in result.output and "signature" in result.output


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("earlier", [False, True], ids=["first-checkpoint", "after-a-checkpoint"])
def test_a_checkpoint_is_never_written_for_a_broken_chain(runner, chain, world, checkpoint_file, earlier):
    """The first checkpoint verifies the whole chain; a later one what came after the last."""
    target = 5
    if earlier:
        checkpoint(runner)
        new_customer(world.store.id, "又一个", "13600136000")
        target = 18
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == target).values(action="deleted"))
    db.session.commit()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and f"seq {target}" in result.output and "no checkpoint written" in result.output
    lines = checkpoint_file.read_text().splitlines() if checkpoint_file.exists() else []
    assert len(lines) == int(earlier)


@pytest.mark.rule("SEC-1")
def test_the_scheduler_writes_checkpoints_at_the_configured_interval(app, chain, checkpoint_file, monkeypatch):
    from loyalty import scheduler
    job = scheduler.JOBS["audit_checkpoint"]
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_SECONDS", 120)
    assert job.interval(app) == 120
    built = scheduler.build(app)
    try:
        built.start(paused=True)
        assert built.get_job("audit_checkpoint").trigger.interval.total_seconds() == 120
    finally:
        built.shutdown(wait=False)
    db.session.commit()
    assert scheduler.run_job(app, "audit_checkpoint").done == 1
    assert scheduler.run_job(app, "audit_checkpoint").done == 0  # nothing new since
    assert json.loads(checkpoint_file.read_text())["seq"] == 17


@pytest.mark.rule("SEC-1")
def test_the_checkpoint_job_refuses_a_broken_chain_and_says_so(app, chain, checkpoint_file, caplog, monkeypatch):
    import logging

    from loyalty import scheduler
    # alembic's fileConfig (the migrations this session ran) disables loggers that existed before it
    monkeypatch.setattr(logging.getLogger("loyalty.audit.jobs"), "disabled", False)
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 4).values(after={"x": 1}))
    rehash_from(4)
    db.session.commit()
    assert scheduler.run_job(app, "audit_checkpoint").done == 0
    assert not Path(checkpoint_file).exists()
    assert "BROKEN at seq 4" in caplog.text


# ---- a chain from before the key (upgraded database) ------------------------------------------------------

def make_unkeyed(upto_seq: int) -> None:
    """What a database from before migration 0008a holds: plain SHA-256 hashes, no switch-over."""
    rehash_from(1, unseal=True)
    db.session.execute(update(HEAD).values(keyed_from=None, mac=None))
    assert db.session.execute(select(HEAD.c.seq)).scalar_one() == upto_seq


@pytest.mark.rule("SEC-1")
def test_events_from_before_the_key_still_verify_and_later_ones_are_keyed(runner, chain, world):
    make_unkeyed(17)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "17 written before the key" in result.output
    new_customer(world.store.id, "升级后", "13600136000")
    db.session.commit()
    head = db.session.execute(select(HEAD)).one()
    assert head.keyed_from == 18 and head.mac
    newest = db.session.execute(select(AuditEvent).where(AuditEvent.seq == 18)).scalar_one()
    assert newest.hash == audit._digest(newest, keyed=True) != forged_hash(newest)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    # rewriting the old part cannot be carried through the keyed event after it
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 6).values(actor="someone-else"))
    rows = list(db.session.execute(select(EVENTS).where(EVENTS.c.seq <= 17).order_by(EVENTS.c.seq)).all())
    prev = rows[4].hash
    for row in rows[5:]:
        linked, prev = prev, forged_hash(SimpleNamespace(**{**row._mapping, "prev_hash": prev}))
        db.session.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=linked, hash=prev))
    result = verify(runner)
    assert result.exit_code == 1 and "BROKEN at event seq 18" in result.output


# ---- ledger transfers ---------------------------------------------------------------------------------------

@pytest.fixture
def accts(app, world):
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    db.session.commit()
    return expense, payable


def ledger_check(runner):
    db.session.commit()
    return runner.invoke(args=["ledger", "check"])


def written_every_way(expense, payable) -> dict[str, int]:
    """One transfer through each path that inserts transfers (on PostgreSQL: ledger_apply for
    transfer() and post_pending(), ledger_apply on an autocommit connection for submit(), the
    unnest insert for a batch); name -> id."""
    one = ledger.transfer(debit=expense, credit=payable, amount=500, unit="CNY", reason="Referral 1 reward",
                          subject="referral:1", key="r1")
    pending = ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", reason="Referral 2 reserved",
                              subject="referral:2", key="r2", pending=True)
    post = ledger.post_pending(pending.id, reason="Referral 2 verified", key="r2:post")
    still = ledger.transfer(debit=expense, credit=payable, amount=200, unit="CNY", reason="Referral 3 reserved",
                            subject="referral:3", key="r3", pending=True)
    batch = ledger.transfer_batch([dict(debit=expense, credit=payable, amount=70 + i, unit="CNY",
                                        reason=f"Import line {i}", subject=None, key=f"b{i}") for i in range(2)])
    # text PostgreSQL and Python must measure alike (the check builds messages in SQL there), an actor
    chinese = ledger.transfer(debit=expense, credit=payable, amount=1, unit="CNY", reason="积分调整:车主 🚗|1:x",
                              subject="客户:张三", key="调整-🚗", actor=SimpleNamespace(id=3))
    ids = {"transfer": one.id, "posted-pending": pending.id, "post": post.id, "pending": still.id,
           "batch-1": batch[0].id, "batch-2": batch[1].id, "unicode": chinese.id}
    expense_id, payable_id = expense.id, payable.id
    db.session.commit()
    ids["submit"] = ledger.submit(debit=expense_id, credit=payable_id, amount=90, unit="CNY", reason="Integration",
                                  subject="import:9", key="s1").id
    return ids


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
def test_every_way_of_writing_a_transfer_leaves_a_digest_check_accepts(runner, accts):
    ids = written_every_way(*accts)
    digests = db.session.execute(select(Transfer.id, Transfer.digest).where(Transfer.id.in_(ids.values()))).all()
    assert len(digests) == 8 and all(d and len(d) == 64 for _, d in digests)
    result = ledger_check(runner)
    assert result.exit_code == 0, result.output


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("way", ["transfer", "pending", "post", "batch-1", "batch-2", "submit", "unicode"])
def test_an_amount_changed_with_both_cached_totals_is_found(runner, accts, way):
    """A consistent forgery: the amount and both accounts' totals (for a post, its pending too) and, for
    a posted amount, the kept posted totals of the accounts' purposes (issue 16), so every sum still adds up."""
    expense, payable = accts
    tid = written_every_way(expense, payable)[way]
    t = db.session.get(Transfer, tid)
    moved = [tid] + ([t.pending_id] if t.pending_id else [])
    column = "pending" if t.kind == "pending" else "posted"

    def shift(delta):
        db.session.execute(text("UPDATE ledger_transfers SET amount = amount + :d WHERE id IN (:a, :b)"),
                           {"d": delta, "a": moved[0], "b": moved[-1]})
        for side, account in (("debits", expense), ("credits", payable)):
            db.session.execute(text(f"UPDATE ledger_accounts SET {side}_{column} = {side}_{column} + :d "
                                    f"WHERE id = :i"), {"d": delta, "i": account.id})
        if column == "posted":  # both balances grow on their normal side (expense debit, payable credit)
            db.session.execute(insert(PostedTotalDelta.__table__),
                               [{"purpose": a.purpose, "unit": a.unit, "n": delta} for a in (expense, payable)])
    shift(1000)
    result = ledger_check(runner)
    assert result.exit_code == 1
    found = [line for line in result.output.splitlines() if line.startswith("VIOLATION")]
    assert found == [f"VIOLATION: transfer {i} does not match its digest: its amount, accounts, reason or another "
                     f"field was changed after it was written" for i in sorted(set(moved))]  # nothing else shows it
    shift(-1000)
    assert ledger_check(runner).exit_code == 0


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("column, value", [("reason", "Referral 99 reward"), ("subject", "referral:99"),
                                           ("key", "r1-renamed"), ("actor_id", 3)])
def test_a_changed_reason_or_other_recorded_field_is_found(runner, api, accts, column, value):
    tid = written_every_way(*accts)["transfer"]
    was = db.session.execute(text(f"SELECT {column} FROM ledger_transfers WHERE id = :i"), {"i": tid}).scalar_one()
    db.session.execute(text(f"UPDATE ledger_transfers SET {column} = :v WHERE id = :i"), {"v": value, "i": tid})
    result = ledger_check(runner)
    assert result.exit_code == 1 and f"transfer {tid} does not match its digest" in result.output
    body = api.as_("finance").get("ledger/check").json
    assert body["ok"] is False and any(f"transfer {tid} does not match" in v for v in body["violations"])
    db.session.execute(text(f"UPDATE ledger_transfers SET {column} = :v WHERE id = :i"), {"v": was, "i": tid})
    assert ledger_check(runner).exit_code == 0


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
def test_a_removed_digest_is_found(runner, accts):
    tid = written_every_way(*accts)["post"]
    was = db.session.get(Transfer, tid).digest
    db.session.execute(text("UPDATE ledger_transfers SET digest = NULL WHERE id = :i"), {"i": tid})
    result = ledger_check(runner)
    assert result.exit_code == 1 and f"transfer {tid} carries no digest" in result.output
    db.session.execute(text("UPDATE ledger_transfers SET digest = :d WHERE id = :i"), {"d": was, "i": tid})
    assert ledger_check(runner).exit_code == 0


@pytest.mark.rule("LED-4")
@pytest.mark.rule("SEC-1")
def test_a_post_repointed_to_a_twin_pending_is_found(runner, accts):
    """Two reservations alike in accounts and amount: moving the post from one to the other
    keeps every sum, but the post's digest names its pending by key."""
    expense, payable = accts
    first = ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", reason="Referral 1 reserved",
                            subject="referral:1", key="p1", pending=True)
    twin = ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", reason="Referral 2 reserved",
                           subject="referral:1", key="p2", pending=True)
    post = ledger.post_pending(first.id, reason="Referral 1 verified", key="p1:post")
    assert ledger_check(runner).exit_code == 0
    db.session.execute(text("UPDATE ledger_transfers SET pending_id = :t WHERE id = :i"), {"t": twin.id, "i": post.id})
    result = ledger_check(runner)
    assert result.exit_code == 1 and f"transfer {post.id} does not match its digest" in result.output
    db.session.execute(text("UPDATE ledger_transfers SET pending_id = :t WHERE id = :i"), {"t": first.id, "i": post.id})
    assert ledger_check(runner).exit_code == 0


# ---- migration 0008a on a database that already holds a chain and transfers ----------------------------

@pytest.mark.rule("SEC-1")
@pytest.mark.rule("LED-4")
def test_an_upgraded_database_verifies_and_guards_everything_written_after_the_upgrade(tmp_path):
    from datetime import datetime, timezone

    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.config import TestConfig
    app = create_app(TestConfig(f"sqlite:///{tmp_path / 'upgrade-0008a.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0007_occupation")
        at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        with db.engine.begin() as conn:  # what the code of 0007 wrote
            for owner, purpose, normal in (("store:1", "referral_expense", "debit"),
                                           ("customer:1", "reward_payable", "credit")):
                conn.execute(text(
                    "INSERT INTO ledger_accounts (owner, purpose, unit, normal, debits_must_not_exceed_credits, "
                    "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, "
                    "credits_pending, created_at) VALUES (:o, :p, 'CNY', :n, 0, 0, :d, :c, 0, 0, :at)"),
                    {"o": owner, "p": purpose, "n": normal, "d": 500 if normal == "debit" else 0,
                     "c": 500 if normal == "credit" else 0, "at": at.replace(tzinfo=None)})
            conn.execute(text("INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, "
                              "unit, reason, subject, at) VALUES ('old', 'posted', 1, 2, 500, 'CNY', "
                              "'Referral 1 reward', 'referral:1', :at)"), {"at": at.replace(tzinfo=None)})
            prev = audit.GENESIS
            for seq in (1, 2):
                row = SimpleNamespace(seq=seq, at=at, actor_id=None, actor="system", entity="probe",
                                      entity_id=str(seq), action="tick", before=None, after={"n": seq},
                                      prev_hash=prev)
                conn.execute(EVENTS.insert().values(**vars(row), hash=forged_hash(row)))
                prev = forged_hash(row)
            conn.execute(text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": prev})
        upgrade()
        try:
            report = audit.verify_chain()
            assert report.ok and (report.events, report.unkeyed, report.keyed_from) == (3, 3, None), report
            boundary = db.session.execute(select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
            assert (boundary.entity, boundary.action, boundary.after) == (
                "ledger_transfers", "digests_introduced", {"unsigned_up_to_id": 1, "transfers": 1})
            assert ledger.check() == []  # the transfer from before the upgrade carries no digest, and may not

            new = ledger.transfer(debit=1, credit=2, amount=200, unit="CNY", reason="Referral 2 reward",
                                  subject="referral:2", key="new")
            audit.record(None, "probe", "3", "tick")
            db.session.commit()
            report = audit.verify_chain()
            assert report.ok and (report.keyed_from, report.unkeyed) == (4, 3), report
            assert ledger.check() == []

            db.session.execute(text("UPDATE ledger_transfers SET digest = NULL WHERE id = :i"), {"i": new.id})
            assert ledger.check() == [f"transfer {new.id} carries no digest: written behind the ledger's back, "
                                      f"or its digest was removed"]
            # moving the boundary over it would hide that, and breaks the keyed chain instead
            db.session.execute(update(EVENTS).where(EVENTS.c.seq == 3).values(
                after={"unsigned_up_to_id": new.id, "transfers": 2}))
            assert ledger.check() == []
            report = audit.verify_chain()
            assert not report.ok and report.broken_seq == 3
            db.session.rollback()
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.rule("SEC-1")
def test_verify_resumes_from_the_last_checkpoint_and_still_sees_it_rewritten(runner, chain, world, checkpoint_file):
    """Issue 16: `audit verify --resume` walks only the events after the last checkpoint, and an event
    at or before it rewritten with the key's help is still caught (the checkpoint's own event must match)."""
    checkpoint(runner)
    new_customer(world.store.id, "客户9", "13600136000")
    db.session.commit()
    result = runner.invoke(args=["audit", "verify", "--resume"])
    assert result.exit_code == 0 and "audit chain OK: 1 events" in result.output, result.output
    db.session.execute(update(EVENTS).where(EVENTS.c.seq == 17).values(after={"name": "李鬼"}))
    rehash_from(17)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify", "--resume"])
    assert result.exit_code == 1 and "seq 17" in result.output, result.output
