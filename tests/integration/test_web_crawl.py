"""issue 15 item 5: crawl every page each role can reach from its home page, in a small world with
a verified referral, a payout and points, and fail on what must never reach a reader: a raw code
or id (`customer:1`, `referral:1`, `open_employer`), an English sentence in the Chinese interface,
or a UTC time (`+00:00`)."""
from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

from tests.flows import payout_of, redeem, verified_referral, visit
from tests.web import browser_as, compile_catalogs, visible_text


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()

RAW_CODE = re.compile(r"\b(?:customer|referral|staff|store|redemption|points_lot|system):\d+")
SNAKE_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,:]+[A-Za-z]?[a-z]+){2,}")  # three English words in a row
UTC_TIME = re.compile(r"\+00:00|\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b|T\d{2}:\d{2}")
SKIP = ("/logout", "/lang/", "/static/", "/api/")
MAX_PAGES = 80

# Text people typed is theirs: the question bank's English column is the admin's English question.
ENGLISH_BY_DESIGN = ("/admin/questions",)


def links(html: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"#]+)"', html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(SKIP):
            continue
        found.append(href)
    return found


def crawl(browser) -> dict[str, str]:
    seen: dict[str, str] = {}
    queue = deque(["/"])
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        resp = browser.get(path)
        seen[path] = ""
        if resp.status_code != 200 or resp.mimetype not in ("text/html", "text/csv"):
            continue
        html = resp.get_data(as_text=True)
        if resp.mimetype == "text/csv":  # an export: its cells are what people read
            html = "<p>" + html.replace(",", " , ") + "</p>"
        seen[path] = html
        queue.extend(link for link in links(html) if link not in seen)
    return seen


def problems(path: str, html: str, usernames: set[str]) -> list[str]:
    text = visible_text(html)
    found = [f"raw code {m!r}" for m in RAW_CODE.findall(text)]
    found += [f"snake_case code {m!r}" for m in SNAKE_CODE.findall(text) if m not in usernames]
    found += [f"UTC time {m!r}" for m in UTC_TIME.findall(text)]
    if not path.startswith(ENGLISH_BY_DESIGN):
        found += [f"English {m!r}" for m in ENGLISH_SENTENCE.findall(text)]
    return found


@pytest.fixture
def small_world(api, world, people, due_at_once, monkeypatch):
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch))
    assert visit(api, people["zhang"], world.store, 128_000).status_code == 201
    assert redeem(api, people["zhang"], 4, "crawl-1", item="洗车券").status_code == 201
    return payout


@pytest.mark.parametrize("role", ["consultant", "manager", "agent", "finance", "service", "admin"])
def test_no_page_shows_a_raw_code_an_english_sentence_or_a_utc_time(app, world, small_world, role):
    from loyalty.directory.models import Staff
    from loyalty.extensions import db
    usernames = {s.username for s in db.session.query(Staff).all()}
    pages = crawl(browser_as(app, role))
    assert len(pages) >= 2, pages.keys()
    report = {path: found for path, html in pages.items() if html and (found := problems(path, html, usernames))}
    assert not report, "\n".join(f"{path}: {found}" for path, found in report.items())
