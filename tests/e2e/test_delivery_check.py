"""The delivery check in Chromium: a match, a mismatch confirmed before it rejects, a rejection
reopened by a second manager and checked again from the delivery on record, the CSV import."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.web import fresh_session, log_in

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
OLD_PHONE = "13712340000"  # 孙老师: white automatic 速腾, plate 沪C88888
LICENCE = {"licence_owner_name": "孙老师", "licence_plate": "沪C 88888",
           "licence_model": "大众汽车牌SVW7141BRD（速腾）", "licence_colour": "白"}


def _world(live_app):
    from loyalty.directory import service as directory
    from loyalty.directory.models import Staff, Store
    from loyalty.extensions import db
    store = db.session.execute(db.select(Store).where(Store.code == "SH01")).unique().scalar_one()
    staff = {s.username: s for s in db.session.execute(db.select(Staff)).unique().scalars()}
    return directory, db, store, staff


@pytest.fixture(scope="module")
def old_customer(live_app):
    with live_app.app_context():
        directory, db, store, _staff = _world(live_app)
        sun = directory.create_customer(None, store_id=store.id, name="孙老师", phone=OLD_PHONE, gender="male",
                                        employer="上海电气集团", home_district="徐汇区", business="开茶叶店")
        directory.add_vehicle(None, sun.id, model="速腾", colour="白色", transmission="automatic", plate="沪C88888",
                              vin="LFV2A21K8E4777777")
        db.session.commit()
        sun_id = sun.id
        db.session.remove()
    return sun_id


def registered(live_app, old_customer, name: str, phone: str) -> int:
    """A new customer registered by the consultant on 孙老师's recommendation, acknowledged by `manager`."""
    from verification.referrals import service as referrals
    with live_app.app_context():
        directory, db, store, staff = _world(live_app)
        referee = directory.create_customer(None, store_id=store.id, name=name, phone=phone, gender="male",
                                            employer="中国银行徐汇支行", home_district="闵行区")
        referral = referrals.register_referral(staff["consultant"], store_id=store.id, referrer_id=old_customer,
                                               referee_id=referee.id, claim={
                                                   "referrer_name": "孙老师", "referrer_phone": OLD_PHONE,
                                                   "referrer_model": "速腾", "referrer_colour": "白色"})
        referrals.acknowledge(staff["manager"], referral.id)
        db.session.commit()
        rid = referral.id
        db.session.remove()
    return rid


def now_local() -> str:
    """The car leaves now; a second after the registration, which the form's whole seconds would
    otherwise put before it (a late claim)."""
    time.sleep(1.05)
    return datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S")


def fill_check(page, rid: int, vin: str, new_car: bool = True, **licence) -> None:
    page.goto(f"/referrals/{rid}/delivery")
    if new_car:
        page.fill("#delivered_at", now_local())
        page.fill("#vehicle_model", "高尔夫")
        page.fill("#vehicle_colour", "红色")
        page.select_option("#vehicle_transmission", "manual")
        page.fill("#vehicle_vin", vin)
    for name, value in {**LICENCE, **licence}.items():
        page.fill(f"#{name}", value)
    page.click('[data-test="check"]')


def status_of(live_app, rid: int) -> str:
    from loyalty.extensions import db
    from verification.referrals.models import Referral
    with live_app.app_context():
        status = db.session.get(Referral, rid).status
        db.session.remove()
    return status


@pytest.mark.rule("DEL-3")
def test_a_match_is_decided_at_once_and_shown_side_by_side(page, live_app, old_customer):
    rid = registered(live_app, old_customer, "周一", "13712340001")
    log_in(page, "manager2")
    fill_check(page, rid, "LSVAB2BR5NN700001")
    page.locator('[data-test="checks"]').wait_for()
    assert page.locator('[data-test="status"]').inner_text() == "待回访"
    model = page.locator('[data-test="check-model"]')
    assert model.locator('[data-test="licence"]').inner_text().startswith("大众汽车牌SVW7141BRD")
    assert model.locator('[data-test="record"]').inner_text() == "不显示"  # the checker reads results, not the record
    assert model.locator('[data-test="result"]').inner_text() == "一致"
    assert "沪C88888" not in page.locator('[data-test="checks"]').inner_text()
    assert page.locator('[data-test="confirm-reject"]').count() == 0


