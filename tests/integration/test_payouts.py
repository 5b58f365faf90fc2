"""Payouts: finance approval, rejection, payment, idempotency and the backfill (LED-6, LED-3)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.ledger.models import IdempotencyKey, Transfer
from loyalty.payouts.models import Payout, PayoutApproval
from tests.flows import balances, payout_of, plan_of, post, verified_referral


@pytest.fixture
def verified(api, world, people, due_at_once, monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    return rid, payout_of(api, rid)


@pytest.mark.rule("LED-6")
def test_a_verified_cash_reward_becomes_a_payout_awaiting_approval(api, world, people, verified):
    rid, payout = verified
    assert payout["referral_id"] == rid and payout["status"] == "awaiting_approval"
    assert (payout["amount"], payout["gross_amount"], payout["offset_amount"], payout["unit"]) == (50000, 50000, 0, "CNY")
    assert payout["payee"] == f"customer:{people['zhang'].id}" and payout["approvals_required"] == 1
    evidence = payout["evidence"]
    assert evidence["checks"]["referrer_name"] == "match" and evidence["verdict"] == "verified"
    assert evidence["registered_by"] == "Consultant" and evidence["delivery_checked_by"] == "Manager2"
    assert evidence["callback"]["agent"] == "Agent" and set(evidence["callback"]["grades"]) == {"correct"}
    text = str(evidence)
    plan = plan_of(rid)
    for question in plan.questions:  # never the questions nor the answer key
        assert question["text_zh"] not in text
        if question["kind"] == "open":  # (car facts may equal what the claim itself says)
            assert str(question["true_value"]) not in text
    assert "13800138000" not in text and "true_value" not in text and "questions" not in text
    assert api.as_("finance").get(f"payouts/{payout['id']}").json["id"] == payout["id"]
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"] == 50000
    assert db.session.query(AuditEvent).filter_by(entity="payout", action="requested").count() == 1


@pytest.mark.rule("LED-6")
def test_a_points_reward_needs_no_payout(api, world, people, due_at_once, monkeypatch):
    assert api.as_("admin").put(f"stores/{world.store.id}/policy",
                                json={"reward_unit": "PTS", "reward_amount": 500}).status_code == 200
    verified_referral(api, world, people, monkeypatch)
    assert db.session.query(Payout).count() == 0


@pytest.mark.rule("LED-6")
def test_rewards_posted_before_payouts_existed_are_backfilled_once(api, world, people, verified, runner):
    rid, payout = verified
    db.session.execute(delete(PayoutApproval))
    db.session.execute(delete(Payout))  # as if the reward was posted before this release
    db.session.commit()
    result = runner.invoke(args=["payouts", "backfill"])
    assert result.exit_code == 0, result.output
    assert "payouts requested: 1" in result.output
    again = runner.invoke(args=["payouts", "backfill"])
    assert "payouts requested: 0" in again.output
    db.session.expire_all()
    backfilled = payout_of(api, rid)
    assert backfilled["status"] == "awaiting_approval" and backfilled["amount"] == 50000
    assert backfilled["evidence"]["checks"]["plate"] == "match"


@pytest.mark.rule("SEC-2")
@pytest.mark.rule("LED-6")
def test_only_finance_approves_rejects_and_pays(api, verified):
    _, payout = verified
    for who in ("consultant", "manager", "agent", "admin"):
        assert post(api, who, f"payouts/{payout['id']}/approve", f"k-{who}").status_code == 403
        assert post(api, who, f"payouts/{payout['id']}/reject", f"r-{who}", reason="x").status_code == 403
    assert api.as_("manager").get("payouts").status_code == 403
    assert db.session.query(PayoutApproval).count() == 0


@pytest.mark.rule("LED-6")
def test_the_registrant_or_delivery_checker_never_approves(api, world, verified):
    _, payout = verified
    checker = world["manager2"]
    checker.role, checker.store_id = "finance", None  # moved to finance after checking the delivery
    db.session.commit()
    resp = post(api, "manager2", f"payouts/{payout['id']}/approve", "k1")
    assert resp.status_code == 403 and resp.json["code"] == "approver_involved"
    resp = post(api, "manager2", f"payouts/{payout['id']}/reject", "k2", reason="不同意")
    assert resp.status_code == 403
    assert db.session.query(PayoutApproval).count() == 0


@pytest.mark.rule("LED-6")
def test_above_the_threshold_two_different_approvers(api, world, people, due_at_once, monkeypatch):
    assert api.as_("admin").put(f"stores/{world.store.id}/policy",
                                json={"reward_amount": 300000}).status_code == 200
    rid = verified_referral(api, world, people, monkeypatch)
    payout = payout_of(api, rid)
    assert payout["approvals_required"] == 2
    first = post(api, "finance", f"payouts/{payout['id']}/approve", "a1")
    assert first.status_code == 200 and first.json["status"] == "awaiting_approval"
    assert len(first.json["approvals"]) == 1
    again = post(api, "finance", f"payouts/{payout['id']}/approve", "a2")
    assert again.status_code == 409 and again.json["code"] == "already_approved_by_you"
    early = post(api, "finance", f"payouts/{payout['id']}/paid", "p0", method="cash", external_reference="R1")
    assert early.status_code == 409
    second = post(api, "finance2", f"payouts/{payout['id']}/approve", "a3")
    assert second.status_code == 200 and second.json["status"] == "approved"
    assert {a["approver_id"] for a in second.json["approvals"]} == {world["finance"].id, world["finance2"].id}


@pytest.mark.rule("LED-6")
def test_one_approval_suffices_at_or_below_the_threshold(api, verified):
    _, payout = verified
    resp = post(api, "finance", f"payouts/{payout['id']}/approve", "a1")
    assert resp.status_code == 200 and resp.json["status"] == "approved"


@pytest.mark.rule("LED-6")
def test_reject_reverses_the_reward_and_the_referral_shows_why(api, world, people, verified):
    rid, payout = verified
    missing = post(api, "finance", f"payouts/{payout['id']}/reject", "r0")
    assert missing.status_code == 422 and "reason" in missing.json["fields"]
    resp = post(api, "finance", f"payouts/{payout['id']}/reject", "r1", reason="客户身份存疑，材料不全")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "rejected" and resp.json["rejection_reason"] == "客户身份存疑，材料不全"
    reversal = db.session.get(Transfer, resp.json["reverse_transfer_id"])
    assert reversal.kind == "posted" and reversal.amount == 50000 and "客户身份存疑" in reversal.reason
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"] == 0
    assert balances(api, f"store:{world.store.id}")["referral_expense"]["posted"] == 0
    referral = api.as_("manager").get(f"referrals/{rid}").json
    assert referral["status"] == "verified"
    assert referral["reason"] == "payout_rejected" and referral["reason_text"] == "客户身份存疑，材料不全"
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "a9").status_code == 409


@pytest.mark.rule("LED-6")
@pytest.mark.parametrize("method", ["bank_transfer", "wechat_pay"])
def test_mark_paid_moves_the_payable_to_the_stores_cash_clearing(api, world, people, verified, method):
    _, payout = verified
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "a1").status_code == 200
    bad = post(api, "finance", f"payouts/{payout['id']}/paid", "p0", method="paypal", external_reference="X")
    assert bad.status_code == 422 and "method" in bad.json["fields"]
    resp = post(api, "finance2", f"payouts/{payout['id']}/paid", "p1", method=method, external_reference="4200001234")
    assert resp.status_code == 200, resp.json
    assert (resp.json["status"], resp.json["method"], resp.json["external_reference"]) == ("paid", method, "4200001234")
    paid = api.as_("admin").get(f"ledger/transfers/{resp.json['paid_transfer_id']}").json
    payable = next(a for a in api.as_("admin").get(f"ledger/accounts?owner=customer:{people['zhang'].id}")
                   .json["items"] if a["purpose"] == "reward_payable")
    clearing = next(a for a in api.as_("admin").get(f"ledger/accounts?owner=store:{world.store.id}")
                    .json["items"] if a["purpose"] == "cash_clearing")
    assert (paid["debit_account_id"], paid["credit_account_id"], paid["amount"]) == (payable["id"], clearing["id"], 50000)
    assert payable["balance"]["posted"] == 0 and clearing["balance"]["posted"] == -50000
    assert post(api, "finance", f"payouts/{payout['id']}/reject", "r1", reason="迟了").status_code == 409


@pytest.mark.rule("LED-3")
def test_same_key_same_body_replays_and_a_different_body_is_409(api, verified):
    _, payout = verified
    path = f"payouts/{payout['id']}"
    assert api.as_("finance").post(f"{path}/approve", json={}).status_code == 422  # no key
    first = post(api, "finance", f"{path}/approve", "k-approve")
    replay = post(api, "finance", f"{path}/approve", "k-approve")
    assert first.status_code == replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json == first.json
    assert db.session.query(PayoutApproval).count() == 1
    paid = post(api, "finance", f"{path}/paid", "k-paid", method="alipay", external_reference="2026112522001")
    again = post(api, "finance", f"{path}/paid", "k-paid", method="alipay", external_reference="2026112522001")
    assert paid.status_code == again.status_code == 200 and again.json == paid.json
    other = post(api, "finance", f"{path}/paid", "k-paid", method="alipay", external_reference="9999")
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    assert post(api, "finance", f"{path}/reject", "k-approve", reason="x").json["code"] == "idempotency_key_reused"
    moved = db.session.execute(select(Transfer).where(Transfer.subject == f"payout:{payout['id']}")).scalars().all()
    assert len(moved) == 1
    assert db.session.query(IdempotencyKey).count() == 2


@pytest.mark.rule("SEC-4")
def test_unknown_payout_is_404_and_nothing_changes(api, verified):
    assert post(api, "finance", "payouts/999999/approve", "k").status_code == 404
    assert api.as_("finance").get("payouts?status=nonsense").status_code == 422
