"""A sale unwound within the clawback window claws the reward back (LED-8)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from loyalty.extensions import db
from loyalty.payouts.models import Payout
from tests.flows import (
    T0,
    balances,
    claim,
    delivered_referral,
    new_referee,
    payout_of,
    post,
    register,
    verified_referral,
)
from verification.callbacks.models import Callback
from verification.referrals.models import Referral

INSIDE = T0 + timedelta(days=10)


def unwind(api, rid, who="manager", at=INSIDE, reason="客户退车"):
    with time_machine.travel(at, tick=False):
        return api.as_(who).post(f"referrals/{rid}/unwind", json={"reason": reason})


def pay(api, payout_id, tag="1"):
    assert post(api, "finance", f"payouts/{payout_id}/approve", f"a{tag}").status_code == 200
    resp = post(api, "finance", f"payouts/{payout_id}/paid", f"p{tag}", method="bank_transfer",
                external_reference=f"BOC-{tag}")
    assert resp.status_code == 200, resp.json
    return resp.json


@pytest.mark.rule("LED-8")
def test_a_pending_reward_is_voided_and_the_callback_cancelled(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    resp = unwind(api, rid)
    assert resp.status_code == 200, resp.json
    assert (resp.json["status"], resp.json["clawback"], resp.json["reason_text"]) == ("unwound", "voided", "客户退车")
    payable = balances(api, f"customer:{people['zhang'].id}")["reward_payable"]
    assert payable == {"posted": 0, "pending": 0, "available": 0}
    assert {c.status for c in db.session.query(Callback).filter_by(referral_id=rid)} == {"cancelled"}
    assert claim(api).status_code == 204
    assert db.session.query(Payout).count() == 0


@pytest.mark.rule("LED-8")
def test_a_posted_unpaid_reward_is_reversed_and_its_payout_cancelled(api, world, people, due_at_once, monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    payout = payout_of(api, rid)
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "a1").status_code == 200
    resp = unwind(api, rid)
    assert resp.status_code == 200 and resp.json["clawback"] == "reversed"
    cancelled = payout_of(api, rid)
    assert cancelled["status"] == "cancelled" and cancelled["reverse_transfer_id"]
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"] == 0
    assert balances(api, f"store:{world.store.id}")["referral_expense"]["posted"] == 0
    paid = post(api, "finance", f"payouts/{payout['id']}/paid", "p1", method="cash", external_reference="R")
    assert paid.status_code == 409


@pytest.mark.rule("LED-8")
def test_a_paid_reward_becomes_a_receivable_offset_against_the_next_reward(api, world, people, due_at_once,
                                                                            monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    pay(api, payout_of(api, rid)["id"])
    resp = unwind(api, rid)
    assert resp.status_code == 200 and resp.json["clawback"] == "receivable"
    assert payout_of(api, rid)["status"] == "clawed_back"
    zhang = f"customer:{people['zhang'].id}"
    assert balances(api, zhang)["reward_receivable"]["posted"] == 50000
    # Zhang San's next referral, with a bigger reward: its payout is net of what he owes.
    assert api.as_("admin").put(f"stores/{world.store.id}/policy", json={"reward_amount": 80000}).status_code == 200
    people["n"] = new_referee(world, "王小二", "13512345679")
    second = verified_referral(api, world, people, monkeypatch, referee="n")
    payout = payout_of(api, second)
    assert (payout["gross_amount"], payout["offset_amount"], payout["amount"]) == (80000, 50000, 30000)
    paid = pay(api, payout["id"], tag="2")
    assert paid["offset_transfer_id"] and paid["paid_transfer_id"]
    after = balances(api, zhang)
    assert after["reward_receivable"]["posted"] == 0 and after["reward_payable"]["posted"] == 0
    clearing = balances(api, f"store:{world.store.id}")["cash_clearing"]["posted"]
    assert clearing == -(50000 + 30000)  # the first payment, then the second net of the clawback


@pytest.mark.rule("LED-8")
def test_a_whole_reward_can_be_offset(api, world, people, due_at_once, monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    pay(api, payout_of(api, rid)["id"])
    assert unwind(api, rid).json["clawback"] == "receivable"
    people["n"] = new_referee(world, "王小二", "13512345679")
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch, referee="n"))
    assert (payout["offset_amount"], payout["amount"]) == (50000, 0)
    paid = pay(api, payout["id"], tag="2")
    assert paid["paid_transfer_id"] is None and paid["offset_transfer_id"]
    assert balances(api, f"customer:{people['zhang'].id}")["reward_receivable"]["posted"] == 0


@pytest.mark.rule("LED-8")
def test_outside_the_clawback_window_nothing_is_clawed_back(api, world, people, due_at_once, monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    resp = unwind(api, rid, at=T0 + timedelta(days=91))
    assert resp.status_code == 422 and resp.json["code"] == "clawback_window_passed"
    assert db.session.get(Referral, rid).status == "verified"
    assert payout_of(api, rid)["status"] == "awaiting_approval"
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"] == 50000


@pytest.mark.rule("LED-8")
def test_only_a_live_or_verified_referral_by_its_stores_staff_is_unwound(api, world, people):
    rid = register(api, world, people).json["id"]
    assert unwind(api, rid).status_code == 409
    assert unwind(api, rid, who="consultant").status_code == 403
    assert unwind(api, rid, who="manager_b").status_code == 404
    empty = api.as_("manager").post(f"referrals/{rid}/unwind", json={"reason": ""})
    assert empty.status_code == 422
