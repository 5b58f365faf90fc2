"""The ledger's service functions: accounts, transfers, two-phase, idempotency, invariants."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from loyalty.books.adjustments import admin_adjustment
from loyalty.errors import Conflict, RuleViolation, ValidationFailed
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account, Transfer


@pytest.fixture
def accts(app):
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    clearing = ledger.account_for("store:1", "cash_clearing", "CNY")
    db.session.commit()
    return expense, payable, clearing


@pytest.mark.rule("LED-1")
def test_account_for_is_get_or_create_with_flags_by_purpose(app):
    a = ledger.account_for("customer:7", "reward_payable", "CNY")
    b = ledger.account_for("customer:7", "reward_payable", "CNY")
    assert a.id == b.id and a.unit == "CNY"
    assert a.debits_must_not_exceed_credits and not a.credits_must_not_exceed_debits
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    assert not expense.debits_must_not_exceed_credits and not expense.credits_must_not_exceed_debits
    assert ledger.account_for("customer:7", "points", "PTS").id != a.id
    with pytest.raises(ValidationFailed):
        ledger.account_for("nobody", "points", "PTS")
    with pytest.raises(ValidationFailed):
        ledger.account_for("customer:7", "no_such_purpose", "PTS")
    with pytest.raises(ValidationFailed):
        ledger.account_for("customer:7", "points", "USD")


@pytest.mark.rule("LED-1")
def test_accounts_for_reads_a_transfer_s_sides_in_one_statement_and_makes_the_missing_ones(app):
    payable = ledger.account_for("customer:7", "reward_payable", "CNY").id
    db.session.commit()
    db.session.expunge_all()  # read from the database, not the identity map
    sent: list[str] = []

    def count(conn, cursor, sql, *_):
        sent.append(sql)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        got = ledger.accounts_for(("store:1", "referral_expense", "CNY"), ("customer:7", "reward_payable", "CNY"),
                                  ("store:1", "referral_expense", "CNY"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    expense = got[0]
    assert [a.id for a in got] == [expense.id, payable, expense.id] and expense.id != payable
    assert (expense.owner, expense.purpose, expense.unit, expense.normal) == ("store:1", "referral_expense", "CNY", "debit")
    # one read of both, one INSERT ... RETURNING of the missing one; nothing read again
    assert [sql.split()[0] for sql in sent if sql != "BEGIN IMMEDIATE"] == ["SELECT", "INSERT"], sent  # SQLite's BEGIN
    db.session.expunge_all()
    again = ledger.accounts_for(("customer:7", "reward_payable", "CNY"), ("store:1", "referral_expense", "CNY"))
    assert [a.id for a in again] == [payable, expense.id]
    assert db.session.query(Account).count() == 2
    with pytest.raises(ValidationFailed):
        ledger.accounts_for(("customer:7", "points", "PTS"), ("customer:7", "points", "USD"))


@pytest.mark.rule("LED-1")
def test_making_an_account_another_transaction_made_first_returns_that_one(app):
    """accounts_for's insert finds the owner's account made since its read (the race a PostgreSQL
    test runs with threads): nothing inserted, the existing account returned."""
    from loyalty.ledger import accounts
    first = ledger.account_for("customer:8", "points", "PTS").id
    db.session.commit()
    db.session.expunge_all()
    again = accounts._create("customer:8", "points", "PTS")
    assert again.id == first and db.session.query(Account).count() == 1


@pytest.mark.rule("LED-1")
@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True, None])
def test_amount_is_a_positive_integer(accts, amount):
    expense, payable, _ = accts
    with pytest.raises(ValidationFailed):
        ledger.transfer(debit=expense, credit=payable, amount=amount, unit="CNY", reason="x", subject=None, key="k")
    assert db.session.query(Transfer).count() == 0


@pytest.mark.rule("LED-1")
def test_one_unit_per_account(accts):
    expense, _, _ = accts
    points = ledger.account_for("customer:7", "points", "PTS")
    with pytest.raises(ValidationFailed) as err:
        ledger.transfer(debit=expense, credit=points, amount=5, unit="CNY", reason="x", subject=None, key="k")
    assert err.value.code == "unit_mismatch"


@pytest.mark.rule("LED-2")
def test_pending_then_post_moves_reservation_to_posted(accts):
    expense, payable, _ = accts
    p = ledger.transfer(debit=expense, credit=payable, amount=50000, unit="CNY", pending=True,
                        reason="Referral 42 reward reserved", subject="referral:42", key="referral:42:reserve")
    assert ledger.balance(payable) == {"posted": 0, "pending": 50000, "available": 0}
    assert ledger.balance(expense) == {"posted": 0, "pending": 50000, "available": 0}
    post = ledger.post_pending(p.id, reason="Referral 42 verified", key="referral:42:post")
    assert post.kind == "post" and post.pending_id == p.id and post.amount == 50000
    assert ledger.balance(payable) == {"posted": 50000, "pending": 0, "available": 50000}
    with pytest.raises(Conflict) as err:
        ledger.void_pending(p.id, reason="too late", key="referral:42:void")
    assert err.value.code == "pending_already_resolved"
    # the same post again (same key) is a replay, not a second post
    assert ledger.post_pending(p.id, reason="Referral 42 verified", key="referral:42:post").id == post.id
    assert ledger.check() == []


@pytest.mark.rule("LED-2")
def test_void_releases_and_transfers_are_immutable_rows(accts):
    expense, payable, _ = accts
    p = ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", pending=True,
                        reason="reserve", subject="referral:1", key="r1")
    v = ledger.void_pending(p.id, reason="fraud", key="v1")
    assert v.kind == "void"
    assert ledger.balance(payable) == {"posted": 0, "pending": 0, "available": 0}
    assert db.session.query(Transfer).count() == 2
    with pytest.raises(RuleViolation):
        ledger.post_pending(v.id, reason="x", key="v2")


@pytest.mark.rule("LED-4")
def test_flagged_account_cannot_be_overdrawn_pending_included(accts):
    expense, payable, clearing = accts
    ledger.transfer(debit=expense, credit=payable, amount=1000, unit="CNY", reason="reward", subject=None, key="a")
    ledger.transfer(debit=payable, credit=clearing, amount=600, unit="CNY", pending=True, reason="pay",
                    subject=None, key="b")
    assert ledger.balance(payable) == {"posted": 1000, "pending": -600, "available": 400}
    with pytest.raises(RuleViolation) as err:
        ledger.transfer(debit=payable, credit=clearing, amount=401, unit="CNY", reason="pay", subject=None, key="c")
    assert err.value.code == "insufficient_funds"
    ledger.transfer(debit=payable, credit=clearing, amount=400, unit="CNY", reason="pay", subject=None, key="d")
    assert ledger.balance(payable)["available"] == 0
    assert ledger.check() == []


@pytest.mark.rule("LED-3")
def test_same_key_same_params_replays_and_different_params_conflict(accts):
    expense, payable, _ = accts
    first = ledger.transfer(debit=expense, credit=payable, amount=500, unit="CNY", reason="r", subject="s:1", key="k1")
    again = ledger.transfer(debit=expense, credit=payable, amount=500, unit="CNY", reason="r", subject="s:1", key="k1")
    assert again.id == first.id
    assert ledger.balance(payable)["posted"] == 500
    with pytest.raises(Conflict) as err:
        ledger.transfer(debit=expense, credit=payable, amount=501, unit="CNY", reason="r", subject="s:1", key="k1")
    assert err.value.code == "idempotency_key_reused"
    assert ledger.balance(payable)["posted"] == 500


@pytest.mark.rule("LED-3")
def test_replay_of_a_spend_still_answers_after_the_balance_is_gone(accts):
    expense, payable, clearing = accts
    ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="in")
    spent = ledger.transfer(debit=payable, credit=clearing, amount=100, unit="CNY", reason="p", subject=None, key="out")
    assert ledger.transfer(debit=payable, credit=clearing, amount=100, unit="CNY", reason="p", subject=None,
                           key="out").id == spent.id


@pytest.mark.rule("LED-2")
def test_linked_batch_is_all_or_nothing(accts):
    expense, payable, clearing = accts
    db.session.commit()
    items = [dict(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", key="b1"),
             dict(debit=payable, credit=clearing, amount=150, unit="CNY", reason="r", key="b2")]
    with pytest.raises(RuleViolation):
        ledger.transfer_batch(items)
    assert db.session.query(Transfer).count() == 0
    items[1]["amount"] = 100
    done = ledger.transfer_batch(items)
    assert [t.key for t in done] == ["b1", "b2"] and len({t.batch for t in done}) == 1
    assert [t.id for t in ledger.transfer_batch(items)] == [t.id for t in done]
    assert ledger.balance(clearing)["posted"] == -100 or ledger.balance(clearing)["posted"] == 100
    assert ledger.check() == []


@pytest.mark.rule("LED-7")
def test_every_transfer_needs_a_reason(accts):
    expense, payable, _ = accts
    with pytest.raises(ValidationFailed) as err:
        ledger.transfer(debit=expense, credit=payable, amount=5, unit="CNY", reason="  ", subject=None, key="k")
    assert "reason" in err.value.fields


@pytest.mark.rule("LED-4")
def test_check_names_each_violation(accts):
    expense, payable, clearing = accts
    p = ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="a",
                        pending=True)
    ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="b")
    db.session.commit()
    assert ledger.check() == []
    db.session.execute(text("UPDATE ledger_accounts SET debits_posted = debits_posted + 7 WHERE id = :i"),
                       {"i": expense.id})
    problems = ledger.check()
    assert len(problems) == 1 and f"account {expense.id}" in problems[0] and "cached totals" in problems[0]
    db.session.rollback()
    # an overdraw written behind the service's back (no cache change: the DB constraint would refuse that)
    db.session.execute(text("INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount,"
                            " unit, reason, at) VALUES ('evil', 'posted', :d, :c, 999, 'CNY', 'x', :at)"),
                       {"d": payable.id, "c": clearing.id, "at": p.at.replace(tzinfo=None)})
    problems = ledger.check()
    assert any("overdrawn" in v and f"account {payable.id}" in v for v in problems)
    db.session.rollback()
    db.session.execute(text("DELETE FROM ledger_transfers WHERE id = :i"), {"i": p.id})
    assert any("differ" in v for v in ledger.check())
    db.session.rollback()
    # units/amounts broken behind the ORM's back
    db.session.execute(text("UPDATE ledger_transfers SET unit = 'PTS' WHERE key = 'b'"))
    assert any("does not balance" in v for v in ledger.check())
    db.session.rollback()
    assert ledger.check() == []


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("change, named", [
    ("UPDATE ledger_transfers SET unit = 'PTS' WHERE key = 'b'", "b"),  # not its accounts' unit
    ("UPDATE ledger_transfers SET amount = 99 WHERE key = 'a'", "a:post"),  # the post no longer matches its pending
    ("UPDATE ledger_transfers SET debit_account_id = credit_account_id, credit_account_id = debit_account_id "
     "WHERE key = 'a'", "a:post"),
    ("UPDATE ledger_transfers SET pending_id = (SELECT id FROM ledger_transfers WHERE key = 'b') "
     "WHERE key = 'a:post'", "a:post"),  # it resolves a transfer that is not a pending
])
def test_check_names_each_transfer_that_does_not_balance(accts, change, named):
    expense, payable, _ = accts
    p = ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="a",
                        pending=True)
    ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="b")
    ledger.post_pending(p.id, reason="posted", key="a:post")
    db.session.commit()
    assert ledger.check() == []
    db.session.execute(text(change))
    tid = db.session.execute(text("SELECT id FROM ledger_transfers WHERE key = :k"), {"k": named}).scalar_one()
    unbalanced = [v for v in ledger.check() if "does not balance" in v]
    assert len(unbalanced) == 1 and unbalanced[0].startswith(f"transfer {tid} does not balance")
    db.session.rollback()


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("change, constraint", [
    ("UPDATE ledger_transfers SET amount = 0 WHERE key = 'b'", "amount_positive"),
    ("UPDATE ledger_transfers SET amount = -5 WHERE key = 'b'", "amount_positive"),
    ("UPDATE ledger_transfers SET credit_account_id = debit_account_id WHERE key = 'b'", "two_accounts"),
])
def test_check_names_a_transfer_whose_amount_or_accounts_the_database_let_through(accts, change, constraint):
    """What the CHECK constraints forbid is still checked: a database restored without them, or
    changed with them dropped, must not pass."""
    expense, payable, _ = accts
    ledger.transfer(debit=expense, credit=payable, amount=100, unit="CNY", reason="r", subject=None, key="b")
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"ALTER TABLE ledger_transfers DROP CONSTRAINT ck_ledger_transfers_{constraint}"))
    else:
        db.session.execute(text("PRAGMA ignore_check_constraints = 1"))
    try:
        db.session.execute(text(change))
        tid = db.session.execute(text("SELECT id FROM ledger_transfers WHERE key = 'b'")).scalar_one()
        assert any(v.startswith(f"transfer {tid} does not balance") for v in ledger.check())
    finally:
        db.session.rollback()  # the constraint's drop too (PostgreSQL's DDL is transactional)
        db.session.execute(text("PRAGMA ignore_check_constraints = 0")) if db.engine.dialect.name == "sqlite" else None
        db.session.commit()


@pytest.mark.rule("LED-3")
def test_submit_is_its_own_committed_transaction(app, accts):
    expense, payable, clearing = accts
    e_id, p_id, c_id = expense.id, payable.id, clearing.id
    db.session.rollback()
    t = ledger.submit(debit=e_id, credit=p_id, amount=700, unit="CNY", reason="import", subject="import:1",
                      key="imp-1")
    assert t.id and t.amount == 700 and t.kind == "posted"  # usable after its commit
    assert not db.session().in_transaction()
    db.session.rollback()  # committed: a rollback now takes nothing back
    assert ledger.balance(p_id) == {"posted": 700, "pending": 0, "available": 700}
    db.session.rollback()
    again = ledger.submit(debit=e_id, credit=p_id, amount=700, unit="CNY", reason="import", subject="import:1",
                          key="imp-1")
    assert again.id == t.id  # same key, same body: the first transfer, nothing moved
    with pytest.raises(Conflict) as err:
        ledger.submit(debit=e_id, credit=p_id, amount=701, unit="CNY", reason="import", subject="import:1",
                      key="imp-1")
    assert err.value.code == "idempotency_key_reused"
    with pytest.raises(RuleViolation) as err:  # the payable may not be debited past what it holds
        ledger.submit(debit=p_id, credit=c_id, amount=701, unit="CNY", reason="too much", subject=None,
                      key="imp-2")
    assert err.value.code == "insufficient_funds"
    with pytest.raises(ValidationFailed) as err:
        ledger.submit(debit=e_id, credit=987654, amount=1, unit="CNY", reason="x", subject=None, key="imp-3")
    assert err.value.code == "account_not_found"
    assert ledger.balance(p_id)["posted"] == 700
    assert db.session.query(Transfer).count() == 1


@pytest.mark.rule("LED-3")
def test_submit_refuses_to_commit_someone_elses_transaction(accts):
    expense, payable, _ = accts
    ledger.account_for("customer:8", "points", "PTS")  # work in progress
    with pytest.raises(RuntimeError):
        ledger.submit(debit=expense, credit=payable, amount=1, unit="CNY", reason="x", subject=None, key="k")
    db.session.rollback()
    assert db.session.query(Transfer).count() == 0


@pytest.mark.rule("SEC-1")
def test_an_admin_adjustment_is_audited_once(accts):
    from loyalty.audit.models import AuditEvent
    expense, payable, _ = accts
    t = admin_adjustment(None, debit_account_id=expense.id, credit_account_id=payable.id, amount=300,
                         unit="CNY", reason="补录", key="adj-1")
    again = admin_adjustment(None, debit_account_id=expense.id, credit_account_id=payable.id, amount=300,
                             unit="CNY", reason="补录", key="adj-1")
    assert again.id == t.id
    events = db.session.query(AuditEvent).filter_by(entity="ledger_transfer", entity_id=str(t.id)).all()
    assert [e.action for e in events] == ["adjustment"] and events[0].after["amount"] == 300


@pytest.mark.rule("LED-1")
def test_a_transfer_needs_two_different_accounts(accts):
    account = accts[0].id
    for move in (ledger.transfer, ledger.submit):
        db.session.rollback()
        with pytest.raises(ValidationFailed) as err:
            move(debit=account, credit=account, amount=5, unit="CNY", reason="x", subject=None, key="same")
        assert err.value.fields == {"credit": ["Must differ from the debit account."]}
    assert db.session.query(Transfer).count() == 0


@pytest.mark.rule("LED-4")
def test_a_flagged_account_is_not_overdrawn_on_its_credit_side(accts):
    """Cash (a debit-side account) may not be credited beyond what it holds: the check on the
    credit account, which PostgreSQL's one-statement transfer makes on its own."""
    expense, _, clearing = accts
    cash = ledger.account_for("store:1", "cash", "CNY")
    ledger.transfer(debit=cash, credit=expense, amount=300, unit="CNY", reason="till float", subject=None, key="in")
    cash_id, clearing_id = cash.id, clearing.id
    db.session.commit()
    with pytest.raises(RuleViolation) as err:
        ledger.transfer(debit=clearing_id, credit=cash_id, amount=301, unit="CNY", reason="too much", subject=None,
                        key="out")
    assert err.value.code == "insufficient_funds"
    db.session.rollback()
    with pytest.raises(RuleViolation):
        ledger.submit(debit=clearing_id, credit=cash_id, amount=301, unit="CNY", reason="too much", subject=None,
                      key="out2")
    paid = ledger.submit(debit=clearing_id, credit=cash_id, amount=300, unit="CNY", reason="all of it",
                         subject=None, key="out3")
    assert paid.amount == 300 and ledger.balance(cash_id) == {"posted": 0, "pending": 0, "available": 0}


@pytest.mark.rule("LED-7")
@pytest.mark.parametrize("field", ["reason", "key", "subject"])
@pytest.mark.parametrize("how", ["transfer", "submit"])
def test_text_with_a_nul_is_refused_and_nothing_written(accts, field, how):
    """No text column holds a NUL, and on submit()'s path (libpq) one would end the value early:
    the reason stored would be shorter than the one its digest covers."""
    expense, payable, _ = accts
    args = dict(debit=expense.id, credit=payable.id, amount=5, unit="CNY", reason="r", subject="s", key="k")
    args[field] = "before\x00after"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as err:
        getattr(ledger, how)(**args)
    assert field in err.value.fields
    db.session.rollback()
    assert db.session.query(Transfer).count() == 0
