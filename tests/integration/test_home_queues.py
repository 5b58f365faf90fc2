"""Each role's home page is its work queue (issue 15 item 1): counts from grouped service queries,
scoped by the viewer's stores, the oldest age, links to the items."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from loyalty.directory import service as directory
from loyalty.directory.models import Staff
from loyalty.extensions import db
from loyalty.payouts import worklist as payouts
from tests.flows import (
    T0,
    answer,
    answer_for_review,
    claim,
    delivered_referral,
    new_referee,
    payout_of,
    plan_of,
    register,
    truthful,
    undecided,
    verified_referral,
)
from tests.helpers import PASSWORD
from tests.web import browser_as, compile_catalogs, text
from verification.callbacks import facts
from verification.callbacks import service as callbacks
from verification.callbacks import worklist as calls
from verification.callbacks.models import AnswerReview
from verification.referrals import worklist as showroom
from verification.referrals.models import Referral


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


def _staff(world, username, role, store):
    member = directory.create_staff(None, username=username, display_name=username.title(), role=role,
                                    store_id=store.id if store else None, password=PASSWORD)
    db.session.commit()
    return member


def test_manager_queues_count_in_one_query_within_the_store(api, world, people):
    with time_machine.travel(T0, tick=False):
        first = register(api, world, people).json["id"]
    assert showroom.manager_queues(world["manager"]) == {"acknowledge": (1, T0), "review": (0, None),
                                                         "delivery": (0, None)}
    assert showroom.manager_queues(world["manager_b"])["acknowledge"] == (0, None)  # another store's manager
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert api.as_("manager").post(f"referrals/{first}/acknowledge").status_code == 200
    counts = showroom.manager_queues(world["manager"])
    # waiting for the delivery check since it was acknowledged, not since it was registered
    assert counts["acknowledge"][0] == 0 and counts["delivery"] == (1, T0 + timedelta(hours=5))
    assert showroom.open_by_store(world["admin"]) == {world.store.id: 1}
    assert showroom.open_by_store(world["manager_b"]) == {}


def test_consultant_counts_only_their_own_referrals_by_status(api, world, people):
    register(api, world, people)
    assert showroom.my_referrals_by_status(world["consultant"])["registered"][0] == 1
    assert showroom.my_referrals_by_status(world["manager"]) == {}
    assert showroom.my_referrals_by_status(world["consultant_b"]) == {}


def test_home_pages_show_the_counts_and_link_to_the_items(app, api, world, people):
    rid = register(api, world, people).json["id"]
    manager = text(browser_as(app, "manager").get("/"))
    assert 'data-test="count-acknowledge">1<' in manager
    assert f'href="/referrals/{rid}"' in manager  # the item itself, linked
    assert 'data-test="count-acknowledge">0<' in text(browser_as(app, "manager_b").get("/"))
    consultant = text(browser_as(app, "consultant").get("/"))
    assert 'data-test="count-registered">1<' in consultant and "/referrals?status=registered" in consultant
    admin = text(browser_as(app, "admin").get("/"))
    assert 'data-test="health-SH01-open_referrals">1<' in admin
    assert 'data-test="health-SH02-open_referrals">0<' in admin


def test_agent_queue_counts_due_calls_and_the_next_due_time(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    due_at = plan_of(rid).due_at
    with time_machine.travel(due_at - timedelta(minutes=1), tick=False):
        queue = calls.call_queue(world["agent"])
        assert (queue.due, queue.later, queue.next_due) == (0, 1, due_at)
    with time_machine.travel(due_at + timedelta(hours=2), tick=False):
        assert calls.call_queue(world["agent"]).due == 1
        assert calls.call_queue(world["agent_b"]).due == 0  # another store's agent
        assert calls.overdue_by_store(world["admin"]) == {world.store.id: 1}
        assert calls.overdue_by_store(world["manager_b"]) == {}


def test_answers_to_review_are_counted_as_the_reviews_page_lists_them(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_for_review(api, rid)
    _staff(world, "manager3", "manager", world.store)
    for who in ("manager", "manager2", "manager3", "manager_b", "admin"):
        member = db.session.execute(select(Staff).where(Staff.username == who)).unique().scalar_one()
        assert calls.answers_to_review(member)[0] == len(callbacks.list_reviews(member)), who
        # the one query of the list agrees with the rule a decision runs (facts.involved_staff)
        review = db.session.execute(select(AnswerReview)).unique().scalar_one()
        may = member.store_id in (None, review.store_id) and member.id not in facts.involved_staff(db.session.get(Referral, review.referral_id))
        assert [r.id for r in callbacks.list_reviews(member)] == ([review.id] if may else []), who
    manager3 = db.session.execute(select(Staff).where(Staff.username == "manager3")).unique().scalar_one()
    assert calls.answers_to_review(manager3)[0] == 1  # the involved managers see none


def test_finance_waits_with_totals_in_yuan_scoped_by_store(app, api, world, people, due_at_once, monkeypatch):
    rid = verified_referral(api, world, people, monkeypatch)
    payout = payout_of(api, rid)
    waiting = payouts.open_payouts(world["finance"])
    assert waiting["awaiting_approval"].count == 1
    assert waiting["awaiting_approval"].total == payout["gross_amount"] - payout.get("offset_amount", 0)
    assert waiting["approved"].count == 0
    finance_b = _staff(world, "finance_b", "finance", world.other_store)
    assert payouts.open_payouts(finance_b)["awaiting_approval"].count == 0
    page = text(browser_as(app, "finance").get("/"))
    assert 'data-test="count-awaiting_approval">1<' in page
    amount = payout["gross_amount"] - payout.get("offset_amount", 0)
    assert f"¥{amount // 100:,}.{amount % 100:02d}" in page
    assert "/payouts?status=awaiting_approval" in page


def test_an_unknown_page_says_so_in_chinese_with_the_menu_when_logged_in(app, world):
    page = browser_as(app, "manager").get("/no-such-page")
    assert page.status_code == 404
    assert "此页面不存在" in text(page)
    assert 'data-test="nav-home"' in text(page) and 'data-test="logout"' in text(page)
    from tests.web import Browser
    anonymous = Browser(app).get("/no-such-page")
    assert anonymous.status_code == 404 and 'data-test="nav-home"' not in text(anonymous)


def test_every_page_links_the_vendored_favicon(app, world):
    assert 'rel="icon" type="image/svg+xml" href="/static/favicon.svg"' in text(browser_as(app, "agent").get("/"))
    icon = app.test_client().get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data
    icon.close()


def _statements_of(app, browser, path: str) -> int:
    from sqlalchemy import event
    seen = []

    def count(*_args):
        seen.append(1)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("role", ["consultant", "manager", "finance", "admin", "agent"])
def test_a_home_page_costs_the_same_statements_whatever_waits(app, api, world, people, role):
    """No query per item: the home page of a role runs as many statements with one referral
    waiting as with four (each tile lists at most ITEMS_SHOWN)."""
    browser = browser_as(app, role)
    register(api, world, people)
    one = _statements_of(app, browser, "/")
    for name, phone in (("周一", "13600136001"), ("周二", "13600136002"), ("周三", "13600136003")):
        referee = directory.create_customer(None, store_id=world.store.id, name=name, phone=phone)
        db.session.commit()
        assert register(api, world, {**people, "new": referee}, referee="new").status_code == 201
    many = _statements_of(app, browser, "/")
    print(f"STATEMENTS {role}: {one} with 1 waiting, {many} with 4")
    assert many == one


def test_the_call_desk_shows_the_queue_size_and_the_next_due_time(app, api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    due_at = plan_of(rid).due_at
    with time_machine.travel(due_at - timedelta(hours=1), tick=False):
        page = text(browser_as(app, "agent").get("/calls"))
        assert 'data-test="desk-due">0<' in page
        shown = due_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
        assert shown in page and "共 1 个已安排" in page
    with time_machine.travel(due_at + timedelta(minutes=5), tick=False):
        assert 'data-test="desk-due">1<' in text(browser_as(app, "agent").get("/calls"))


def test_a_manager_is_not_offered_to_acknowledge_his_own_registration(app, api, world, people):
    compile_catalogs()
    rid = register(api, world, people, who="manager").json["id"]
    own = text(browser_as(app, "manager").get("/referrals/queue"))
    assert f'data-test="ack-row-{rid}"' in own and f'data-test="acknowledge-{rid}"' not in own
    assert "由您报备：须由另一位经理确认" in own
    assert f'data-test="acknowledge-{rid}"' in text(browser_as(app, "manager2").get("/referrals/queue"))
    refused = api.as_("manager").post(f"referrals/{rid}/acknowledge")
    assert refused.status_code == 403


def test_the_referral_page_says_where_its_reward_stands(app, api, world, people, due_at_once, monkeypatch):
    """A reward is shown with what became of it: reserved, with finance (the payout's status),
    rejected by finance; never as if still owed (review finding)."""
    compile_catalogs()
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    def state() -> str:
        html = text(browser_as(app, "manager").get(f"/referrals/{rid}"))
        return re.search(r'data-test="reward-state">([^<]*)<', html).group(1)
    assert state() == "已预留，待回访结论"
    call = claim(api).json
    answer(api, call["id"], [truthful(q) for q in plan_of(rid).questions])
    assert state() == "交财务发放：待审批"
    payout = payout_of(api, rid)
    assert api.as_("finance").post(f"payouts/{payout['id']}/reject", json={"reason": "材料不全"},
                                   headers={"Idempotency-Key": "reject-1"}).status_code == 200
    assert state() == "交财务发放：已驳回"


def test_a_consultant_reads_only_the_referrals_he_registered(app, api, world, people):
    """As his list shows them: another consultant's referral in his store is 404, page and API
    (review finding: the page opened by URL showed its claim)."""
    people["wu"] = new_referee(world, "吴九", "13712349999")
    mine = register(api, world, people, referee="wu").json["id"]
    rid = register(api, world, people, who="manager").json["id"]
    assert api.as_("consultant").get(f"referrals/{rid}").status_code == 404
    assert browser_as(app, "consultant").get(f"/referrals/{rid}").status_code == 404
    assert api.as_("manager2").get(f"referrals/{rid}").status_code == 200
    assert api.as_("consultant").get(f"referrals/{mine}").status_code == 200
    assert browser_as(app, "consultant").get(f"/referrals/{mine}").status_code == 200
