"""Lists and the finance queue in Chromium (issue 15 items 3 and 6): bulk approval of a mix of
one- and two-approver payouts (1/2 shown), a double click on 批准 and on 标记为已支付 that has one
effect and says one true thing, and a list paged, filtered and searched through its links."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.web import log_in

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # older than any other e2e payout: these come first


def _seed_payouts(live_app, specs: list[dict], start: int) -> list[int]:
    """Payouts awaiting approval straight into the database: each spec may set `approvals_required`,
    `blocked` (staff usernames who may not approve) and `store` ("SH01" or the other)."""
    from loyalty.directory.models import Staff, Store
    from loyalty.extensions import db
    from loyalty.payouts.models import Payout
    with live_app.app_context():
        staff = {s.username: s for s in db.session.execute(select(Staff)).unique().scalars()}
        stores = {s.code: s for s in db.session.execute(select(Store)).unique().scalars()}
        rows = []
        for i, spec in enumerate(specs):
            n = start + i
            store = stores.get(spec.get("store", "SH01")) or next(iter(stores.values()))
            rows.append(Payout(subject=f"e2e-list:{n}", label="Referral", reference=n, store_id=store.id,
                               payee=f"customer:{n}", payee_name=spec.get("name", f"收款人{n}"), unit="CNY",
                               gross_amount=spec.get("amount", 50000), offset_amount=0,
                               status="awaiting_approval", approvals_required=spec.get("approvals_required", 1),
                               blocked_approver_ids=[staff[u].id for u in spec.get("blocked", ())],
                               evidence={}, evidence_rows=[], reason="测试",
                               requested_at=T0 + timedelta(minutes=n)))
        db.session.add_all(rows)
        for row, spec in zip(rows, specs):
            if spec.get("funded"):  # the reward posted to the payee's payable, as a verified referral leaves it
                from loyalty.ledger import service as ledger
                ledger.transfer(debit=ledger.account_for(f"store:{row.store_id}", "referral_expense", "CNY"),
                                credit=ledger.account_for(row.payee, "reward_payable", "CNY"),
                                amount=row.gross_amount, unit="CNY", subject=row.subject, key=f"{row.subject}:reward",
                                actor=None, reason=f"推荐奖励 {row.subject}")
        db.session.commit()
        ids = [r.id for r in rows]
        db.session.remove()
        return ids


def _state(live_app, payout_id: int) -> tuple[str, int, int]:
    """(status, approvals, audit events of the payout)."""
    from loyalty.audit.models import AuditEvent
    from loyalty.extensions import db
    from loyalty.payouts.models import Payout
    with live_app.app_context():
        payout = db.session.get(Payout, payout_id)
        events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "payout", AuditEvent.entity_id == str(payout_id))).scalar_one()
        found = (payout.status, len(payout.approvals), events)
        db.session.remove()
        return found


def test_finance_bulk_approves_a_mix_and_the_message_counts_each_outcome(page, live_app):
    one, two, involved = _seed_payouts(live_app, [{}, {"approvals_required": 2, "amount": 450000},
                                                  {"blocked": ["finance"]}], start=1000)
    log_in(page, "finance")
    page.on("dialog", lambda dialog: dialog.accept())  # the bulk approval asks first (confirm.js)
    page.goto("/payouts")
    table = page.locator('[data-test="payout-table"]')
    table.wait_for()
    assert "0/2" in page.locator(f'[data-test="payout-status-{two}"]').inner_text()
    assert "¥4,500.00" in page.locator(f'[data-test="payout-amount-{two}"]').inner_text()
    assert page.locator(f'[data-test="pick-{involved}"]').count() == 0  # they may not approve it
    page.check(f'[data-test="pick-{one}"]')
    page.check(f'[data-test="pick-{two}"]')
    page.click('[data-test="bulk-approve"]')
    message = page.locator(".flash").first.inner_text()
    assert f"奖励发放 #{one} 已批准。奖励发放 #{two} 已记录第 1/2 个审批，还需另一位财务审批。" in message
    assert "无法" not in message and "未能" not in message
    assert page.locator(".flash.error").count() == 0
    assert _state(live_app, one)[:2] == ("approved", 1)
    assert _state(live_app, two)[:2] == ("awaiting_approval", 1)
    assert "1/2" in page.locator(f'[data-test="payout-status-{two}"]').inner_text()
    assert page.locator(f'[data-test="pick-{two}"]').count() == 0  # approved once by this finance: not again
    page.click('[data-test="logout"]')
    log_in(page, "finance2")
    page.goto("/payouts")
    page.check(f'[data-test="pick-{two}"]')
    page.check(f'[data-test="pick-{involved}"]')
    page.click('[data-test="bulk-approve"]')
    assert f"奖励发放 #{two}、#{involved} 已批准。" in page.locator(".flash").first.inner_text()
    assert _state(live_app, two)[:2] == ("approved", 2) and _state(live_app, involved)[0] == "approved"


def test_a_double_click_on_approve_and_on_mark_paid_has_one_effect_and_one_true_message(page, live_app):
    (pid,) = _seed_payouts(live_app, [{"name": "双击测试", "funded": True}], start=1100)
    log_in(page, "finance")
    page.on("dialog", lambda dialog: dialog.accept())  # approve and mark paid ask first (confirm.js)
    page.goto(f"/payouts/{pid}")
    page.dblclick(f'[data-test="approve-{pid}"]')
    page.locator(".flash").first.wait_for()
    assert f"奖励发放 {pid} 已批准" in page.locator(".flash").first.inner_text()
    assert page.locator(".flash.error").count() == 0
    status, approvals, events = _state(live_app, pid)
    assert (status, approvals) == ("approved", 1)
    page.select_option(f'[data-test="method-{pid}"]', "wechat_pay")
    page.fill(f'[data-test="reference-{pid}"]', "4200009999202611")
    page.dblclick(f'[data-test="pay-{pid}"]')
    page.locator(".flash.success").wait_for()
    flashes = page.locator(".flash").all_inner_texts()
    assert flashes == [f"奖励发放 {pid} 已标记为已支付。"], flashes  # not also the red "only approved ..."
    status, _approvals, after = _state(live_app, pid)
    assert status == "paid" and after == events + 1  # one "paid" event


def test_a_list_pages_filters_and_searches_through_its_links(page, live_app):
    ids = _seed_payouts(live_app, [{"name": f"翻页{i:02d}"} for i in range(12)], start=1200)
    log_in(page, "finance")
    page.goto("/payouts?per_page=5&q=翻页")
    seen = []
    while True:
        page.locator('[data-test="payout-table"]').wait_for()
        seen += [int(t.get_attribute("data-test").removeprefix("payout-"))
                 for t in page.locator('tr[data-test^="payout-"]').all()]
        if page.locator('[data-test="page-next"]').count() == 0:
            break
        page.click('[data-test="page-next"]')
    assert seen == ids  # oldest first, each once, across three pages
    page.click('[data-test="page-prev"]')
    assert "翻页05" in page.locator('[data-test="payout-table"]').inner_text()
    assert "12 笔发放" in page.locator('[data-test="list-count"]').inner_text()
    page.goto("/payouts")
    page.fill('[data-test="filter-q"]', "翻页07")
    page.select_option('[data-test="filter-status"]', "awaiting_approval")
    page.click('[data-test="payout-filter"] button[type=submit]')
    rows = page.locator('tr[data-test^="payout-"]')
    assert rows.count() == 1 and "翻页07" in rows.first.inner_text()
    box = page.locator('[data-test="filter-status"]').bounding_box()
    assert box and box["width"] >= 120  # the status select is not clipped
    assert page.locator('label:has([data-test="filter-from"])').inner_text().strip() == "申请日期起"
