"""Admin adjustments (POST /ledger/transfers) on customers' points accounts keep the lots true,
and the API's ledger check is the CLI's (LED-4, LED-5)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select, text

from loyalty.audit.models import AuditEvent
from loyalty.books.adjustments import admin_adjustment
from loyalty.directory import service as directory
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.points import service as points
from loyalty.points.models import PointsLot
from tests.helpers import new_customer

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def zhang(app, world):
    return new_customer(world.store.id)


@pytest.fixture
def issued(world):
    account = ledger.account_for(f"store:{world.store.id}", "points_issued", "PTS")
    db.session.commit()
    return account


def held(customer):
    return points.points_account(customer.id)


def adjust(api, debit, credit, amount, key, unit="PTS", who="admin"):
    return api.as_(who).post("ledger/transfers", headers={"Idempotency-Key": key}, json={
        "debit_account_id": debit.id, "credit_account_id": credit.id, "amount": amount, "unit": unit,
        "reason": "goodwill after a complaint"})


def visit(api, customer, store, amount):
    resp = api.as_("service").post(f"customers/{customer.id}/service-visits",
                                      json={"store_id": store.id, "amount": amount},
                                      headers={"Idempotency-Key": f"visit-{customer.id}-{amount}-{uuid.uuid4().hex}"})
    assert resp.status_code == 201, resp.json
    return resp.json["lot"]


def both_checks(api, runner) -> list[str]:
    """GET /ledger/check and `flask ledger check` must say the same thing."""
    db.session.commit()
    body = api.as_("finance").get("ledger/check").json
    result = runner.invoke(args=["ledger", "check"])
    cli = [line.removeprefix("VIOLATION: ") for line in result.output.splitlines() if line.startswith("VIOLATION: ")]
    assert body["violations"] == cli
    assert body["ok"] is (result.exit_code == 0) is (not cli)
    return cli


def lots_of(customer) -> list[PointsLot]:
    db.session.expire_all()
    return list(db.session.execute(select(PointsLot).where(PointsLot.customer_id == customer.id)
                                   .order_by(PointsLot.earned_at, PointsLot.id)).scalars())


@pytest.mark.rule("LED-4")
def test_the_api_and_the_cli_report_the_same_points_violation(api, runner, world, zhang):
    """Finding 4: the API said ok while `flask ledger check` found the lots off their account."""
    visit(api, zhang, world.store, 30_000)
    assert both_checks(api, runner) == []
    db.session.execute(text("UPDATE points_lots SET remaining = remaining - 1 WHERE customer_id = :c"), {"c": zhang.id})
    violations = both_checks(api, runner)
    assert violations == [f"customer {zhang.id}: lots hold 29 points but the points account holds 30"]
    db.session.execute(text("UPDATE points_lots SET remaining = remaining + 1 WHERE customer_id = :c"), {"c": zhang.id})
    assert both_checks(api, runner) == []


@pytest.mark.rule("LED-4")
@pytest.mark.rule("LED-5")
def test_points_credited_by_an_adjustment_become_a_lot_that_expires_like_earned_points(
        api, runner, world, zhang, issued):
    directory.set_policy(None, world.store.id, {"points_expiry_months": 6})
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        resp = adjust(api, issued, held(zhang), 50, "adj-1")
    assert resp.status_code == 201, resp.json
    [lot] = lots_of(zhang)
    assert (lot.points, lot.remaining, lot.source, lot.store_id, lot.transfer_id) == (
        50, 50, "adjustment", world.store.id, resp.json["id"])
    assert lot.expires_at == T0.replace(month=9)
    assert ledger.balance(held(zhang))["posted"] == 50
    assert both_checks(api, runner) == []
    again = adjust(api, issued, held(zhang), 50, "adj-1")  # the same key: replayed, no second lot
    assert again.status_code == 201 and again.json["id"] == resp.json["id"]
    assert len(lots_of(zhang)) == 1


@pytest.mark.rule("LED-4")
@pytest.mark.rule("LED-5")
def test_points_debited_by_an_adjustment_leave_the_oldest_lots_first(api, runner, world, zhang, issued):
    with time_machine.travel(T0, tick=False):
        visit(api, zhang, world.store, 30_000)
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        visit(api, zhang, world.store, 20_000)
        resp = adjust(api, held(zhang), issued, 40, "adj-2")
    assert resp.status_code == 201, resp.json
    assert [(lot.points, lot.remaining) for lot in lots_of(zhang)] == [(30, 0), (20, 10)]
    assert ledger.balance(held(zhang))["posted"] == 10
    adjusted = db.session.execute(select(AuditEvent).where(AuditEvent.entity == "points_lot",
                                                           AuditEvent.action == "adjusted")
                                  .order_by(AuditEvent.seq)).scalars().all()
    assert [(e.before["remaining"], e.after["remaining"], e.after["adjustment_transfer_id"]) for e in adjusted] == [
        (30, 0, resp.json["id"]), (20, 10, resp.json["id"])]
    assert both_checks(api, runner) == []


@pytest.mark.rule("LED-5")
def test_expired_points_are_not_taken_by_an_adjustment(api, runner, world, zhang, issued):
    """A lot past its expiry (not yet moved to breakage) still counts in the balance, but an
    adjustment, like a redemption, may not spend it: 422 and nothing moves."""
    directory.set_policy(None, world.store.id, {"points_expiry_months": 1})
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        visit(api, zhang, world.store, 30_000)
    with time_machine.travel(T0 + timedelta(days=45), tick=False):
        resp = adjust(api, held(zhang), issued, 10, "adj-3")
    assert resp.status_code == 422
    assert resp.json["code"] == "insufficient_points" and "amount" in resp.json["fields"]
    assert [(lot.points, lot.remaining) for lot in lots_of(zhang)] == [(30, 30)]
    assert ledger.balance(held(zhang))["posted"] == 30
    assert both_checks(api, runner) == []


@pytest.mark.rule("LED-4")
@pytest.mark.rule("LED-5")
def test_points_moved_between_two_customers_leave_one_lot_and_make_another(api, runner, world, zhang):
    li = new_customer(world.store.id, "李四", "13900139000")
    visit(api, zhang, world.store, 30_000)
    resp = adjust(api, held(zhang), held(li), 12, "adj-4")
    assert resp.status_code == 201, resp.json
    assert [(lot.points, lot.remaining) for lot in lots_of(zhang)] == [(30, 18)]
    assert [(lot.points, lot.remaining, lot.source) for lot in lots_of(li)] == [(12, 12, "adjustment")]
    assert both_checks(api, runner) == []


@pytest.mark.rule("LED-4")
def test_a_points_adjustment_made_twice_in_the_service_moves_the_lots_once(app, world, zhang, issued):
    admin = world["admin"]
    first = admin_adjustment(admin, debit_account_id=issued.id, credit_account_id=held(zhang).id,
                             amount=7, unit="PTS", reason="correction", key="svc-1")
    again = admin_adjustment(admin, debit_account_id=issued.id, credit_account_id=held(zhang).id,
                             amount=7, unit="PTS", reason="correction", key="svc-1")
    db.session.commit()
    assert again.id == first.id
    assert [(lot.points, lot.remaining) for lot in lots_of(zhang)] == [(7, 7)]
    assert ledger.check() == []


def test_the_statement_calls_a_credit_adjustment_an_adjustment(app, api, world, zhang, issued):
    from loyalty.points.views import entry_kind
    visit(api, zhang, world.store, 30_000)
    assert adjust(api, issued, held(zhang), 5, "adj-5").status_code == 201
    entries = points.summary(world["admin"], zhang.id)["entries"]
    with app.test_request_context():
        assert [entry_kind(e) for e in entries] == ["调整", "获得"]  # newest first


@pytest.mark.rule("SEC-4")
def test_a_points_account_without_a_customer_on_record_is_a_422_and_moves_nothing(api, runner, issued):
    orphan = ledger.account_for("customer:999", "points", "PTS")
    db.session.commit()
    resp = adjust(api, issued, orphan, 5, "adj-6")
    assert resp.status_code == 422
    assert resp.json["code"] == "customer_not_found" and "credit_account_id" in resp.json["fields"]
    assert ledger.balance(orphan)["posted"] == 0
    assert both_checks(api, runner) == []
