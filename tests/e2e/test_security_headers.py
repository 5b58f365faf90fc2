"""Security review, finding 8: the Content-Security-Policy holds on every page in a real browser.

The policy allows only our own stylesheet and no inline style or script; a page that broke it
would lose its layout silently. Chromium reports each violation, so every page each role can
open is visited and none may be reported."""
from __future__ import annotations

import pytest

from tests.web import log_in

pytestmark = pytest.mark.e2e


def page_paths(app) -> list[str]:
    """Every GET page without path parameters (downloads and the API aside)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static")) \
                and not rule.rule.endswith((".csv", ".xlsx")):
            paths.add(rule.rule)
    return sorted(paths)


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("role", ["consultant", "manager", "agent", "finance", "admin"])
def test_no_page_breaks_the_content_security_policy(page, live_app, role):
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    log_in(page, role)
    page.locator(f'[data-test="home-{role}"]').wait_for()
    visited = 0
    for path in page_paths(live_app):
        response = page.goto(path)
        if response is None or response.status != 200 or "/login" in page.url:
            continue
        visited += 1
        assert response.headers.get("content-security-policy", "").startswith("default-src 'self'")
        assert page.evaluate("getComputedStyle(document.body).fontFamily") != "", path
    assert visited >= 2  # home and at least one page of the role
    assert violations == []


def test_the_report_tabs_and_charts_keep_their_layout_without_inline_style(page):
    log_in(page, "manager")
    page.locator('[data-test="home-manager"]').wait_for()
    page.goto("/reports/fraud")
    tabs = page.locator('[data-test="report-tabs"]')
    assert tabs.evaluate("el => getComputedStyle(el).display") == "flex"
    chart = page.locator('[data-test="chart-fraud"]')
    width = chart.evaluate("el => el.getBoundingClientRect().width")
    assert 0 < width <= 640
