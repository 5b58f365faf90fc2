"""The finance pages ask before a decision is sent (issue 15 review): dismissed, nothing is sent;
accepted, it acts once. The question names the payouts, amounts and payees."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.web import log_in

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # older than the other e2e payouts: these come first


def _seed(live_app, names: list[str], start: int, amount: int = 1_350_000) -> list[int]:
    from loyalty.directory.models import Store
    from loyalty.extensions import db
    from loyalty.payouts.models import Payout
    with live_app.app_context():
        store = db.session.execute(select(Store).where(Store.code == "SH01")).scalar_one()
        rows = [Payout(subject=f"e2e-confirm:{start + i}", label="Referral", reference=start + i, store_id=store.id,
                       payee=f"customer:{start + i}", payee_name=name, unit="CNY", gross_amount=amount,
                       offset_amount=0, status="awaiting_approval", approvals_required=1, blocked_approver_ids=[],
                       evidence={}, evidence_rows=[], reason="测试", requested_at=T0 + timedelta(minutes=i))
                for i, name in enumerate(names)]
        db.session.add_all(rows)
        from loyalty.ledger import service as ledger
        for row in rows:  # the reward posted to the payee's payable, as a verified referral leaves it
            ledger.transfer(debit=ledger.account_for(f"store:{row.store_id}", "referral_expense", "CNY"),
                            credit=ledger.account_for(row.payee, "reward_payable", "CNY"), amount=row.gross_amount,
                            unit="CNY", subject=row.subject, key=f"{row.subject}:reward", actor=None,
                            reason=f"推荐奖励 {row.subject}")
        db.session.commit()
        ids = [r.id for r in rows]
        db.session.remove()
        return ids


def _state(live_app, payout_id: int) -> tuple[str, int]:
    """(status, audit events of the payout)."""
    from loyalty.audit.models import AuditEvent
    from loyalty.extensions import db
    from loyalty.payouts.models import Payout
    with live_app.app_context():
        status = db.session.get(Payout, payout_id).status
        events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "payout", AuditEvent.entity_id == str(payout_id))).scalar_one()
        db.session.remove()
        return status, events


def _answer(page, accept: bool) -> list[str]:
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept() if accept else d.dismiss()))
    return asked


def test_approve_and_reject_ask_first_and_a_dismissal_sends_nothing(page, live_app):
    approve_me, reject_me = _seed(live_app, ["确认甲", "确认乙"], start=2000)
    log_in(page, "finance")
    page.goto(f"/payouts/{approve_me}")
    before = _state(live_app, approve_me)
    asked = _answer(page, accept=False)
    page.click(f'[data-test="approve-{approve_me}"]')
    page.wait_for_timeout(300)
    assert asked == [f"批准奖励发放 #{approve_me}：向 确认甲 支付 ¥13,500.00？"]
    assert _state(live_app, approve_me) == before and page.locator(".flash").count() == 0
    assert page.locator(f'[data-test="approve-{approve_me}"]').is_enabled()  # not left disabled by once.js
    asked = _answer(page, accept=True)
    page.click(f'[data-test="approve-{approve_me}"]')
    page.locator(".flash.success").wait_for()
    assert len(asked) == 1
    status, events = _state(live_app, approve_me)
    assert status == "approved" and events == before[1] + 1  # one approval

    page.goto(f"/payouts/{reject_me}")
    page.fill(f'[data-test="reject-reason-{reject_me}"]', "重复申请")
    before = _state(live_app, reject_me)
    asked = _answer(page, accept=False)
    page.click(f'[data-test="reject-{reject_me}"]')
    page.wait_for_timeout(300)
    assert asked and "驳回奖励发放" in asked[0] and "¥13,500.00" in asked[0] and "确认乙" in asked[0]
    assert _state(live_app, reject_me) == before
    _answer(page, accept=True)
    page.click(f'[data-test="reject-{reject_me}"]')
    page.locator(".flash.success").wait_for()
    assert _state(live_app, reject_me)[0] == "rejected"
    assert "无需支付（已驳回）" in page.locator(f'[data-test="payout-amount-{reject_me}"]').inner_text()


def test_bulk_approval_names_the_chosen_payouts_and_their_total(page, live_app):
    one, two = _seed(live_app, ["批量甲", "批量乙"], start=2100, amount=250_000)
    log_in(page, "finance")
    page.goto("/payouts")
    page.check(f'[data-test="pick-{one}"]')
    page.check(f'[data-test="pick-{two}"]')
    asked = _answer(page, accept=False)
    page.click('[data-test="bulk-approve"]')
    page.wait_for_timeout(300)
    assert asked == [f"批准所选的 2 笔奖励发放，合计 ¥5,000.00（#{one} 批量甲 ¥2,500.00、#{two} 批量乙 ¥2,500.00）？"
                     "每笔都会记录您的审批。"]
    assert _state(live_app, one)[0] == _state(live_app, two)[0] == "awaiting_approval"
    asked = _answer(page, accept=True)
    page.click('[data-test="bulk-approve"]')
    page.locator(".flash.success").wait_for()
    assert f"奖励发放 #{one}、#{two} 已批准。" in page.locator(".flash").first.inner_text()
    assert _state(live_app, one)[0] == _state(live_app, two)[0] == "approved"
