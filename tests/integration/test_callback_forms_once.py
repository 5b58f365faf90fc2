"""A double click on a callback decision takes effect once and says one truthful thing (issue 15
item 6): the answer-review buttons (正确/错误) and 无法接通 carry a one-time form token."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from tests.flows import answer_for_review, delivered_referral
from tests.web import browser_as, compile_catalogs, text
from verification.callbacks import service as callbacks
from verification.callbacks.models import Callback


def _events(entity: str, entity_id: int, action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id), AuditEvent.action == action)).scalar_one()


def _tokens(html: str) -> tuple[str, list[str]]:
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return csrf, re.findall(r'name="form_token" value="([^"]+)"', html)


def test_a_second_post_of_a_review_decision_changes_nothing_and_repeats_the_first_message(
        app, api, world, people, due_at_once, monkeypatch):
    compile_catalogs()
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_for_review(api, rid)
    review = callbacks.list_reviews(world["admin"])[0]  # the managers of this referral may not review it
    browser = browser_as(app, "admin")
    csrf, tokens = _tokens(text(browser.get("/reviews")))
    form = {"csrf_token": csrf, "form_token": tokens[0], "decision": "correct"}
    first = browser.post(f"/reviews/{review.id}", data=form)
    second = browser.post(f"/reviews/{review.id}", data=form)
    flashes = re.findall(r'class="flash (\w+)"[^>]*>([^<]*)<', text(browser.get(second.location)))
    assert first.location == second.location
    assert flashes and all(c == "success" and "审核结果已记录" in m for c, m in flashes), flashes
    assert _events("callback_review", review.id, "decided") <= 1 and not callbacks.list_reviews(world["admin"])


def test_a_second_post_of_unreachable_counts_one_attempt(app, api, world, people, due_at_once, monkeypatch):
    compile_catalogs()
    delivered_referral(api, world, people, "referee", monkeypatch)
    browser = browser_as(app, "agent")
    csrf, _none = _tokens(text(browser.get("/calls")))
    taken = browser.post("/calls/next", data={"csrf_token": csrf})  # the page's "take the next call"
    call = {"id": int(taken.location.rsplit("/", 1)[-1])}
    page = browser.get(taken.location)
    assert page.status_code == 200, (page.status_code, page.location)
    csrf, tokens = _tokens(text(page))
    form = {"csrf_token": csrf, "form_token": tokens[-1]}
    first = browser.post(f"/calls/{call['id']}/unreachable", data=form)
    second = browser.post(f"/calls/{call['id']}/unreachable", data=form)
    assert first.location == second.location
    flashes = re.findall(r'class="flash (\w+)"[^>]*>([^<]*)<', text(browser.get(second.location)))
    assert flashes and all(c == "info" and "稍后" in m for c, m in flashes), flashes
    db.session.expire_all()
    callback = db.session.get(Callback, call["id"])
    assert callback.attempts_made == 1, callback.attempts_made  # one attempt counted, not two
