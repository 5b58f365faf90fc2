"""The delivery pages through the test client: the check with its confirmation step, reopening,
what other roles' pages show (SEC-5), deliveries on record and the CSV import."""
from __future__ import annotations

import io
import re

import pytest

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from tests.flows import CHECK_FORM, RECORD_VALUES, ROWS, csv_bytes
from tests.helpers import count_rows
from tests.web import Browser, compile_catalogs, csrf_of, login, text
from verification.delivery.models import Delivery
from verification.referrals.models import Referral

FORM = CHECK_FORM


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture
def browser(app):
    return Browser(app)


def as_(browser, username):
    """The browser logged in afresh as `username` (a new cookie jar)."""
    browser.client = browser.app.test_client()
    assert login(browser, username).status_code == 302
    return browser


def check(browser, rid, **over):
    """The check form posted now (sessions are signed with the real time: no time travel here)."""
    path = f"/referrals/{rid}/delivery"
    return browser.post(path, data={"csrf_token": csrf_of(browser, path), **FORM, **over})


def status(rid) -> str:
    db.session.expire_all()
    return db.session.get(Referral, rid).status


@pytest.mark.rule("DEL-3")
def test_a_match_is_decided_at_once_with_the_values_side_by_side(browser, world, people, acknowledged):
    page = check(as_(browser, "manager2"), acknowledged)
    assert page.status_code == 200, text(page)
    html = text(page)
    assert "待回访" in html and 'data-test="checks"' in html and "确认驳回" not in html
    assert re.search(r'data-test="check-model".*?>一致<.*?大众汽车牌SVW7141BRD\(速腾\)', html, re.S)
    assert status(acknowledged) == "awaiting_callback"


@pytest.mark.rule("DEL-3")
def test_a_mismatch_is_shown_for_confirmation_before_it_rejects(browser, world, people, acknowledged):
    as_(browser, "manager2")
    page = check(browser, acknowledged, licence_plate="沪A54321")
    html = text(page)
    assert page.status_code == 200
    assert "确认驳回" in html and "返回修改" in html and "行驶证与报备信息不符" in html
    assert re.search(r'data-test="check-plate".*?不一致.*?沪A54321.*?不显示', html, re.S)
    assert "沪A12345" not in html  # the plate on record is not shown beside a differing licence
    assert status(acknowledged) == "registered" and count_rows(Delivery) == 0
    assert db.session.query(AuditEvent).filter_by(action="delivery_check_viewed").count() == 1
    # back to edit: the form again, with what was typed, nothing written
    page = check(browser, acknowledged, licence_plate="沪A54321", action="edit")
    assert page.status_code == 200 and 'value="沪A54321"' in text(page) and 'data-test="check"' in text(page)
    assert status(acknowledged) == "registered"
    # confirmed: rejected, the delivery on record
    page = check(browser, acknowledged, licence_plate="沪A54321", action="confirm")
    assert page.status_code == 200 and "已驳回" in text(page)
    assert status(acknowledged) == "rejected" and count_rows(Delivery) == 1


@pytest.mark.rule("DEL-3")
def test_a_bare_model_code_asks_for_the_common_name_and_offers_no_rejection(browser, world, people, acknowledged):
    page = check(as_(browser, "manager2"), acknowledged, licence_model="一汽-大众牌FV7146BBDBG")
    html = text(page)
    assert "无法比对" in html and "车型名称" in html and "确认驳回" not in html and "返回修改" in html
    page = check(browser, acknowledged, licence_model="一汽-大众牌FV7146BBDBG", action="confirm")
    assert page.status_code == 422 and "请在括号中补上车身上看到的车型名称" in text(page)
    assert status(acknowledged) == "registered" and count_rows(Delivery) == 0


@pytest.mark.rule("DEL-1")
def test_the_registrant_gets_no_check_page(browser, world, people, acknowledged):
    assert as_(browser, "consultant").get(f"/referrals/{acknowledged}/delivery").status_code == 403


