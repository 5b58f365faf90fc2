"""issue 15 item 5: what people read on pages is words in their language, never a raw code, an id,
a UTC time or an English sentence in the Chinese interface; money, phones and times formatted
for the reader."""
from __future__ import annotations

import pytest

from tests.integration.test_callbacks import delivered_referral, due_at_once  # noqa: F401  (fixture)
from tests.integration.test_referrals import people  # noqa: F401  (fixture)
from tests.integration.test_web_i18n import compile_catalogs
from tests.integration.test_web_pages import Browser, csrf_of, login, post_form


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


def browser_as(app, role: str) -> Browser:
    browser = Browser(app)
    assert login(browser, role).status_code == 302
    return browser


def html_of(browser: Browser, path: str, status: int = 200) -> str:
    resp = browser.get(path)
    assert resp.status_code == status, path
    return resp.get_data(as_text=True)


def test_the_agent_dials_the_phone_in_chinese_grouping(app, api, world, people, due_at_once, monkeypatch):
    delivered_referral(api, world, people, "referrer", monkeypatch)
    agent = browser_as(app, "agent")
    taken = agent.post("/calls/next", data={"csrf_token": csrf_of(agent, "/calls")})
    assert taken.status_code == 302 and "/calls/" in taken.location
    html = html_of(agent, taken.location)
    assert "+86 138 0013 8000" in html and "+8613800138000" not in html
