"""/api/v1/ledger: accounts with balances, statements, admin adjustments, the check; Idempotency-Key."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import IdempotencyKey, Transfer


@pytest.fixture
def books(app, world):
    adj = ledger.account_for("system:0", "adjustment", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    db.session.commit()
    return adj, payable


def adjust(api, body, key="adj-1", who="finance"):
    return api.as_(who).post("ledger/transfers", json=body, headers={"Idempotency-Key": key})


@pytest.mark.rule("LED-1")
def test_accounts_by_owner_carry_balances(api, books):
    adj, payable = books
    ledger.transfer(debit=adj, credit=payable, amount=1234, unit="CNY", reason="r", subject=None, key="a")
    ledger.transfer(debit=adj, credit=payable, amount=66, unit="CNY", reason="r", subject=None, key="b", pending=True)
    db.session.commit()
    resp = api.as_("finance").get("ledger/accounts?owner=customer:7")
    assert resp.status_code == 200, resp.json
    [item] = resp.json["items"]
    assert item["id"] == payable.id and item["unit"] == "CNY" and item["purpose"] == "reward_payable"
    assert item["balance"] == {"posted": 1234, "pending": 66, "available": 1234}
    assert api.as_("finance").get("ledger/accounts?owner=bogus").status_code == 422
    assert api.as_("consultant").get("ledger/accounts?owner=customer:7").status_code == 403


@pytest.mark.rule("LED-7")
def test_statement_pages_entries_with_running_balance(api, books):
    adj, payable = books
    for i in range(5):
        ledger.transfer(debit=adj, credit=payable, amount=100 * (i + 1), unit="CNY", reason=f"reward {i}",
                        subject=f"referral:{i}", key=f"k{i}")
    db.session.commit()
    first = api.as_("finance").get(f"ledger/accounts/{payable.id}/entries?per_page=2").json
    assert first["total"] == 5 and len(first["items"]) == 2
    assert [e["balance_after"] for e in first["items"]] == [1500, 1000]
    assert first["items"][0]["reason"] == "reward 4" and first["items"][0]["subject"] == "referral:4"
    assert first["items"][0]["side"] == "credit" and first["items"][0]["change"] == 500
    last = api.as_("finance").get(f"ledger/accounts/{payable.id}/entries?per_page=2&page=3").json
    assert [e["balance_after"] for e in last["items"]] == [100]
    expense_side = api.as_("finance").get(f"ledger/accounts/{adj.id}/entries?per_page=1").json["items"][0]
    assert expense_side["side"] == "debit" and expense_side["balance_after"] == 1500
    assert api.as_("finance").get("ledger/accounts/9999/entries").status_code == 404


@pytest.mark.rule("LED-3")
def test_adjustment_replays_with_same_key_and_body(api, books):
    adj, payable = books
    body = {"debit_account_id": adj.id, "credit_account_id": payable.id, "amount": 500, "unit": "CNY",
            "reason": "Goodwill for a late payout"}
    first = adjust(api, body)
    assert first.status_code == 201, first.json
    assert first.json["reason"].endswith("Goodwill for a late payout") and first.json["kind"] == "posted"
    again = adjust(api, body)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.query(Transfer).count() == 1
    assert ledger.balance(payable)["posted"] == 500


@pytest.mark.rule("LED-3")
def test_same_key_different_body_is_409_and_moves_nothing(api, books):
    adj, payable = books
    body = {"debit_account_id": adj.id, "credit_account_id": payable.id, "amount": 500, "unit": "CNY",
            "reason": "Goodwill"}
    assert adjust(api, body).status_code == 201
    resp = adjust(api, {**body, "amount": 501})
    assert resp.status_code == 409 and resp.json["code"] == "idempotency_key_reused"
    # another caller may not reuse someone's key either
    resp = adjust(api, body, who="admin")
    assert resp.status_code == 409 and resp.json["code"] == "idempotency_key_reused"
    assert ledger.balance(payable)["posted"] == 500


@pytest.mark.rule("LED-3")
def test_key_is_required_and_a_failed_request_frees_it(api, books):
    adj, payable = books
    body = {"debit_account_id": payable.id, "credit_account_id": adj.id, "amount": 1, "unit": "CNY",
            "reason": "take back"}
    resp = api.as_("finance").post("ledger/transfers", json=body)
    assert resp.status_code == 422 and resp.json["code"] == "idempotency_key_required"
    resp = adjust(api, body, key="k-fail")
    assert resp.status_code == 422 and resp.json["code"] == "insufficient_funds"
    assert db.session.query(IdempotencyKey).count() == 0
    db.session.rollback()  # end our read before the next request wants SQLite's write lock
    ok = adjust(api, {**body, "debit_account_id": adj.id, "credit_account_id": payable.id}, key="k-fail")
    assert ok.status_code == 201


@pytest.mark.rule("LED-1")
@pytest.mark.parametrize("change", [{"amount": 0}, {"amount": 1.5}, {"amount": "5"}, {"unit": "USD"},
                                    {"reason": ""}, {"extra": 1}])
def test_bad_adjustments_are_422_and_change_nothing(api, books, change):
    adj, payable = books
    body = {"debit_account_id": adj.id, "credit_account_id": payable.id, "amount": 5, "unit": "CNY",
            "reason": "r", **change}
    resp = adjust(api, body)
    assert resp.status_code == 422, resp.json
    assert db.session.query(Transfer).count() == 0


@pytest.mark.rule("LED-1")
def test_unit_mismatch_and_only_books_roles(api, books):
    adj, _ = books
    pts = ledger.account_for("customer:7", "points", "PTS")
    db.session.commit()
    body = {"debit_account_id": adj.id, "credit_account_id": pts.id, "amount": 5, "unit": "CNY", "reason": "r"}
    resp = adjust(api, body)
    assert resp.status_code == 422 and resp.json["code"] == "unit_mismatch"
    assert adjust(api, body, who="consultant").status_code == 403


@pytest.mark.rule("LED-4")
def test_check_endpoint_and_cli_report_violations(api, books, app):
    adj, payable = books
    ledger.transfer(debit=adj, credit=payable, amount=10, unit="CNY", reason="r", subject=None, key="a")
    db.session.commit()
    assert api.as_("finance").get("ledger/check").json == {"ok": True, "violations": []}
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0 and "ledger OK" in result.output
    db.session.execute(text("UPDATE ledger_accounts SET credits_posted = 11 WHERE id = :i"), {"i": payable.id})
    db.session.commit()
    body = api.as_("finance").get("ledger/check").json
    assert body["ok"] is False and len(body["violations"]) == 1 and f"account {payable.id}" in body["violations"][0]
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and f"account {payable.id}" in result.output
    db.session.execute(text("UPDATE ledger_accounts SET credits_posted = 10 WHERE id = :i"), {"i": payable.id})
    db.session.commit()


def test_openapi_documents_the_ledger(api):
    spec = api.anonymous.get("/api/v1/openapi.json").json
    assert "/api/v1/ledger/transfers" in spec["paths"] and "/api/v1/customers/{customer_id}/redemptions" in spec["paths"]
