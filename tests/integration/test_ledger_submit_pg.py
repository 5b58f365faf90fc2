"""submit() on PostgreSQL runs ledger_apply through libpq on a connection it holds (issue 16): a
connection that drops, a statement deallocated under it, and an error of the statement itself."""
from __future__ import annotations

import gc
import threading

import psycopg
import pytest
from sqlalchemy import text

from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger import transfers


@pytest.fixture
def pair(app, pg_only):
    expense = ledger.account_for("store:1", "referral_expense", "CNY").id
    payable = ledger.account_for("customer:7", "reward_payable", "CNY").id
    db.session.commit()
    yield expense, payable
    held = getattr(transfers._local, "conns", {})
    for conn in held.values():  # the held connection outlives the test's app otherwise
        conn.close()
    held.clear()


def _submit(pair, key, amount=100):
    return ledger.submit(debit=pair[0], credit=pair[1], amount=amount, unit="CNY", reason="import", subject=None,
                         key=key)


@pytest.mark.rule("LED-3")
def test_a_dropped_connection_is_replaced_and_the_transfer_made_once(pair):
    first = _submit(pair, "a")
    pid = transfers._held_connection().info.backend_pid
    db.session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    db.session.commit()
    second = _submit(pair, "b")
    assert transfers._held_connection().info.backend_pid != pid
    assert second.id > first.id and _submit(pair, "b").id == second.id  # replayed by its key, not moved again
    assert ledger.balance(pair[1])["posted"] == 200
    db.session.rollback()


@pytest.mark.rule("LED-3")
def test_a_statement_deallocated_under_it_is_prepared_again(pair):
    _submit(pair, "a")
    transfers._held_connection().execute("DEALLOCATE ALL")
    assert _submit(pair, "b", amount=5).amount == 5
    assert ledger.balance(pair[1])["posted"] == 105
    db.session.rollback()


@pytest.mark.rule("LED-3")
def test_an_error_of_the_statement_is_raised_and_the_connection_kept(pair):
    _submit(pair, "a")
    conn = transfers._held_connection()
    conn.execute("SET lock_timeout = '50ms'")
    with db.engine.connect() as other:  # another writer holds the account
        other.execute(text("SELECT id FROM ledger_accounts WHERE id = :i FOR UPDATE"), {"i": pair[1]})
        with pytest.raises(psycopg.errors.LockNotAvailable):
            _submit(pair, "b")
        other.rollback()
    assert transfers._held_connection() is conn  # not replaced: the connection was fine
    conn.execute("RESET lock_timeout")
    assert _submit(pair, "b").amount == 100
    assert ledger.balance(pair[1])["posted"] == 200
    db.session.rollback()


def _in_a_thread(app, fn):
    out = []

    def run():
        with app.app_context():
            try:
                out.append(fn())
            except Exception as exc:  # noqa: BLE001 - the test reads what the thread met
                out.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out[0]


@pytest.mark.rule("LED-3")
@pytest.mark.parametrize("closes", [False, True])
def test_a_connection_another_thread_held_is_used_as_it_is(pair, app, closes):
    """A request thread that submitted and ended leaves its connection, statement prepared on it, to
    the pool (dropped with the thread, or closed); the next thread to hold it submits all the same."""
    def one(key):
        try:
            return ledger.submit(debit=pair[0], credit=pair[1], amount=1, unit="CNY", reason="r", subject=None,
                                 key=key).amount
        finally:
            if closes:
                for conn in transfers._local.conns.values():
                    conn.close()
            transfers._local.conns.clear()
            gc.collect()
    assert [_in_a_thread(app, lambda n=n: one(f"request-{n}")) for n in range(4)] == [1, 1, 1, 1]
    assert ledger.balance(pair[1])["posted"] == 4
    db.session.rollback()


@pytest.mark.rule("LED-3")
def test_a_statement_prepared_already_is_used(pair):
    """The statement is on the connection though this process lost track of it (SQLSTATE 42P05)."""
    _submit(pair, "a")
    transfers._PREPARED.clear()
    assert _submit(pair, "b", amount=5).amount == 5
    db.session.rollback()