@pytest.mark.rule("DEL-3")
def test_a_second_manager_reopens_a_rejection_from_the_referral_page(browser, world, people, acknowledged):
    check(as_(browser, "manager2"), acknowledged, licence_model="捷达", action="confirm")
    assert status(acknowledged) == "rejected"
    page = browser.get(f"/referrals/{acknowledged}")
    assert 'data-test="reopen-button"' not in text(page)  # the checker is not offered it
    as_(browser, "manager")
    path = f"/referrals/{acknowledged}"
    assert 'data-test="reopen-button"' in text(browser.get(path))
    resp = browser.post(f"/referrals/{acknowledged}/reopen",
                        data={"csrf_token": csrf_of(browser, path), "reason": "车型按行驶证写法录入有误"})
    assert resp.status_code == 302
    page = text(browser.get(path))
    assert "已重新打开" in page and "车型按行驶证写法录入有误" in page and "已报备" in page
    assert 'data-test="reopen-button"' not in page
    assert status(acknowledged) == "registered"
    # the reopener is not offered the check; the first checker is
    assert 'data-test="check-delivery"' not in page
    assert 'data-test="check-delivery"' in text(as_(browser, "manager2").get(path))


@pytest.mark.rule("SEC-5")
@pytest.mark.parametrize("who", ["consultant", "manager"])
def test_referral_pages_of_other_roles_show_no_record_values(browser, world, sealed, who):
    rid, _ = sealed
    as_(browser, who)
    for path in (f"/referrals/{rid}", "/referrals", "/referrals/queue" if who == "manager" else "/referrals"):
        html = text(browser.get(path))
        for value in RECORD_VALUES:
            assert value not in html, (who, path, value)
    assert "不一致" in text(browser.get(f"/referrals/{rid}"))  # the result per field is there


@pytest.mark.rule("SEC-5")
def test_the_check_page_shows_the_claim_not_the_record(browser, world, people, acknowledged):
    html = text(as_(browser, "manager2").get(f"/referrals/{acknowledged}/delivery"))
    assert "速腾" in html and "沪A12345" not in html and "LFV2A21K8E4123456" not in html


@pytest.mark.rule("SEC-5")
def test_admins_see_the_record_values_on_the_referral_page(browser, world, sealed):
    rid, _ = sealed
    html = text(as_(browser, "admin").get(f"/referrals/{rid}"))
    for value in ("张叁", "Sagitar", "珍珠白", "沪A12345"):
        assert value in html


@pytest.mark.rule("REG-7")
def test_the_import_page_reports_each_row_in_chinese(browser, world, people):
    as_(browser, "manager")
    content = csv_bytes(rows=ROWS + ["钱七,12345,2026-11-05 09:00,速腾,白色,自动,,LFV2A21K8E4000001"],
                        encoding="gb18030")
    page = browser.post("/deliveries/import", data={
        "csrf_token": csrf_of(browser, "/deliveries/import"),
        "file": (io.BytesIO(content), "销售系统导出.csv")}, content_type="multipart/form-data")
    html = text(page)
    assert page.status_code == 200, html
    assert "已记录 2 条交车" in html
    assert re.search(r'data-test="import-row-2".*?已新建', html, re.S)
    assert re.search(r'data-test="import-row-4".*?错误.*?手机.*?手机号码无效', html, re.S)
    listed = text(browser.get("/deliveries"))
    assert "赵六" in listed and "销售系统导入" in listed and "LSVAB2BR5NN123456" in listed


def test_the_import_page_refuses_a_file_it_cannot_read(browser, world, people):
    as_(browser, "manager")
    page = browser.post("/deliveries/import", data={
        "csrf_token": csrf_of(browser, "/deliveries/import"),
        "file": (io.BytesIO(b"name,model\r\nx,y\r\n"), "x.csv")}, content_type="multipart/form-data")
    assert page.status_code == 422 and "文件缺少必需的列" in text(page)
    assert count_rows(Delivery) == 0
    assert as_(browser, "consultant").get("/deliveries/import").status_code == 403

