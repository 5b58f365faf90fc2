"""The service advisor (服务顾问) in a real browser: finds a customer by plate, records a service
visit (the points earned shown), redeems a catalog item, is refused clearly when short of points,
and a double click on the visit button earns once (LED-3, LED-5)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.e2e

PHONE, PLATE = "13800138077", "沪B77777"


def arrange(live_app) -> int:
    """A customer of SH01 with a car, and a catalog item of 50 points with 3 in stock."""
    from loyalty.directory import service as directory
    from loyalty.directory.models import Store
    from loyalty.extensions import db
    from loyalty.points import catalog
    with live_app.app_context():
        store = db.session.execute(select(Store).where(Store.code == "SH01")).unique().scalar_one()
        customer = directory.create_customer(None, store_id=store.id, name="赵七", phone=PHONE)
        directory.add_vehicle(None, customer.id, model="朗逸", colour="黑色", transmission="automatic", plate=PLATE)
        catalog.create_item(None, code="CARWASH", name_zh="精致洗车", price=50, stock=3)
        db.session.commit()
        customer_id = customer.id
        db.session.remove()
    return customer_id


def lots_of(live_app, customer_id: int) -> int:
    from loyalty.extensions import db
    from loyalty.points.models import PointsLot
    with live_app.app_context():
        n = db.session.execute(select(func.count()).select_from(PointsLot)
                               .where(PointsLot.customer_id == customer_id)).scalar_one()
        db.session.remove()
    return n


@pytest.mark.rule("LED-5")
def test_the_service_advisor_earns_and_redeems_points_through_the_pages(page, live_app):
    from tests.web import log_in
    customer_id = arrange(live_app)
    log_in(page, "service")
    page.click('[data-test="nav-customers"]')
    page.fill('[data-test="customer-search"] input[name="q"]', "沪B 77777")
    page.click('[data-test="customer-search"] button')
    page.click("text=赵七")
    assert "138****8077" in page.locator('[data-test="phone"]').inner_text()
    assert page.locator('[data-test="vehicle-table"]').count() == 0  # the car's record stays sealed (SEC-5)
    page.click('[data-test="points-link"]')

    page.fill("#amount", "1,280.00")
    page.click('[data-test="visit-submit"]')
    assert "累积 128 积分" in page.locator(".flash.success").inner_text()
    assert page.locator('[data-test="points-available"]').inner_text() == "128"

    page.select_option("#item", label="精致洗车")
    page.fill("#quantity", "2")
    page.click('[data-test="redeem-submit"]')
    assert "已兑换 2 × 精致洗车，使用 100 积分" in page.locator(".flash.success").inner_text()
    assert page.locator('[data-test="points-available"]').inner_text() == "28"
    assert "精致洗车" in page.locator('[data-test="points-entries"]').inner_text()

    page.select_option("#item", label="精致洗车")
    page.fill("#quantity", "1")
    page.click('[data-test="redeem-submit"]')
    assert "积分不足" in page.locator(".flash.error").first.inner_text()
    assert page.locator('[data-test="error-quantity"]').is_visible()
    assert page.locator("#quantity").input_value() == "1"
    assert page.locator('[data-test="points-available"]').inner_text() == "28"

    # a double click sends the form's one key twice: one visit, one lot
    page.fill("#amount", "500")
    page.dblclick('[data-test="visit-submit"]')
    page.locator(".flash.success").wait_for()
    assert lots_of(live_app, customer_id) == 2
    assert page.locator('[data-test="points-available"]').inner_text() == "78"
