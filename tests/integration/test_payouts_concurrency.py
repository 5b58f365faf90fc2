"""Concurrent approvals and payments of one payout take effect exactly once (LED-6, LED-3).

PostgreSQL with real threads: each request is its own transaction on its own connection."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.ledger.models import Transfer
from loyalty.payouts.models import Payout, PayoutApproval
from tests.flows import payout_of, post, verified_referral

N = 8


def hammer(app, token: str, path: str, keys: list[str], body: dict) -> list:
    barrier, answers = threading.Barrier(len(keys)), []

    def call(key):
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/{path}", json=body,
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        answers.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=call, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    return answers


@pytest.fixture
def payout(api, world, people, due_at_once, monkeypatch, pg_only):
    rid = verified_referral(api, world, people, monkeypatch)
    api.token("finance2")
    return payout_of(api, rid)


@pytest.mark.rule("LED-6")
def test_eight_concurrent_approvals_make_one_approval_record(app, api, payout):
    answers = hammer(app, api.token("finance"), f"payouts/{payout['id']}/approve",
                     [f"approve-{i}" for i in range(N)], {})
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (N - 1), answers
    assert db.session.query(PayoutApproval).count() == 1
    assert db.session.get(Payout, payout["id"]).status == "approved"


@pytest.mark.rule("LED-3")
def test_eight_concurrent_requests_with_one_key_take_effect_once_and_replay(app, api, payout):
    answers = hammer(app, api.token("finance"), f"payouts/{payout['id']}/approve", ["same-key"] * N, {})
    assert [code for code, _ in answers] == [200] * N, answers
    assert all(body == answers[0][1] for _, body in answers)
    assert db.session.query(PayoutApproval).count() == 1


@pytest.mark.rule("LED-6")
def test_eight_concurrent_mark_paid_make_one_ledger_transfer(app, api, payout):
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "approve").status_code == 200
    answers = hammer(app, api.token("finance2"), f"payouts/{payout['id']}/paid",
                     [f"paid-{i}" for i in range(N)], {"method": "bank_transfer", "external_reference": "BOC-001"})
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (N - 1), answers
    moved = db.session.execute(select(Transfer).where(Transfer.subject == f"payout:{payout['id']}")).scalars().all()
    assert len(moved) == 1 and moved[0].amount == 50000
    assert db.session.get(Payout, payout["id"]).status == "paid"
