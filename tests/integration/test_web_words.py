"""issue 15 item 5: what people read on pages is words in their language, never a raw code, an id,
a UTC time or an English sentence in the Chinese interface; money, phones and times formatted
for the reader."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timezone

import pytest
import time_machine
from openpyxl import load_workbook

from loyalty.extensions import db
from loyalty.points.jobs import expire_points
from tests.flows import delivered_referral, payout_of, read_csv, redeem, register, verified_referral, visit
from tests.helpers import new_customer
from tests.web import browser_as, compile_catalogs, csrf_of, html_of, post_form, visible_text


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


def test_the_agent_dials_the_phone_in_chinese_grouping(app, api, world, people, due_at_once, monkeypatch):
    delivered_referral(api, world, people, "referrer", monkeypatch)
    agent = browser_as(app, "agent")
    taken = agent.post("/calls/next", data={"csrf_token": csrf_of(agent, "/calls")})
    assert taken.status_code == 302 and "/calls/" in taken.location
    html = html_of(agent, taken.location)
    assert "+86 138 0013 8000" in html and "+8613800138000" not in html


# ---- the points statement (积分明细) ----------------------------------------------------

T0 = datetime(2025, 1, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_the_points_statement_is_worded_from_its_lots_in_store_time(app, api, world):
    zhang = new_customer(world.store.id)
    with time_machine.travel(T0, tick=False):
        assert visit(api, zhang, world.store, 1_280_000).status_code == 201  # ¥12,800.00 → 1280 points
        assert redeem(api, zhang, 4, "w-1", item="机油保养").status_code == 201
    html = html_of(browser_as(app, "service"), f"/customers/{zhang.id}/points")
    assert "Service visit at" not in html and "Points redeemed for" not in html and "yuan earns" not in html
    assert "消费 ¥12,800.00，获得 1,280 积分（2027-01-15 失效）" in html  # points grouped on pages
    assert "兑换 4 × 机油保养" in html  # 4 units of a 1-point catalog item (tests/flows.py redeem)
    assert "2025-01-15 10:00" in html and "2025-01-15 02:00" not in html and "+00:00" not in html
    assert 'data-test="points-lots"' in html and "积分批次" in html
    assert 'data-test="points-expiry-warning"' not in html


def test_no_lots_heading_without_lots(app, world):
    zhang = new_customer(world.store.id)
    html = html_of(browser_as(app, "service"), f"/customers/{zhang.id}/points")
    assert "积分批次" not in html and 'data-test="points-empty"' in html


def test_points_lapsing_within_30_days_are_announced(app, api, world):
    zhang = new_customer(world.store.id)
    with time_machine.travel(T0, tick=False):
        visit(api, zhang, world.store, 100_000)  # 100 points, lapsing on 2027-01-15
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        html = html_of(browser_as(app, "service"), f"/customers/{zhang.id}/points")
        assert "points-expiry-warning" not in html
    with time_machine.travel(datetime(2026, 12, 20, tzinfo=UTC), tick=False):
        html = html_of(browser_as(app, "service"), f"/customers/{zhang.id}/points")
    assert "100 积分将在 30 天内失效（最早 2027-01-15），请在此之前兑换。" in html


def test_an_expired_lot_reads_as_its_points_and_day(app, api, world):
    zhang = new_customer(world.store.id)
    with time_machine.travel(T0, tick=False):
        visit(api, zhang, world.store, 100_000)
    with time_machine.travel(datetime(2027, 2, 1, tzinfo=UTC), tick=False):
        expire_points()
        db.session.commit()
        html = html_of(browser_as(app, "service"), f"/customers/{zhang.id}/points")
    assert "2025-01-15 获得的 100 积分已失效" in html and "Points expired" not in html


# ---- times in the store's zone ------------------------------------------------------------

def test_the_customer_page_shows_fact_history_in_the_stores_zone(app, world):
    world.store.timezone = "Asia/Tokyo"  # UTC+9, an hour off Shanghai's
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        zhang = new_customer(world.store.id, employer="华为")
    html = html_of(browser_as(app, "admin"), f"/customers/{zhang.id}")
    assert 'data-test="fact-history"' in html and "华为" in html
    assert "2025-01-15 11:00" in html and "2025-01-15 10:00" not in html


# ---- raw codes and ids ------------------------------------------------------------------

REGISTRATION = {"referee_name": "李四", "referee_phone": "13900139000", "referee_gender": "male",
                "referrer_name": "张三", "referrer_phone": "13800138000", "referrer_model": "速腾",
                "referrer_colour": "白色"}


def test_a_duplicate_registration_links_the_live_referral_instead_of_showing_its_id(app, api, world, people):
    first = register(api, world, people)
    assert first.status_code == 201
    browser = browser_as(app, "consultant")
    resp = post_form(browser, "/referrals/new", REGISTRATION)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    banners = re.findall(r'<div class="flash error" role="alert">([^<]*)</div>', html)
    assert banners == ["该新客户已有一条有效的推荐报备。"], banners
    assert f"referral {first.json['id']}" not in html
    assert f'<div class="flash error" role="alert">{first.json["id"]}</div>' not in html
    assert f'href="/referrals/{first.json["id"]}"' in html and 'data-test="live-referral"' in html


SNAKE_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def test_question_bank_names_fields_by_label_and_shows_no_codes(app, world):
    browser = browser_as(app, "admin")
    page = visible_text(html_of(browser, "/admin/questions"))
    assert not SNAKE_CODE.findall(page), SNAKE_CODE.findall(page)
    resp = post_form(browser, "/admin/questions", {"code": "open_occupation_2", "kind": "open", "fact": "occupation",
                                                    "text_zh": "平时做哪一行?", "text_en": "What line of work?"})
    page = visible_text(resp.get_data(as_text=True))
    assert "中文问题: 必须包含 {who}（被询问的人）。" in page
    assert "text_zh" not in page and "text_en" not in page


def test_the_payout_export_shows_no_ledger_owner_or_subject_strings(api, world, people, due_at_once, monkeypatch):
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch))
    rows = read_csv(api.as_("finance").get("payouts/export.csv"))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if re.search(r"\b(customer|referral|staff|store):\d", c)], cells
    row = next(r for r in rows if r and r[0] == str(payout["id"]))
    assert row[3] == str(people["zhang"].id) and row[4] == "张三" and "收款客户编号" in rows[0]
    resp = api.as_("finance").get("payouts/export.xlsx")
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    values = [str(v) for r in sheet.iter_rows(values_only=True) for v in r if v is not None]
    assert not [v for v in values if re.search(r"\b(customer|referral|staff|store):\d", v)], values


def test_the_finance_page_counts_call_attempts_in_words(app, api, world, people, due_at_once, monkeypatch):
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch))
    browser = browser_as(app, "finance")
    evidence = f"/payouts/{payout['id']}"  # the evidence is on the payout's page (issue 15)
    assert "拨打次数：1" in visible_text(html_of(browser, evidence))
    browser.post("/lang/en", data={"csrf_token": csrf_of(browser, evidence), "next": evidence})
    page = visible_text(html_of(browser, evidence))
    assert "Call attempts: 1" in page and "1 attempts" not in page


# ---- error pages ----------------------------------------------------------------------

ENGLISH_SENTENCE = re.compile(r"\b[A-Z]?[a-z]+(?: [a-z]+){3,}[.!?]?")  # four English words in a row


@pytest.mark.parametrize("path, status, words", [
    ("/nope", 404, "页面不存在"), ("/admin/stores", 403, "无权访问"), ("/customers/999999", 404, "页面不存在"),
    ("/logout", 405, "不允许此操作")])
def test_error_pages_are_chinese(app, world, path, status, words):
    page = visible_text(html_of(browser_as(app, "consultant"), path, status))
    assert words in page and not ENGLISH_SENTENCE.findall(page), ENGLISH_SENTENCE.findall(page)


def test_a_server_error_page_is_chinese(app, world, monkeypatch):
    from loyalty.web import customers
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(customers.service, "customer_page", broken)  # the search page's service
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    page = visible_text(html_of(browser_as(app, "consultant"), "/customers", 500))
    assert "出错了" in page and not ENGLISH_SENTENCE.findall(page), ENGLISH_SENTENCE.findall(page)
