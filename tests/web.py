"""Pages through the Flask test client (a `Browser`, logging in, CSRF tokens) and in a real browser
(`log_in`), and the compiled catalogs pages are read in: shared by the test modules that drive pages."""
from __future__ import annotations

import os
import re
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from loyalty.extensions import db
from tests.helpers import PASSWORD

PO_FILE = Path(__file__).resolve().parents[1] / "loyalty/web/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def compile_catalogs() -> None:
    """`make` compiles the catalogs (*.mo are not in git); do it here too when stale."""
    mo_file = PO_FILE.with_suffix(".mo")
    if mo_file.exists() and mo_file.stat().st_mtime >= PO_FILE.stat().st_mtime:
        return
    with open(PO_FILE, "rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    partial = mo_file.with_suffix(f".mo.{os.getpid()}")
    with open(partial, "wb") as out:
        write_mo(out, catalog)
    os.replace(partial, mo_file)  # whole or not at all, should two processes compile at once


class Browser:
    """A test client whose every request runs in its own app context, as in production: a fresh
    `g` (CSRF token, rollback flag) and its own database session, so what a page commits (or
    does not) is what the test then reads."""

    def __init__(self, app):
        self.app, self.client = app, app.test_client()

    def _request(self, method: str, *args, **kwargs):
        db.session.rollback()  # end the test's read transaction (SQLite: it holds the write lock)
        with self.app.app_context():
            return getattr(self.client, method)(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self._request("get", *args, **kwargs)

    def post(self, *args, **kwargs):
        return self._request("post", *args, **kwargs)

    def session_transaction(self):
        return self.client.session_transaction()


def csrf_of(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"),
                                       "username": username, "password": password})


def post_form(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_of(client, path), **data})


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh_session(page) -> None:
    """Log the browser out by dropping its cookies, once the page has settled: Chromium stores a
    response's cookies asynchronously, and a session cookie of the page just left landing after the
    clear made the next login fail its CSRF check (a 400, seen once in CI)."""
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click('[data-test="login-submit"]')


def browser_as(app, role: str) -> Browser:
    browser = Browser(app)
    assert login(browser, role).status_code == 302
    return browser


def html_of(browser: Browser, path: str, status: int = 200) -> str:
    resp = browser.get(path)
    assert resp.status_code == status, path
    return resp.get_data(as_text=True)


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
