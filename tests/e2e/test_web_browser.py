"""The web UI in a real browser: logging in per role, the language switch, an admin at work."""
from __future__ import annotations

import pytest

from tests.web import log_in

pytestmark = pytest.mark.e2e

HOME_TEXT = {"consultant": "提前报备", "manager": "值班经理", "agent": "电话回访",
             "finance": "审批", "admin": "管理门店"}


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("role", ["consultant", "manager", "agent", "finance", "admin"])
def test_each_role_logs_in_and_sees_its_chinese_home_page(page, role):
    log_in(page, role)
    home = page.locator(f'[data-test="home-{role}"]')
    home.wait_for()
    assert HOME_TEXT[role] in home.inner_text()
    assert page.locator('[data-test="nav-home"]').inner_text() == "首页"
    assert page.locator('[data-test="nav-stores"]').count() == (1 if role == "admin" else 0)
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_a_wrong_password_stays_on_the_login_page_in_chinese(page):
    log_in(page, "admin", "wrong-password")
    assert "用户名或密码错误" in page.locator(".flash.error").inner_text()


def test_the_english_switch_works(page):
    page.goto("/login")
    assert page.locator("h1").inner_text() == "登录"
    page.click('[data-test="lang-switch"]')
    page.wait_for_selector('html[lang="en"]')
    assert page.locator("h1").inner_text() == "Log in"
    log_in(page, "manager")
    page.locator('[data-test="home-manager"]').wait_for()
    assert "Manager" in page.locator("h1").inner_text()
    page.click('[data-test="lang-switch"]')
    page.wait_for_selector('html[lang="zh-CN"]')
    assert page.locator("h1").inner_text() == "经理"


def test_an_admin_creates_a_store_in_the_browser(page):
    log_in(page, "admin")
    page.click('[data-test="nav-stores"]')
    page.click('[data-test="store-new"]')
    page.fill("#code", "HZ01")
    page.fill("#name", "杭州西湖店")
    page.fill("#timezone", "Nowhere/City")
    page.click('[data-test="save"]')
    assert "未知时区" in page.locator('[data-test="error-timezone"]').inner_text()
    page.fill("#timezone", "Asia/Shanghai")
    page.click('[data-test="save"]')
    row = page.locator('[data-test="store-HZ01"]')
    row.wait_for()
    assert "杭州西湖店" in row.inner_text() and "¥500.00" in row.inner_text()
    assert "门店 HZ01 已创建" in page.locator(".flash.success").inner_text()


def test_the_policy_page_in_yuan(page):
    log_in(page, "admin")
    page.click('[data-test="nav-stores"]')
    page.click('[data-test="policy-SH01"]')
    assert page.input_value("#reward_amount") == "500.00"
    page.fill("#reward_amount", "888.8")
    page.click('[data-test="save"]')
    page.locator(".flash.success").wait_for()
    assert page.input_value("#reward_amount") == "888.80"
    page.fill("#reward_amount", "1.234")
    page.click('[data-test="save"]')
    page.locator('[data-test="error-reward_amount"]').wait_for()
    page.screenshot(path="/tmp/policy.png", full_page=True)
