"""Each role's home page is its work queue, in Chromium (issue 15 item 1): a store of our own
(SH15, its own staff) with known work waiting; the counts on each home page, the links to the
items, and the agent's one button that takes the next call."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests.helpers import PASSWORD
from tests.web import log_in

pytestmark = pytest.mark.e2e

AT_ONCE = {"reward_amount": 450000, "reward_unit": "CNY", "callback_delay_min_hours": 0,
           "callback_delay_max_hours": 0, "calling_hours_start": "00:00", "calling_hours_end": "23:59",
           "velocity_limit": 100}
STAFF = (("consultant15", "consultant"), ("manager15", "manager"), ("checker15", "manager"),
         ("agent15", "agent"), ("finance15", "finance"), ("service15", "service"))


@pytest.fixture(scope="module")
def store15(live_app) -> dict:
    """SH15: one referral to acknowledge, one delivered (its callback due now), a payout of ¥4,500.00
    awaiting approval, 88 points of 赵六 lapsing in 10 days and a catalog item with 2 left."""
    from loyalty import clock
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff
    from loyalty.extensions import db
    from loyalty.payouts import service as payouts
    from loyalty.points import catalog
    from loyalty.points import service as points
    from verification.delivery import service as delivery
    from verification.referrals import service as referrals

    with live_app.app_context():
        admin = db.session.execute(select(Staff).where(Staff.username == "admin")).unique().scalar_one()
        store = directory.create_store(admin, code="SH15", name="徐汇店", timezone="Asia/Shanghai")
        directory.set_policy(admin, store.id, AT_ONCE)
        staff = {name: directory.create_staff(admin, username=name, display_name=name.title(), role=role,
                                              store_id=store.id, password=PASSWORD) for name, role in STAFF}
        zhao = directory.create_customer(None, store_id=store.id, name="赵六", phone="13715150001", gender="male",
                                         employer="徐汇区中心医院", home_district="徐汇区", occupation="医生")
        directory.add_vehicle(None, zhao.id, model="帕萨特", colour="黑色", transmission="automatic",
                              plate="沪B15151", vin="LFV3A23C5F1515151")
        qian = directory.create_customer(None, store_id=store.id, name="钱七", phone="13715150002")
        sun = directory.create_customer(None, store_id=store.id, name="孙八", phone="13715150003")
        db.session.commit()
        claim = {"referrer_name": "赵六", "referrer_phone": "13715150001", "referrer_model": "帕萨特",
                 "referrer_colour": "黑色"}
        waiting = referrals.register_referral(staff["consultant15"], store_id=store.id, referrer_id=zhao.id,
                                              referee_id=qian.id, claim=claim)
        delivered = referrals.register_referral(staff["consultant15"], store_id=store.id, referrer_id=zhao.id,
                                                referee_id=sun.id, claim=claim)
        referrals.acknowledge(staff["manager15"], delivered.id)
        delivery.check_delivery(staff["checker15"], delivered.id, delivered_at=clock.now(),
                                vehicle={"model": "朗逸", "colour": "蓝色", "transmission": "automatic"},
                                licence={"owner_name": "赵六", "plate": "沪B15151", "model": "帕萨特",
                                         "vin": "LFV3A23C5F1515151", "colour": "黑色"})
        payout = payouts.request_payout(None, subject=f"e2e-home15:{zhao.id}", store_id=store.id,
                                        payee=f"customer:{zhao.id}", amount=450000, unit="CNY",
                                        blocked_approvers=[], evidence={}, reason="首页测试", payee_name="赵六")
        catalog.create_item(admin, code="E2E-HOME15", name_zh="香薰", price=80, stock=2, store_id=store.id)
        # a service visit 24 months less 10 days ago: its points lapse within the desk's warning
        with time_machine.travel(clock.now() - timedelta(days=720), tick=False):
            points.earn_for_visit(staff["service15"], zhao.id, store_id=store.id, amount=88000, key="e2e-home15")
        db.session.commit()
        ids = {"waiting": waiting.id, "delivered": delivered.id, "payout": payout.id, "store": store.id,
               "zhao": zhao.id}
        db.session.remove()
    return ids


def _count(page, key: str) -> str:
    return page.locator(f'[data-test="count-{key}"]').inner_text()


def test_consultant_home_counts_my_referrals_by_status(page, store15):
    log_in(page, "consultant15")
    assert _count(page, "registered") == "1" and _count(page, "awaiting_callback") == "1"
    page.click('[data-test="tile-link-registered"]')
    page.wait_for_url("**/referrals?status=registered")
    assert page.locator('[data-test="referral-row"]').count() == 1


def test_manager_home_counts_the_queues_and_links_to_the_referral(page, store15):
    log_in(page, "manager15")
    assert _count(page, "acknowledge") == "1" and _count(page, "delivery") == "0" and _count(page, "review") == "0"
    assert "钱七" in page.locator('[data-test="tile-acknowledge"]').inner_text()
    assert page.locator('[data-test="oldest-acknowledge"]').is_visible()
    page.click('[data-test="item-acknowledge"]')
    page.wait_for_url(f"**/referrals/{store15['waiting']}")
    page.go_back()
    page.click('[data-test="tile-link-acknowledge"]')
    page.wait_for_url("**/referrals/queue*")
    assert page.locator(f'[data-test="ack-row-{store15["waiting"]}"]').is_visible()


def test_agent_takes_the_next_call_from_the_home_page(page, store15):
    log_in(page, "agent15")
    assert _count(page, "calls_due") == "1"
    page.click('[data-test="take-next"]')
    page.wait_for_url("**/calls/*")
    assert page.locator('[data-test="submit-answers"]').is_visible()
    page.goto("/")
    assert _count(page, "calls_due") == "0"  # held by this agent now, no longer waiting


def test_finance_home_counts_and_totals_in_yuan(page, store15):
    log_in(page, "finance15")
    assert _count(page, "awaiting_approval") == "1" and _count(page, "approved_unpaid") == "0"
    assert page.locator('[data-test="total-awaiting_approval"]').inner_text() == "¥4,500.00"
    page.click('[data-test="tile-link-awaiting_approval"]')
    page.wait_for_url("**/payouts?status=awaiting_approval")
    assert page.locator(f'[data-test="payout-{store15["payout"]}"]').is_visible()


def test_admin_home_shows_store_health(page, store15):
    log_in(page, "admin")
    row = page.locator('[data-test="health-SH15"]')
    assert row.locator('[data-test="health-SH15-open_referrals"]').inner_text() == "2"
    assert row.locator('[data-test="health-SH15-payouts_waiting"]').inner_text() == "1"


def test_service_advisor_home_counts_points_lapsing_and_stock_running_out(page, store15):
    log_in(page, "service15")
    assert _count(page, "points_lapsing") == "1"  # his store's customers only
    assert "共 88 积分" in page.locator('[data-test="note-points_lapsing"]').inner_text()
    assert "香薰（剩 2 件）" in page.locator('[data-test="note-stock_low"]').inner_text()
    page.click('[data-test="item-points_lapsing"]')
    page.wait_for_url(f"**/customers/{store15['zhao']}/points")
    assert "88" in page.locator("main").inner_text()


def _flagged_referral(live_app) -> int:
    """A referral from an old customer flagged for an earlier fake: it goes to review (REG-5). In a
    store of its own (SH16), so the counts of SH15 stay as the other tests expect, in any order."""
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff
    from loyalty.extensions import db
    from verification.referrals import service as referrals
    from verification.referrals.models import ReferrerFlag

    with live_app.app_context():
        admin = db.session.execute(select(Staff).where(Staff.username == "admin")).unique().scalar_one()
        store = directory.create_store(admin, code="SH16", name="静安店", timezone="Asia/Shanghai")
        consultant, _manager = (directory.create_staff(admin, username=name, display_name=name.title(), role=role,
                                                       store_id=store.id, password=PASSWORD)
                                for name, role in (("consultant16", "consultant"), ("manager16", "manager")))
        zhou = directory.create_customer(None, store_id=store.id, name="周九", phone="13715150004")
        wu = directory.create_customer(None, store_id=store.id, name="吴十", phone="13715150005")
        db.session.add(ReferrerFlag(customer_id=zhou.id, reason="e2e"))
        db.session.commit()
        referral = referrals.register_referral(consultant, store_id=store.id, referrer_id=zhou.id, referee_id=wu.id,
                                               claim={"referrer_name": "周九", "referrer_phone": "13715150004",
                                                      "referrer_model": "途观", "referrer_colour": "灰色"})
        db.session.commit()
        assert referral.status == "under_review"
        rid = referral.id
        db.session.remove()
    return rid


def _status(live_app, rid: int) -> str:
    from loyalty.extensions import db
    from verification.referrals.models import Referral
    with live_app.app_context():
        status = db.session.get(Referral, rid).status
        db.session.remove()
    return status


def test_a_review_decision_asks_before_it_is_sent(page, live_app):
    """Dismissed, nothing is sent; confirmed, the decision is recorded."""
    rid = _flagged_referral(live_app)
    log_in(page, "manager16")
    page.goto("/referrals/queue#queue-review")
    row = page.locator(f'[data-test="review-row-{rid}"]')
    assert "途观" in row.inner_text() and row.locator(f'a[href="/referrals/{rid}"]').count() == 1
    row.locator("input[value=accept]").check()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click(f'[data-test="save-review-{rid}"]')
    page.wait_for_timeout(300)
    assert asked and "通过" in asked[0]
    assert _status(live_app, rid) == "under_review"  # nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'[data-test="save-review-{rid}"]')
    page.locator(".flash.success").wait_for()
    assert _status(live_app, rid) == "registered"
