"""A live server on a migrated SQLite file, driven by Chromium through Playwright.

Chromium comes from the system (/usr/bin/chromium): `playwright install` cannot
download here. Without it the browser tests skip, unless CI is set: then they fail.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-gpu"]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app behind the live server: a migrated SQLite file with the test world of staff.
    Tests may open `with live_app.app_context():` to arrange data or read what the browser did."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.config import TestConfig
    from loyalty.extensions import db
    from tests.helpers import build_world
    from tests.web import compile_catalogs

    compile_catalogs()
    database = tmp_path_factory.mktemp("e2e") / "e2e.sqlite3"
    app = create_app(TestConfig(f"sqlite:///{database}"))
    with app.app_context():
        upgrade()
        build_world()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    """Base URL of the app served by werkzeug in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context (no cookies) per test, its base URL the live server."""
    context = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
