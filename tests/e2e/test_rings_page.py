"""The rings page in Chromium (issue 17): a manager opens 团伙 from the menu and sees a seeded pair
who refer each other, drawn on the server as an SVG picture, with its reason in Chinese."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web import log_in

pytestmark = pytest.mark.e2e


def seed_pair(live_app) -> int:
    """赵甲 refers 钱乙, then 钱乙 refers 赵甲: the second registration closes a loop."""
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff, Store
    from loyalty.extensions import db
    from verification.referrals import service as referrals

    with live_app.app_context():
        consultant = db.session.execute(select(Staff).where(Staff.username == "consultant")).unique().scalar_one()
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        zhao = directory.create_customer(None, store_id=store.id, name="赵甲", phone="13600136071")
        qian = directory.create_customer(None, store_id=store.id, name="钱乙", phone="13600136072")
        for referrer, referee in ((zhao, qian), (qian, zhao)):
            last = referrals.register_referral(consultant, store_id=store.id, referrer_id=referrer.id,
                                               referee_id=referee.id, claim={
                                                   "referrer_name": referrer.name, "referrer_phone": referrer.phone,
                                                   "referrer_model": "速腾", "referrer_colour": "白色"})
        db.session.commit()
        assert last.status == "under_review"
        rid = last.id
        db.session.remove()
        return rid


def test_a_manager_sees_the_seeded_ring_with_its_reason(page, live_app):
    seed_pair(live_app)
    log_in(page, "manager")
    page.click('[data-test="nav-rings"]')
    ring = page.locator('[data-test^="ring-"]', has_text="赵甲").first
    ring.wait_for()
    assert ring.locator("svg").count() == 1
    assert "钱乙" in ring.locator("svg").text_content()
    reasons = ring.locator('[data-test="ring-reason"]').all_inner_texts()
    assert any("循环互推" in reason for reason in reasons), reasons


def test_a_consultant_has_no_rings_page(page, live_app):
    log_in(page, "consultant")
    page.locator('[data-test="nav-home"]').wait_for()
    assert page.locator('[data-test="nav-rings"]').count() == 0
    assert page.goto("/rings").status == 403
