"""The finance pages: the approval queue with the evidence, approve, reject, mark paid, export (LED-6)."""
from __future__ import annotations

import pytest

from loyalty.extensions import db
from loyalty.payouts.models import Payout
from tests.flows import payout_of, verified_referral
from tests.web import Browser, compile_catalogs, login, text


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture
def browser(app):
    return Browser(app)


@pytest.mark.rule("LED-6")
def test_finance_approves_and_pays_from_the_queue(app, api, world, people, due_at_once, monkeypatch, browser):
    rid = verified_referral(api, world, people, monkeypatch)
    payout = payout_of(api, rid)
    assert login(browser, "finance").status_code == 302
    page = text(browser.get("/payouts"))
    assert f'data-test="payout-{payout["id"]}"' in page and "待审批" in page and "张三" in page
    assert f'/payouts/{payout["id"]}?next=' in page  # the evidence is one click away (issue 15)
    detail = text(browser.get(f"/payouts/{payout['id']}"))
    assert "张三" in detail and "李四" in detail and "Manager2" in detail  # the evidence
    assert "true_value" not in detail and "上海汽车集团" not in detail  # never the answer key
    resp = browser.post(f"/payouts/{payout['id']}/approve", data={"csrf_token": _token(browser)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Payout, payout["id"]).status == "approved"
    resp = browser.post(f"/payouts/{payout['id']}/paid", data={"csrf_token": _token(browser), "method": "alipay",
                                                               "external_reference": "2026112522001"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Payout, payout["id"]).status == "paid"
    assert "已支付" in text(browser.get("/payouts?status=paid"))
    export = browser.get("/payouts/export.csv")
    assert export.status_code == 200 and export.get_data().startswith(b"\xef\xbb\xbf")


@pytest.mark.rule("LED-6")
def test_reject_from_the_queue_needs_a_reason(app, api, world, people, due_at_once, monkeypatch, browser):
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch))
    login(browser, "finance")
    browser.post(f"/payouts/{payout['id']}/reject", data={"csrf_token": _token(browser), "reason": ""})
    db.session.expire_all()
    assert db.session.get(Payout, payout["id"]).status == "awaiting_approval"
    browser.post(f"/payouts/{payout['id']}/reject", data={"csrf_token": _token(browser), "reason": "重复申请"})
    db.session.expire_all()
    assert db.session.get(Payout, payout["id"]).status == "rejected"


@pytest.mark.rule("SEC-2")
def test_the_queue_is_for_finance_and_admin(app, world, browser):
    login(browser, "manager")
    assert browser.get("/payouts").status_code == 403
    assert browser.get("/payouts/export.csv").status_code == 403


def _token(browser) -> str:
    import re
    html = text(browser.get("/payouts"))
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.rule("LED-6")
def test_the_first_of_two_approvals_says_one_of_two_not_approved(app, api, world, people, due_at_once, monkeypatch,
                                                                  browser):
    resp = api.as_("admin").put(f"stores/{world.store.id}/policy", json={"two_approver_threshold": 1000})
    assert resp.status_code == 200, resp.json
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch))
    assert login(browser, "finance").status_code == 302
    first = browser.post(f"/payouts/{payout['id']}/approve", data={"csrf_token": _token(browser)})
    page = text(browser.get(first.location))
    assert f"已记录奖励发放 {payout['id']} 的第 1/2 个审批" in page and f"奖励发放 {payout['id']} 已批准" not in page
    db.session.expire_all()
    assert db.session.get(Payout, payout["id"]).status == "awaiting_approval"
    assert login(browser, "finance2").status_code == 302
    second = browser.post(f"/payouts/{payout['id']}/approve", data={"csrf_token": _token(browser)})
    assert f"奖励发放 {payout['id']} 已批准" in text(browser.get(second.location))
