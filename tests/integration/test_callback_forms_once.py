"""A double click on a callback decision takes effect once and says one truthful thing (issue 15
item 6): the answers, the answer-review buttons (正确/错误), 无法接通 and the delivery check carry a
one-time form token."""
from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from tests.flows import (
    CHECK_FORM,
    LICENCE,
    T0,
    VEHICLE,
    answer_for_review,
    claim,
    delivered_referral,
    plan_of,
    register,
    truthful,
)
from tests.web import browser_as, compile_catalogs, text
from verification.callbacks import planning
from verification.callbacks import service as callbacks
from verification.callbacks.models import Callback
from verification.delivery.models import CheckRecord


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


def test_a_second_post_of_the_answers_records_them_once_and_says_so_again(
        app, api, world, people, due_at_once, monkeypatch):
    compile_catalogs()
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    browser = browser_as(app, "agent")
    csrf, _none = _tokens(text(browser.get("/calls")))
    taken = browser.post("/calls/next", data={"csrf_token": csrf})
    callback_id = int(taken.location.rsplit("/", 1)[-1])
    csrf, tokens = _tokens(text(browser.get(taken.location)))
    form = {"csrf_token": csrf, "form_token": tokens[0]}  # the answers form's, not 无法接通's
    for q in plan_of(rid).questions:
        said = truthful(q)
        if "confirmed" in said:
            form[f"{q['key']}_confirmed"] = "yes" if said["confirmed"] else "no"
        form[f"{q['key']}_text"] = said.get("text") or ""
    first = browser.post(f"/calls/{callback_id}", data=form)
    second = browser.post(f"/calls/{callback_id}", data=form)  # the double click: not "not held by you"
    assert first.status_code == second.status_code == 302 and first.location == second.location
    flashes = re.findall(r'class="flash (\w+)"[^>]*>([^<]*)<', text(browser.get(second.location)))
    assert flashes and all(c == "success" and "回答已记录" in m for c, m in flashes), flashes
    assert _events("callback", callback_id, "answered") == 1
    again = browser.get(f"/calls/{callback_id}")  # the call's page opened again: said as it is
    flashes = re.findall(r'class="flash (\w+)"[^>]*>([^<]*)<', text(browser.get(again.location)))
    assert ("error", "您已记录过这通回访的回答。") in flashes, flashes


def test_a_second_post_of_a_deciding_delivery_check_checks_once(app, world, people, acknowledged):
    compile_catalogs()
    browser = browser_as(app, "manager2")
    path = f"/referrals/{acknowledged}/delivery"
    csrf, tokens = _tokens(text(browser.get(path)))
    form = {"csrf_token": csrf, "form_token": tokens[0], **CHECK_FORM}
    first = browser.post(path, data=form)
    assert first.status_code == 200 and "各项一致" in text(first)
    second = browser.post(path, data=form)  # the double click: not "this referral cannot be checked"
    assert second.status_code == 302 and second.location.endswith(f"/referrals/{acknowledged}")
    flashes = re.findall(r'class="flash (\w+)"[^>]*>([^<]*)<', text(browser.get(second.location)))
    assert flashes == [("success", "交付核对已记录。各项一致：奖励已预留，回访已安排。")], flashes
    assert db.session.execute(select(func.count()).select_from(CheckRecord)).scalar_one() == 1


def test_an_api_retry_with_the_same_key_replays_the_check_and_the_answers(api, world, people, due_at_once,
                                                                           monkeypatch):
    """The delivery check (it reserves the reward) and the answers (they may release it) take an
    optional Idempotency-Key: a retry after a lost response replays the first answer, not a 409."""
    monkeypatch.setattr(planning, "draw_callee", lambda: "referee")
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people).json["id"]
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    check = {"delivered_at": (T0 + timedelta(hours=1)).isoformat(), "vehicle": VEHICLE, "licence": LICENCE}
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        first, again = (api.as_("manager2").post(f"referrals/{rid}/delivery", json=check,
                                                 headers={"Idempotency-Key": "check-once-1"}) for _ in range(2))
    assert first.status_code == again.status_code == 200 and first.json == again.json
    assert db.session.execute(select(func.count()).select_from(CheckRecord)).scalar_one() == 1
    call = claim(api).json
    answers = [truthful(q) for q in plan_of(rid).questions]
    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False):
        first, again = (api.as_("agent").post(f"callbacks/{call['id']}/answers", json={"answers": answers},
                                              headers={"Idempotency-Key": "answers-once-1"}) for _ in range(2))
        unkeyed = api.as_("agent").post(f"callbacks/{call['id']}/answers", json={"answers": answers})
    assert first.status_code == again.status_code == 200 and first.json == again.json
    assert unkeyed.status_code == 409  # without a key a second call is refused: never recorded twice
    assert _events("callback", call["id"], "answered") == 1
