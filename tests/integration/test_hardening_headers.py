"""Security review, finding 8: security headers on every response (pages, API, errors, assets)."""
from __future__ import annotations

import re

import pytest

from tests.web import Browser, login


def assert_hardened(resp):
    h = resp.headers
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    csp = h["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                      "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["Referrer-Policy"] == "same-origin"


@pytest.mark.rule("SEC-2")
def test_pages_api_errors_and_assets_carry_the_security_headers(app, api, world):
    browser = Browser(app)
    assert_hardened(browser.get("/login"))
    login(browser, "manager")
    for path in ("/", "/reports/fraud", "/customers", "/static/css/app.css", "/no-such-page", "/admin/stores"):
        resp = browser.get(path)
        assert_hardened(resp)
        resp.close()
    assert_hardened(api.as_("manager").get("stores"))
    assert_hardened(api.anonymous.get("stores"))
    assert_hardened(api.anonymous.post("auth/tokens", data="[" * 1000, content_type="application/json"))


@pytest.mark.rule("SEC-2")
def test_no_template_or_chart_uses_inline_style_or_script(app, world):
    browser = Browser(app)
    login(browser, "manager")
    for path in ("/", "/reports/fraud", "/reports/timeliness", "/reports/liabilities", "/customers"):
        html = browser.get(path).get_data(as_text=True).lower()
        # scripts only as our own static files (the double-submit guard is on every page): none inline
        scripts = re.findall(r"<script[^>]*>.*?</script>", html, re.S)
        assert len(scripts) == html.count("<script"), path
        assert all(re.fullmatch(r'<script src="/static/js/[\w.-]+\.js"( defer)?></script>', tag) for tag in scripts), path
        assert "<style" not in html and " style=" not in html, path
        assert " onclick=" not in html and " onload=" not in html, path


def test_hsts_only_when_cookies_are_https_only(app, world):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        assert app.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
