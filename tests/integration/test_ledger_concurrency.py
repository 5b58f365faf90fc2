"""Real threads against PostgreSQL: one key one effect, no overdraw, one resolution per pending,
one expiry per lot (LED-2, LED-3, LED-4, LED-5)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine

from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account, Transfer
from loyalty.points import service as points
from loyalty.points.jobs import expire_points
from loyalty.points.models import PointsLot, PointsRedemption
from tests.flows import catalog_item
from tests.helpers import new_customer


def run_in_threads(app, n, work):
    """Run work(i) in n threads released together, each in its own app context and session."""
    barrier = threading.Barrier(n)

    def one(i):
        with app.app_context():
            barrier.wait()
            try:
                result = work(i)
                db.session.commit()
                return ("ok", result)
            except DomainError as exc:
                db.session.rollback()
                return ("error", exc.code)
            finally:
                db.session.remove()
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.rule("LED-3")
def test_50_concurrent_redemptions_with_one_key_have_one_effect(app, api, world, pg_only):
    zhang = new_customer(world.store.id)
    resp = api.as_("service").post(f"customers/{zhang.id}/service-visits",
                                      json={"store_id": world.store.id, "amount": 100_000},
                                      headers={"Idempotency-Key": "visit-1"})
    assert resp.json["points"] == 100
    code = catalog_item("洗车券", price=10).code  # read here: the threads have no app context
    token = api.token("service")
    db.session.commit()
    path = f"/api/v1/customers/{zhang.id}/redemptions"
    barrier = threading.Barrier(50)

    def redeem(_):
        client = app.test_client()
        barrier.wait()
        r = client.post(path, json={"points": 30, "item": code, "quantity": 3},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"})
        return r.status_code, r.get_json()
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(redeem, range(50)))
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    assert db.session.query(PointsRedemption).count() == 1
    assert ledger.balance(points.points_account(zhang.id))["posted"] == 70


@pytest.mark.rule("LED-4")
def test_concurrent_debits_never_overdraw(app, pg_only):
    src = ledger.account_for("system:0", "adjustment", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    clearing = ledger.account_for("store:1", "cash_clearing", "CNY")
    ledger.transfer(debit=src, credit=payable, amount=1000, unit="CNY", reason="fund", subject=None, key="fund")
    db.session.commit()
    ids = (payable.id, clearing.id)
    results = run_in_threads(app, 30, lambda i: ledger.transfer(
        debit=ids[0], credit=ids[1], amount=100, unit="CNY", reason="pay", subject=None, key=f"pay-{i}").id)
    outcomes = sorted(r[0] if r[0] == "ok" else r[1] for r in results)
    assert outcomes.count("ok") == 10 and outcomes.count("insufficient_funds") == 20
    assert ledger.balance(payable) == {"posted": 0, "pending": 0, "available": 0}


@pytest.mark.rule("LED-2")
def test_20_concurrent_post_or_void_of_one_pending_one_wins(app, pg_only):
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    p = ledger.transfer(debit=expense, credit=payable, amount=50000, unit="CNY", reason="reserve",
                        subject="referral:1", key="reserve", pending=True)
    db.session.commit()
    pid = p.id

    def resolve(i):
        fn = ledger.post_pending if i % 2 else ledger.void_pending
        return fn(pid, reason="decided", key=f"resolve-{i}").kind
    results = run_in_threads(app, 20, resolve)
    wins = [r for r in results if r[0] == "ok"]
    assert len(wins) == 1
    assert sorted({r[1] for r in results if r[0] == "error"}) == ["pending_already_resolved"]
    assert db.session.query(Transfer).filter(Transfer.pending_id == pid).count() == 1
    expected = 50000 if wins[0][1] == "post" else 0
    assert ledger.balance(payable) == {"posted": expected, "pending": 0, "available": expected}


@pytest.mark.rule("LED-5")
def test_two_expiry_jobs_never_expire_a_lot_twice(app, world, pg_only):
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    customers = [new_customer(world.store.id, name=f"客户{i}", phone=f"1380013{i:04d}") for i in range(10)]
    with time_machine.travel(t0, tick=False):
        for c in customers:
            for n in range(3):
                points.earn_for_visit(None, c.id, store_id=world.store.id, amount=10_000 + n * 1000, key=f"{c.id}-{n}")
    db.session.commit()
    with time_machine.travel(t0 + timedelta(days=800), tick=False):
        done = run_in_threads(app, 4, lambda i: expire_points())
    assert sum(r[1] for r in done) == 30
    assert db.session.query(PointsLot).filter(PointsLot.remaining > 0).count() == 0
    breakage = ledger.account_for(f"store:{world.store.id}", "points_breakage", "PTS")
    assert ledger.balance(breakage)["posted"] == 10 * (10 + 11 + 12)
    assert db.session.query(Transfer).filter(Transfer.key.like("points:expire:%")).count() == 30


@pytest.mark.rule("LED-1")
def test_threads_making_the_same_new_accounts_at_once_share_one_of_each(app, pg_only):
    """accounts_for's INSERT ... ON CONFLICT DO NOTHING RETURNING: the threads that lose the race
    read the winner's account instead of making a second or failing."""
    def both(i):
        debit, credit = ledger.accounts_for(("store:9", "points_issued", "PTS"), ("customer:99", "points", "PTS"))
        return debit.id, credit.id
    results = run_in_threads(app, 12, both)
    assert {r[0] for r in results} == {"ok"}
    assert len({r[1] for r in results}) == 1
    assert db.session.query(Account).filter(Account.owner.in_(["store:9", "customer:99"])).count() == 2
