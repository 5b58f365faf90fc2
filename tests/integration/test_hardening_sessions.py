"""Security review, finding 5: logging out ends the session on the server (SEC-2).

A session cookie saved before logout and replayed afterwards must not open a page; disabling a
user and resetting his password end his sessions too (those already worked and stay so)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from loyalty import clock
from loyalty.directory import service as directory
from loyalty.extensions import db
from tests.web import Browser, csrf_of, login


def saved_cookie(browser) -> str:
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str, path: str = "/referrals"):
    thief = Browser(app)
    thief.client.set_cookie("session", cookie)
    return thief.get(path)


def logged_in(resp) -> bool:
    return resp.status_code == 200


@pytest.mark.rule("SEC-2")
def test_a_cookie_saved_before_logout_is_refused_afterwards(app, world):
    browser = Browser(app)
    login(browser, "consultant")
    cookie = saved_cookie(browser)
    assert logged_in(replay(app, cookie))  # a copy works while the session lives
    resp = browser.post("/logout", data={"csrf_token": csrf_of(browser, "/")})
    assert resp.status_code == 302
    replayed = replay(app, cookie)
    assert replayed.status_code == 302 and replayed.headers["Location"].startswith("/login")
    assert replay(app, cookie, "/").status_code == 302


@pytest.mark.rule("SEC-2")
def test_logging_out_ends_only_that_session(app, world):
    desk, phone = Browser(app), Browser(app)
    login(desk, "manager")
    login(phone, "manager")
    desk.post("/logout", data={"csrf_token": csrf_of(desk, "/")})
    assert desk.get("/").status_code == 302
    assert phone.get("/").status_code == 200


@pytest.mark.rule("SEC-2")
def test_a_session_ends_when_it_expires_on_the_server(app, world):
    browser = Browser(app)
    login(browser, "agent")
    cookie = saved_cookie(browser)
    lifetime = app.permanent_session_lifetime
    with time_machine.travel(clock.now() + lifetime + timedelta(minutes=1)):
        assert replay(app, cookie, "/").status_code == 302


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("change", [{"active": False}, {"password": "a-brand-new-secret-2027"}])
def test_disabling_or_resetting_a_password_still_ends_sessions(app, world, change):
    browser = Browser(app)
    login(browser, "consultant")
    cookie = saved_cookie(browser)
    directory.update_staff(None, world["consultant"].id, change)
    db.session.commit()
    assert replay(app, cookie, "/").status_code == 302
    assert browser.get("/").status_code == 302


@pytest.mark.rule("SEC-2")
def test_a_forged_session_without_a_server_side_session_is_refused(app, world):
    browser = Browser(app)
    login(browser, "admin")
    with browser.session_transaction() as session:
        session["sid"] = "made-up"
    assert browser.get("/").status_code == 302
