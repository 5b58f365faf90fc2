"""Review findings of issue 15 on the finance pages: each button that moves money or decides asks
first, naming the payout, amount and payee (confirm.js, no inline script); a rejected payout
shows that nothing is owed."""
from __future__ import annotations

import html as markup
import re

import pytest

from loyalty.extensions import db
from loyalty.payouts.models import Payout
from tests.flows import payout_of, verified_referral
from tests.web import Browser, compile_catalogs, login, text


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


def _token(browser) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(browser.get("/payouts"))).group(1)


def _question(page: str, test: str) -> str:
    tag = re.search(rf'<(?:form|button)[^>]*data-test="{test}"[^>]*>', page, re.S)
    assert tag, test
    return markup.unescape(re.search(r'data-confirm="([^"]+)"', tag.group(0)).group(1))


@pytest.mark.rule("LED-6")
def test_decisions_ask_first_naming_payout_amount_and_payee(app, api, world, people, due_at_once, monkeypatch):
    pid = payout_of(api, verified_referral(api, world, people, monkeypatch))["id"]
    browser = Browser(app)
    assert login(browser, "finance").status_code == 302
    queue = text(browser.get("/payouts"))
    assert "js/confirm.js" in queue and "js/payouts.js" in queue and "<script>" not in queue
    assert _question(queue, "bulk-approve") == "批准所选的奖励发放？每笔都会记录您的审批。"
    assert "data-confirm-template=" in queue and 'data-amount="50000" data-payee="张三"' in queue
    page = text(browser.get(f"/payouts/{pid}"))
    assert "js/confirm.js" in page
    assert _question(page, f"approve-form-{pid}") == f"批准奖励发放 #{pid}：向 张三 支付 ¥500.00？"
    assert _question(page, f"reject-form-{pid}") == f"驳回奖励发放 #{pid}（向 张三 支付 ¥500.00）？奖励将被冲回，无法撤销。"
    assert browser.post(f"/payouts/{pid}/approve", data={"csrf_token": _token(browser)}).status_code == 302
    page = text(browser.get(f"/payouts/{pid}"))
    assert _question(page, f"paid-form-{pid}") == \
        f"确认奖励发放 #{pid} 已向 张三 支付 ¥500.00？请在款项实际付出后再标记。"


@pytest.mark.rule("LED-6")
def test_a_rejected_payout_owes_nothing_and_says_why(app, api, world, people, due_at_once, monkeypatch):
    pid = payout_of(api, verified_referral(api, world, people, monkeypatch))["id"]
    browser = Browser(app)
    login(browser, "finance")
    browser.post(f"/payouts/{pid}/reject", data={"csrf_token": _token(browser), "reason": "重复申请"})
    db.session.expire_all()
    assert db.session.get(Payout, pid).status == "rejected"
    page = text(browser.get(f"/payouts/{pid}"))
    owed = re.search(rf'data-test="payout-amount-{pid}">(.*?)</dd>', page, re.S).group(1)
    assert "无需支付（已驳回）" in owed and "¥" not in owed
    row = re.search(rf'data-test="payout-amount-{pid}">(.*?)</td>', text(browser.get("/payouts?status=all")),
                    re.S).group(1)
    assert "无需支付（已驳回）" in row