@pytest.mark.rule("DEL-3")
def test_a_mismatch_is_confirmed_before_it_rejects(page, live_app, old_customer):
    rid = registered(live_app, old_customer, "周二", "13712340002")
    log_in(page, "manager2")
    fill_check(page, rid, "LSVAB2BR5NN700002", licence_plate="沪C 66666")
    plate = page.locator('[data-test="check-plate"]')
    plate.wait_for()
    assert plate.locator('[data-test="licence"]').inner_text() == "沪C 66666"
    assert plate.locator('[data-test="record"]').inner_text() == "不显示"  # never the plate on record
    assert plate.locator('[data-test="result"]').inner_text() == "不一致"
    assert status_of(live_app, rid) == "registered"  # nothing decided yet
    # back to edit keeps what was typed
    page.click('[data-test="back-to-edit"]')
    assert page.input_value("#licence_plate") == "沪C 66666"
    assert page.input_value("#vehicle_vin") == "LSVAB2BR5NN700002"
    page.click('[data-test="check"]')
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click('[data-test="confirm-reject"]')  # asked first: dismissed, nothing is sent
    assert asked and "确认驳回该推荐" in asked[0] and status_of(live_app, rid) == "registered"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-test="confirm-reject"]')
    # the confirmation page shows the status too (已报备): wait for the result page's
    page.locator('[data-test="status"]', has_text="已驳回").wait_for()
    assert page.locator('[data-test="status"]').inner_text() == "已驳回"
    assert "行驶证与报备信息不符" in page.locator('[data-test="reason"]').inner_text()
    assert status_of(live_app, rid) == "rejected"


@pytest.mark.rule("DEL-3")
def test_a_second_manager_reopens_and_the_delivery_on_record_is_checked_again(page, live_app, old_customer):
    rid = registered(live_app, old_customer, "周三", "13712340003")
    log_in(page, "manager2")
    fill_check(page, rid, "LSVAB2BR5NN700003", licence_model="大众汽车牌SVW7141BRD(捷达)")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-test="confirm-reject"]')
    # the confirmation page shows the status too (已报备): wait for the result page's
    page.locator('[data-test="status"]', has_text="已驳回").wait_for()
    assert page.locator('[data-test="status"]').inner_text() == "已驳回"
    page.goto(f"/referrals/{rid}")
    assert page.locator('[data-test="reopen-button"]').count() == 0  # not for the checker
    fresh_session(page)

    log_in(page, "manager")
    page.goto(f"/referrals/{rid}")
    page.fill('[data-test="reopen-reason"]', "车型按行驶证录入有误，车身为速腾")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-test="reopen-button"]')
    assert "已重新打开" in page.locator(".flash.success").inner_text()
    assert page.locator('[data-test="status"]').first.inner_text() == "已报备"
    assert "车型按行驶证录入有误" in page.locator('[data-test="reopened"]').inner_text()
    assert page.locator('[data-test="check-delivery"]').count() == 0  # the reopener does not check it
    fresh_session(page)

    log_in(page, "manager2")
    page.goto(f"/referrals/{rid}")
    page.click('[data-test="check-delivery"]')
    assert "LSVAB2BR5NN700003" in page.locator('[data-test="delivery-on-record"]').inner_text()
    assert page.locator("#vehicle_model").count() == 0  # the car on record is used
    fill_check(page, rid, "", new_car=False)
    assert page.locator('[data-test="status"]').inner_text() == "待回访"
    assert status_of(live_app, rid) == "awaiting_callback"


@pytest.mark.rule("REG-7")
def test_the_import_page_takes_an_excel_gbk_export(page, live_app):
    rows = ["客户姓名\t手机\t交车日期\t车型\t颜色\t变速箱\tVIN",
            "吴一\t13712340010\t2026/11/20 10:30\t速腾\t白色\t自动\tLFV2A21K8E4700010",
            "吴二\t1371234\t2026/11/20 11:00\t朗逸\t黑色\t手动\tLFV2A21K8E4700011"]
    content = ("\r\n".join(rows) + "\r\n").encode("gb18030")
    log_in(page, "manager")
    page.click('[data-test="nav-deliveries"]')
    page.click('[data-test="import-link"]')
    page.set_input_files("#file", files=[{"name": "交车明细.csv", "mimeType": "text/csv", "buffer": content}])
    page.click('[data-test="import"]')
    page.locator('[data-test="import-report"]').wait_for()
    assert page.locator('[data-test="import-row-2"] [data-test="outcome"]').inner_text() == "已新建"
    assert page.locator('[data-test="import-row-3"] [data-test="outcome"]').inner_text() == "错误"
    assert "手机号码无效" in page.locator('[data-test="import-row-3"] [data-test="reason"]').inner_text()
    page.goto("/deliveries")
    assert "吴一" in page.locator('[data-test="deliveries"]').inner_text()
