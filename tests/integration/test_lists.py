"""Lists that scale (issue 15 item 3, issue 16): keyset paging with no cap and no row lost or
repeated across pages when many rows share one instant; filters, search and store scope; the
finance queue's bulk approval; one effect per form (the form token, issue 15 item 6)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from loyalty import paging
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.payouts import service as payouts
from loyalty.payouts.models import Payout, PayoutApproval
from tests.web import Browser, compile_catalogs, login, text

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture
def browser(app):
    return Browser(app)


def _payouts(world, n: int, *, store=None, at=None, blocked=(), required=1, start=0) -> list[int]:
    """`n` payouts awaiting approval, requested at three instants only (ties on time)."""
    store = store or world.store
    rows = [Payout(subject=f"test:{start + i}", label="Referral", reference=start + i, store_id=store.id,
                   payee=f"customer:{start + i}", payee_name=f"收款人{start + i}", unit="CNY", gross_amount=50000,
                   offset_amount=0, status="awaiting_approval", approvals_required=required,
                   blocked_approver_ids=list(blocked), evidence={}, evidence_rows=[], reason="测试",
                   requested_at=at or T0 + timedelta(minutes=(i % 3)))
            for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _walk(actor, **filters) -> tuple[list[int], list[int]]:
    """Every id forwards page by page, then backwards from the last page."""
    forward, cursor, last = [], None, None
    while True:
        page = payouts.payout_page(actor, cursor=cursor, per_page=40, **filters)
        forward += [p.id for p in page.items]
        last = page
        if page.next is None:
            break
        cursor = page.next
    backward = [p.id for p in last.items]
    while last.prev is not None:
        last = payouts.payout_page(actor, cursor=last.prev, per_page=40, **filters)
        backward = [p.id for p in last.items] + backward
    return forward, backward


def test_keyset_pages_go_past_200_with_no_row_lost_or_repeated_on_ties(app, world):
    ids = _payouts(world, 230)
    finance = world.staff["finance"]
    forward, backward = _walk(finance, status="awaiting_approval")
    assert len(forward) == 230 and sorted(forward) == sorted(ids)  # no cap, nothing lost or repeated
    assert backward == forward  # previous pages give back the same rows in the same order
    times = [db.session.get(Payout, i).requested_at for i in forward]
    assert times == sorted(times)  # the oldest first
    first = payouts.payout_page(finance, per_page=40, status="awaiting_approval")
    assert first.count == 230 and first.count_exact and first.prev is None


def test_the_count_is_bounded_so_a_long_list_does_not_count_the_world(app, world, monkeypatch, browser):
    _payouts(world, 30)
    monkeypatch.setattr(paging, "COUNT_BOUND", 25)
    page = payouts.payout_page(world.staff["finance"], per_page=10)
    assert (page.count, page.count_exact) == (25, False) and len(page.items) == 10
    login(browser, "finance")
    assert "超过 25 条" in text(browser.get("/payouts"))
    monkeypatch.setattr(paging, "COUNT_BOUND", 1000)
    assert "30 笔发放" in text(browser.get("/payouts"))  # a filter that makes the list short: exact


def test_the_finance_queue_pages_through_every_payout_by_its_links(app, world, browser):
    ids = _payouts(world, 205)
    login(browser, "finance")
    seen, path = [], "/payouts?per_page=100"
    while path:
        html = text(browser.get(path))
        seen += [int(i) for i in re.findall(r'<tr data-test="payout-(\d+)"', html)]
        found = re.search(r'href="([^"]+)" data-test="page-next"', html) or \
            re.search(r'data-test="page-next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == 205


def test_a_forged_cursor_is_a_field_error_not_a_500(app, world, browser):
    login(browser, "finance")
    for cursor in ("nonsense", "W10", "WyJ4IiwgWzFdXQ"):
        assert browser.get(f"/payouts?cursor={cursor}").status_code == 422


def test_store_scope_and_filters_narrow_the_queue(app, world, browser):
    mine = _payouts(world, 5)
    theirs = _payouts(world, 4, store=world.other_store, start=100)
    old = _payouts(world, 2, at=T0 - timedelta(days=30), start=200)
    finance = world.staff["finance"]
    everything = {p.id for p in payouts.payout_page(finance, per_page=100).items}
    assert finance.store_id is None and set(mine + theirs + old) <= everything  # group-level finance sees all
    only_theirs = {p.id for p in payouts.payout_page(finance, per_page=100, store_id=world.other_store.id).items}
    assert only_theirs <= set(theirs)
    recent = {p.id for p in payouts.payout_page(finance, per_page=100, date_from=T0 - timedelta(days=1)).items}
    assert set(old).isdisjoint(recent) and set(mine) <= recent
    by_name = payouts.payout_page(finance, per_page=100, q="收款人201").items
    assert [p.id for p in by_name] == [old[1]]


# ---- bulk approval and one effect per form ------------------------------------------------------

def _form(browser, path: str = "/payouts") -> tuple[str, str]:
    html = text(browser.get(path))
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    return csrf, token


def _counts(payout_ids) -> tuple[int, int]:
    db.session.expire_all()
    approvals = db.session.execute(select(func.count()).select_from(PayoutApproval)
                                   .where(PayoutApproval.payout_id.in_(payout_ids))).scalar_one()
    events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return approvals, events


def test_bulk_approval_says_each_outcome_and_a_repost_changes_nothing(app, world, browser):
    finance = world.staff["finance"]
    one = _payouts(world, 2, start=300)
    two = _payouts(world, 1, required=2, start=310)
    involved = _payouts(world, 1, blocked=[finance.id], start=320)
    login(browser, "finance")
    html = text(browser.get("/payouts"))
    assert f'data-test="pick-{one[0]}"' in html and f'data-test="pick-{two[0]}"' in html
    assert f'data-test="pick-{involved[0]}"' not in html  # they may not approve it: not selectable
    assert "0/2" in html
    csrf, token = _form(browser)
    form = {"csrf_token": csrf, "form_token": token, "payout_ids": [*one, *two, *involved], "next": "/payouts"}
    first = browser.post("/payouts/approve", data=form)
    said = text(browser.get(first.location))
    expected = (f"奖励发放 #{one[0]}、#{one[1]} 已批准。奖励发放 #{two[0]} 已记录第 1/2 个审批，还需另一位财务审批。"
                f"未能批准：奖励发放 #{involved[0]}：")
    assert expected in said
    db.session.expire_all()
    assert [db.session.get(Payout, i).status for i in one] == ["approved", "approved"]
    assert db.session.get(Payout, two[0]).status == "awaiting_approval"
    assert "1/2" in text(browser.get("/payouts"))
    before = _counts(one + two + involved)
    again = browser.post("/payouts/approve", data=form)  # the double click that got through
    assert expected in text(browser.get(again.location))
    assert _counts(one + two + involved) == before  # no second approval, no second audit event
    keys = db.session.execute(select(PayoutApproval.request_key).where(PayoutApproval.payout_id.in_(one))).scalars()
    assert all(k.startswith(f"form:{token}:approve:") for k in keys)  # one key per item, from the token


def test_bulk_approval_with_nothing_chosen_says_so(app, world, browser):
    _payouts(world, 1, start=400)
    login(browser, "finance")
    csrf, token = _form(browser)
    resp = browser.post("/payouts/approve", data={"csrf_token": csrf, "form_token": token})
    assert "请勾选要批准的奖励发放" in text(browser.get(resp.location))


@pytest.mark.rule("LED-6")
def test_a_second_post_of_mark_paid_lands_on_the_first_result_not_a_red_error(app, api, world, people,
                                                                              due_at_once, monkeypatch, browser):
    from tests.flows import payout_of, verified_referral
    pid = payout_of(api, verified_referral(api, world, people, monkeypatch))["id"]
    login(browser, "finance")
    csrf, token = _form(browser, f"/payouts/{pid}")
    browser.post(f"/payouts/{pid}/approve", data={"csrf_token": csrf, "form_token": token})
    csrf, _token = _form(browser, f"/payouts/{pid}")
    html = text(browser.get(f"/payouts/{pid}"))
    paid_token = re.search(r'data-test="paid-form-\d+">\s*<input[^>]*>\s*<input type="hidden" name="form_token" '
                           r'value="([^"]+)"', html)
    token = paid_token.group(1) if paid_token else re.findall(r'name="form_token" value="([^"]+)"', html)[0]
    form = {"csrf_token": csrf, "form_token": token, "method": "alipay", "external_reference": "2026113000001",
            "next": f"/payouts/{pid}"}
    first = browser.post(f"/payouts/{pid}/paid", data=form)
    second = browser.post(f"/payouts/{pid}/paid", data=form)
    page = text(browser.get(second.location))
    assert f"奖励发放 {pid} 已标记为已支付" in page and "只有已批准的奖励发放才能标记为已支付" not in page
    assert first.location == second.location
    db.session.expire_all()
    payout = db.session.get(Payout, pid)
    assert payout.status == "paid" and payout.external_reference == "2026113000001"
    events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "payout", AuditEvent.entity_id == str(pid), AuditEvent.action == "paid")).scalar_one()
    assert events == 1


def test_a_form_token_reused_for_another_request_is_refused_without_effect(app, world, browser):
    one = _payouts(world, 2, start=500)
    login(browser, "finance")
    csrf, token = _form(browser)
    browser.post("/payouts/approve", data={"csrf_token": csrf, "form_token": token, "payout_ids": [one[0]]})
    resp = browser.post("/payouts/approve", data={"csrf_token": csrf, "form_token": token, "payout_ids": [one[1]]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Payout, one[1]).status == "awaiting_approval"


# ---- the referral list: paging, filters, search, scope ---------------------------------------------

def _referrals(world, people, n: int, *, store=None, who="consultant", status="verified", at=None,
               start=0, referees=None) -> list[int]:
    from verification.referrals.models import Referral
    store = store or world.store
    referees = referees or [people["li"].id] * n
    rows = [Referral(store_id=store.id, referrer_id=people["zhang"].id, referee_id=referees[i],
                     registered_by_id=world.staff[who].id, status=status, claim_referrer_name=f"老客户{start + i}",
                     claim_referrer_phone="+8613800138000", claim_referrer_model="速腾", claim_referrer_colour="白色",
                     registered_at=at or T0 + timedelta(minutes=i % 2))
            for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _rows(browser, path: str) -> list[int]:
    """Every referral id the list shows, following its next links to the end."""
    seen = []
    while path:
        html = text(browser.get(path))
        seen += [int(i) for i in re.findall(r'/referrals/(\d+)" data-test="referral-link"', html)]
        found = re.search(r'rel="next" data-test="page-next" href="([^"]+)"', html)
        path = found.group(1).replace("&amp;", "&") if found else None
    return seen


def test_the_referral_list_pages_past_100_with_no_cap(app, world, people, browser):
    mine = _referrals(world, people, 130)
    theirs = _referrals(world, people, 3, store=world.other_store, who="consultant_b", start=500)
    login(browser, "manager")
    seen = _rows(browser, "/referrals")
    assert sorted(seen) == sorted(mine) and len(seen) == len(set(seen))  # the store's, all of them, once
    assert set(theirs).isdisjoint(seen)  # SEC-2
    assert "找到 130 条推荐" in text(browser.get("/referrals"))


def test_the_managers_queue_pages_each_section_oldest_first_with_no_cap(app, world, people, browser):
    from loyalty.directory.models import Customer
    new = [Customer(store_id=world.store.id, name=f"新客户{i}", phone=f"+86139{i:08d}") for i in range(130)]
    db.session.add_all(new)
    db.session.flush()  # one live referral per new customer; registered, not acknowledged: "to acknowledge"
    waiting = _referrals(world, people, 130, status="registered", referees=[c.id for c in new])
    login(browser, "manager")
    html = text(browser.get("/referrals/queue"))
    assert 'data-test="queue-count-acknowledge">130<' in html  # the whole queue, not the rows shown
    seen, path = [], "/referrals/queue"
    while path:
        page = text(browser.get(path))
        seen += [int(i) for i in re.findall(r'data-test="ack-row-(\d+)"', page)]
        found = re.search(r'data-test="pager-queue-acknowledge".*?rel="next" data-test="page-next" href="([^"]+)"',
                          page, re.S)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(waiting) and len(seen) == len(set(seen))
    from verification.referrals.models import Referral
    at = {r.id: (r.registered_at, r.id) for r in db.session.execute(select(Referral)).unique().scalars()}
    assert [at[i] for i in seen] == sorted(at[i] for i in seen)  # the oldest waiting first


def test_the_referral_list_filters_by_status_consultant_date_and_searches(app, world, people, browser):
    by_consultant = _referrals(world, people, 3)
    by_manager = _referrals(world, people, 2, who="manager", status="rejected", start=10)
    old = _referrals(world, people, 1, at=T0 - timedelta(days=40), start=20)
    login(browser, "manager")
    assert sorted(_rows(browser, "/referrals?status=rejected")) == by_manager
    consultant = world.staff["consultant"].id
    assert sorted(_rows(browser, f"/referrals?consultant_id={consultant}")) == sorted(by_consultant + old)
    assert old[0] not in _rows(browser, "/referrals?from=2026-11-01&to=2026-11-30")
    assert _rows(browser, "/referrals?q=老客户20") == old
    assert sorted(_rows(browser, "/referrals?q=李四")) == sorted(by_consultant + by_manager + old)
    assert sorted(_rows(browser, "/referrals?q=9000")) == sorted(by_consultant + by_manager + old)  # phone tail
    assert browser.get("/referrals?from=0001-01-01").status_code == 422


def test_a_consultant_lists_only_their_own_and_cannot_search_by_plate(app, world, people, browser):
    from verification.referrals import lists
    _referrals(world, people, 2, who="manager")
    own = _referrals(world, people, 2, start=10)
    login(browser, "consultant")
    assert sorted(_rows(browser, "/referrals")) == own
    page = lists.referral_page(world.staff["consultant"], q="沪A12345")
    assert page.items == []  # plates are the answer key's (SEC-5)
    directory_vehicle_of_li(people)
    assert lists.referral_page(world.staff["manager"], q="沪B 99999").items  # managers may


def directory_vehicle_of_li(people):
    from loyalty.directory import service as directory
    directory.add_vehicle(None, people["li"].id, model="高尔夫", colour="红色", transmission="manual", plate="沪B99999")
    db.session.commit()


def test_the_api_lists_carry_a_cursor_and_keep_items_and_total(app, api, world, people):
    ids = _referrals(world, people, 120)
    seen, cursor, first = [], None, None
    while True:
        body = api.as_("manager").get("referrals", query_string={"per_page": 50, **({"cursor": cursor} if cursor
                                                                                   else {})}).json
        first = first or body
        seen += [r["id"] for r in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert first["total"] == 120 and first["total_exact"] is True and first["page"] == 1 and first["prev"] is None
    old_style = api.as_("manager").get("referrals", query_string={"per_page": 50, "page": 3}).json
    assert [r["id"] for r in old_style["items"]] == seen[100:] and old_style["total"] == 120  # OFFSET, exact
    assert api.as_("manager").get("referrals", query_string={"cursor": "bogus"}).status_code == 422
    pays = _payouts(world, 3, start=900)
    body = api.as_("finance").get("payouts", query_string={"per_page": 2}).json
    nxt = api.as_("finance").get("payouts", query_string={"per_page": 2, "cursor": body["next"]}).json
    assert [p["id"] for p in body["items"] + nxt["items"]] == pays and nxt["next"] is None


def test_the_question_bank_form_keeps_what_was_typed_and_puts_the_error_at_its_field(app, world):
    from tests.web import browser_as, post_form
    browser = browser_as(app, "admin")
    resp = post_form(browser, "/admin/questions", {"code": "open_occupation_3", "kind": "open", "fact": "occupation",
                                                    "text_zh": "平时做哪一行?", "text_en": "What line of work?"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'value="open_occupation_3"' in html and 'value="平时做哪一行?"' in html and 'value="What line of work?"' in html
    assert '<option value="occupation" selected>' in html
    field = re.search(r'<div class="field has-error">\s*<label for="q-text-zh">.*?</div>\s*</div>', html, re.S)
    assert field and 'data-test="error-text_zh"' in field.group(0) and "{who}" in field.group(0)
