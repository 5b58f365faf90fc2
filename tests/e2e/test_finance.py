"""Finance in a real browser: approve and pay the seed's referral (张三 referred 李四); the
managers' report page shows the store's verification rate with its chart (LED-6, LED-9)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.flows import truthful
from tests.web import log_in

pytestmark = pytest.mark.e2e

# Our own 张三 and 李四 (other phones than the referral-flow test's pair, which it creates itself).
ZHANG_PHONE, LI_PHONE = "13800138011", "13900139011"
AT_ONCE = {"reward_amount": 50000, "reward_unit": "CNY", "callback_delay_min_hours": 0,
           "callback_delay_max_hours": 0, "calling_hours_start": "00:00", "calling_hours_end": "23:59",
           "velocity_limit": 100}


def _customer(directory, store_id, name, phone, **extra):
    found = directory.find_customer_by_phone(None, phone)
    return found or directory.create_customer(None, store_id=store_id, name=name, phone=phone, **extra)


def verified_seed_referral(live_app) -> tuple[int, int]:
    """The seed's worked example driven through the services up to `verified`: (referral id, payout id)."""
    from loyalty import clock
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff, Store
    from loyalty.extensions import db
    from loyalty.payouts.service import payout_for
    from verification.callbacks import service as callbacks
    from verification.callbacks.models import CLAIMED, Callback
    from verification.delivery import service as delivery
    from verification.referrals import service as referrals

    with live_app.app_context():
        staff = {s.username: s for s in db.session.execute(select(Staff)).unique().scalars()}
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        directory.set_policy(staff["admin"], store.id, AT_ONCE)
        zhang = _customer(directory, store.id, "张三", ZHANG_PHONE, gender="male", employer="上海汽车集团",
                          home_district="浦东新区", occupation="工程师")
        if not zhang.vehicles:
            directory.add_vehicle(None, zhang.id, model="速腾", colour="白色", transmission="automatic",
                                  plate="沪A12345", vin="LFV2A21K8E4654321")
        li = _customer(directory, store.id, "李四", LI_PHONE, gender="male", employer="中国银行浦东支行",
                       home_district="闵行区", occupation="会计")
        db.session.commit()
        referral = referrals.register_referral(staff["consultant"], store_id=store.id, referrer_id=zhang.id,
                                               referee_id=li.id, claim={
                                                   "referrer_name": "张三", "referrer_phone": ZHANG_PHONE,
                                                   "referrer_model": "速腾", "referrer_colour": "白色"})
        referrals.acknowledge(staff["manager"], referral.id)
        delivery.check_delivery(staff["manager2"], referral.id, delivered_at=clock.now(),
                                vehicle={"model": "高尔夫", "colour": "红色", "transmission": "manual"},
                                licence={"owner_name": "张三", "plate": "沪A12345", "model": "速腾",
                                         "vin": "LFV2A21K8E4654321", "colour": "白色"})
        db.session.commit()
        call = db.session.execute(select(Callback).where(Callback.referral_id == referral.id)).unique().scalar_one()
        call.status, call.claimed_by_id = CLAIMED, staff["agent"].id  # the agent took this call
        call.lease_until = clock.now() + timedelta(minutes=10)
        db.session.commit()
        callbacks.record_answers(staff["agent"], call.id, [truthful(q) for q in call.questions])
        db.session.commit()
        payout = payout_for(f"referral:{referral.id}")
        assert payout is not None and payout.status == "awaiting_approval"
        ids = referral.id, payout.id
        db.session.remove()
        return ids


def verification_rate_of_sh01(live_app) -> str:
    from loyalty.web.tables import percent
    from verification.reports.service import fraud_rates
    with live_app.app_context():
        rows = fraud_rates(None, by="store")
        return percent(next(r for r in rows if r["store_code"] == "SH01")["verification_rate"])


@pytest.mark.rule("LED-6")
@pytest.mark.rule("LED-9")
def test_finance_approves_and_pays_the_seed_referral_and_the_report_shows_the_rate(page, live_app):
    rid, pid = verified_seed_referral(live_app)
    log_in(page, "finance")
    page.on("dialog", lambda dialog: dialog.accept())  # approve and mark paid ask first (confirm.js)
    page.click('[data-test="nav-payouts"]')
    row = page.locator(f'[data-test="payout-{pid}"]')
    row.wait_for()
    assert "张三" in row.inner_text() and "待审批" in row.inner_text() and "¥500.00" in row.inner_text()
    page.click(f'[data-test="open-{pid}"]')  # the evidence on demand: the payout's own page
    evidence = page.locator(f'[data-test="checks-{pid}"]').inner_text()
    assert "匹配" in evidence or "一致" in evidence
    page.click(f'[data-test="approve-{pid}"]')
    assert "已批准" in page.locator(".flash.success").inner_text()
    page.select_option(f'[data-test="method-{pid}"]', "wechat_pay")
    page.fill(f'[data-test="reference-{pid}"]', "4200001234202611")
    page.click(f'[data-test="pay-{pid}"]')
    page.locator(".flash.success").wait_for()
    page.goto("/payouts?status=paid")
    assert "已支付" in page.locator(f'[data-test="payout-{pid}"]').inner_text()
    page.click(f'[data-test="open-{pid}"]')
    paid = page.locator(f'[data-test="payout-{pid}"]').inner_text()
    assert "已支付" in paid and "微信支付" in paid and "4200001234202611" in paid

    page.click('[data-test="logout"]')
    log_in(page, "manager")
    page.click('[data-test="nav-reports"]')
    row = page.locator('[data-test="rate-SH01"]')
    row.wait_for()
    rate = verification_rate_of_sh01(live_app)
    assert row.locator('[data-test="verification-rate"]').inner_text() == rate
    chart = page.locator('svg[data-test="chart-verification"]')
    assert chart.is_visible()
    bar = chart.locator('g[data-label="SH01 浦东店"]')
    assert bar.count() == 1 and rate in bar.text_content()
    assert page.locator('[data-test="csv-fraud"]').get_attribute("href").startswith("/reports/fraud.csv")
