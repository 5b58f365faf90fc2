"""Ring detection (issue 17): each signal fires on its minimal example and stays quiet on the
genuine pattern it resembles, computed both by the full recompute and around one referral (the
registration hook's and the refresh job's slice), on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from loyalty.audit.models import AuditEvent
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, FactVersion
from loyalty.extensions import db
from loyalty.payouts import service as payouts
from tests import flows
from tests.flows import register
from tests.web import browser_as, compile_catalogs, csrf_of, html_of, visible_text
from verification.callbacks import planning
from verification.referrals.models import Referral
from verification.rings import load
from verification.rings import service as rings
from verification.rings.signals import Signal, assess

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
_phones = itertools.count(13500000000)


def person(world, name="客户", store=None, **extra) -> Customer:
    customer = Customer(store_id=(store or world.store).id, name=name, phone=f"+86{next(_phones)}", **extra)
    db.session.add(customer)
    db.session.flush()
    return customer


def referral(world, referrer, referee, *, who="consultant", days=0, status="registered", store=None,
             acknowledged_by=None, checked_by=None, reason=None) -> Referral:
    row = Referral(store_id=(store or world.store).id, referrer_id=referrer.id, referee_id=referee.id,
                   registered_by_id=world.staff[who].id, status=status, reason=reason,
                   registered_at=T0 + timedelta(days=days),
                   acknowledged_by_id=world.staff[acknowledged_by].id if acknowledged_by else None,
                   delivery_checked_by_id=world.staff[checked_by].id if checked_by else None,
                   claim_referrer_name=referrer.name, claim_referrer_phone=referrer.phone,
                   claim_referrer_model="速腾", claim_referrer_colour="白色")
    db.session.add(row)
    db.session.flush()
    return row


def kinds(target: Referral) -> set[str]:
    """The signals of `target` by both paths, which must agree, evidence and figures included (the
    hook counts the consultant's window in the database; the full pass walks it)."""
    whole = {s.kind: (s.linked, s.detail) for s in assess(load.everything()).get(target.id, [])}
    around = {s.kind: (s.linked, s.detail) for s in assess(load.around(target), {target.id}).get(target.id, [])}
    assert whole == around, (whole, around)
    return set(whole)


@pytest.mark.parametrize("pattern", ["ring", "busy_consultant", "popular"])
def test_concentration_on_one_referrer(world, pattern):
    """6 referrals of one consultant from one referrer who sends nobody elsewhere: concentration,
    even at a busy consultant's; a popular referrer whose friends go to several consultants is genuine."""
    referrer = person(world, "老客户")
    who = ["consultant", "manager"] if pattern == "popular" else ["consultant"]
    for day in range(20 if pattern != "ring" else 1):
        referral(world, person(world), person(world), who=who[day % len(who)], days=day)
    last = [referral(world, referrer, person(world), who=who[n % len(who)], days=30 + n * 7) for n in range(12)][-1]
    assert ("concentration" in kinds(last)) is (pattern != "popular")


@pytest.mark.parametrize("gap", [10, 60])
def test_spread_over_stores_in_a_short_time(world, gap):
    referrer = person(world)
    referral(world, referrer, person(world))
    later = referral(world, referrer, person(world, store=world.other_store), who="consultant_b",
                     store=world.other_store, days=gap)
    assert ("spread" in kinds(later)) is (gap == 10)


@pytest.mark.parametrize("closes", [True, False])
def test_pairs_and_cycles(world, closes):
    """A→B, B→C, C→A closes a cycle of three; A→B, B→C, C→D is a chain (a family's referrals)."""
    a, b, c, d = (person(world, n) for n in "ABCD")
    first = referral(world, a, b)
    referral(world, b, c, days=1)
    last = referral(world, c, a if closes else d, days=2)
    assert ("cycle" in kinds(last)) is closes
    assert ("cycle" in kinds(first)) is closes  # the job finds it on the older referral too


def test_a_pair_referring_each_other(world):
    a, b = person(world), person(world)
    referral(world, a, b, status="verified")
    assert "cycle" in kinds(referral(world, b, a, days=5))


@pytest.mark.parametrize("by", ["phone", "national_id", None])
def test_staff_who_are_customers(world, by):
    id_card = "310115198001011238"
    referrer = directory.create_customer(None, store_id=world.store.id, name="周", phone="13812345678",
                                         national_id=id_card)
    staff = world.staff["manager"]
    directory.update_staff(None, staff.id, {"phone": "13812345678"} if by == "phone" else
                           {"national_id": id_card} if by == "national_id" else {"phone": "13912345678"})
    assert ("staff_customer" in kinds(referral(world, referrer, person(world)))) is (by is not None)


@pytest.mark.parametrize("case", ["same_id", "same_place", "colleagues"])
def test_new_customers_sharing_an_identity(world, case):
    """Colleagues share an employer but not a home district: genuine."""
    referrer = person(world)
    for n in range(3):
        district = "浦东新区" if case != "colleagues" else f"区{n}"
        shared = dict(national_id_hash="f" * 64) if case == "same_id" and n < 2 else {}
        last = referral(world, referrer, person(world, employer="上汽", home_district=district, **shared), days=n)
        if case == "same_id" and n == 1:
            assert "shared" in kinds(last)
            return
    assert ("shared" in kinds(last)) is (case == "same_place")


@pytest.mark.parametrize("case", ["one_home", "over_months", "two_homes"])
def test_new_customers_sharing_a_home_address(world, case):
    """Three "friends" from one home within days (different employers): shared; friends who live in the
    same district but came over three months, or friends from two districts, are genuine."""
    referrer = person(world)
    for n in range(3):
        district = "徐汇区" if case == "two_homes" and n == 1 else "浦东新区"
        last = referral(world, referrer, person(world, employer=f"单位{n}", home_district=district),
                        days=n * (40 if case == "over_months" else 4))
    assert ("shared" in kinds(last)) is (case == "one_home")
    if case == "one_home":
        signal = next(s for s in assess(load.everything())[last.id] if s.kind == "shared")
        assert signal.detail["what"] == ["home_district"] and len(signal.linked) == 2


@pytest.mark.parametrize("who,days_before", [("consultant", 2), ("agent", 2), ("consultant", 30)])
def test_referrer_facts_edited_shortly_before(world, who, days_before):
    referrer = person(world)
    db.session.add(FactVersion(customer_id=referrer.id, fact="employer", value="某公司", desk="sales",
                               recorded_by_id=world.staff[who].id,
                               recorded_at=T0 - timedelta(days=days_before)))
    fires = who == "consultant" and days_before == 2
    assert ("fact_edit" in kinds(referral(world, referrer, person(world)))) is fires


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("checks", [False, True])
def test_the_same_pair_of_staff(world, split, checks):
    """SH01 has two managers: all 8 acknowledged by one is unusual; 4 and 4 is the rota. With the
    delivery checks done by the same manager each referral counts two decisions (both paths)."""
    for n in range(8):
        manager = "manager2" if split and n % 2 else "manager"
        referral(world, person(world), person(world), days=n, acknowledged_by=manager,
                 checked_by=manager if checks else None)
    assert ("staff_pair" in kinds(referral(world, person(world), person(world), days=9))) is (not split)


@pytest.mark.parametrize("fold", [False, True])
def test_the_hook_reads_the_window_from_the_day_counts_as_they_change(world, fold):
    """The hook reads the whole days of the consultant's window from the report counts (issue 16):
    decisions and verdicts recorded after registration move them, folded by the job or not, and
    both paths still agree."""
    from verification.reports import counts
    rows = [referral(world, person(world), person(world), days=n) for n in range(8)]
    assert "staff_pair" not in kinds(referral(world, person(world), person(world), days=9))
    for n, row in enumerate(rows):
        row.acknowledged_by_id = world.staff["manager"].id
        row.status, row.reason = ("rejected", "review_rejected") if n < 2 else ("registered", None)
    db.session.flush()
    if fold:
        assert counts.compact()
    assert {"staff_pair", "history"} <= kinds(referral(world, person(world), person(world), days=10))


def test_the_hook_counts_the_ends_of_the_window_to_the_microsecond(world):
    """The hook counts the consultant's whole days from the report counts and the two partial days at
    the window's ends from the referrals (issue 16): a referral at either end, at either midnight that
    bounds a partial day, or one microsecond to either side, is counted once or not at all, as the
    window [start, the target) says."""
    from zoneinfo import ZoneInfo
    at = T0 + timedelta(days=200)  # 10:00 in Shanghai
    start = at - timedelta(days=load.Policy.of(db.session.get(load.StorePolicy, world.store.id)).window_days)
    shanghai = ZoneInfo("Asia/Shanghai")

    def midnight(t):
        return t.astimezone(shanghai).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    first_mid, last_mid = midnight(start) + timedelta(days=1), midnight(at)
    tick = timedelta(microseconds=1)
    instants = [start - tick, start, start + tick, first_mid - tick, first_mid, first_mid + tick,
                first_mid + timedelta(days=3), last_mid - tick, last_mid, last_mid + tick, at - tick, at]
    managers = ["manager", "manager2", None]
    for n, instant in enumerate(instants):
        row = referral(world, person(world), person(world), acknowledged_by=managers[n % 3],
                       status="fraudulent" if n % 4 == 0 else "registered")
        row.registered_at = instant
    target = referral(world, person(world), person(world))
    target.registered_at = at
    referral(world, person(world), person(world)).registered_at = at + tick  # after the target
    db.session.flush()
    counted = [r for r in db.session.query(Referral).filter(Referral.registered_by_id == world.staff["consultant"].id)
               if start <= r.registered_at and (r.registered_at, r.id) < (at, target.id)]
    assert len(counted) == len(instants) - 1  # all but the one before the window
    summary = load.around(target).summaries[world.staff["consultant"].id]
    assert summary.total == len(counted)
    assert summary.bad == sum(r.status == "fraudulent" for r in counted)
    expected = {world.staff[m].id: sum(r.acknowledged_by_id == world.staff[m].id for r in counted)
                for m in ("manager", "manager2")}
    assert {k: v for k, v in summary.pairs.items() if v} == expected


@pytest.mark.parametrize("earlier", ["fraudulent", "verified"])
def test_verdict_history(world, earlier):
    referrer = person(world)
    referral(world, referrer, person(world), status=earlier)
    assert ("history" in kinds(referral(world, referrer, person(world), days=3))) is (earlier == "fraudulent")


@pytest.mark.parametrize("bad", [1, 2])
def test_a_consultant_with_earlier_fakes(world, bad):
    """Two fraudulent or review-rejected referrals of the consultant within the window are history
    (the hook counts them in the database and names them); one is not."""
    for n in range(bad):
        referral(world, person(world), person(world), days=n, status="rejected" if n else "fraudulent",
                 reason="review_rejected" if n else None)
    referral(world, person(world), person(world), days=3, status="rejected", reason="customer_withdrew")
    assert ("history" in kinds(referral(world, person(world), person(world), days=5))) is (bad == 2)


def test_a_quiet_referral_has_no_signal(world):
    assert kinds(referral(world, person(world), person(world))) == set()


# ---- the assessment at registration, the job, the payout ---------------------------------------------

@pytest.mark.rule("REG-5")
def test_a_registration_at_ring_risk_goes_to_review_with_its_reasons_audited(api, world, people):
    directory.update_staff(None, world["manager"].id, {"phone": "13800138000"})  # 张三 is on the staff
    db.session.commit()
    resp = register(api, world, people)
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "under_review"
    found = rings.assessment_of(resp.json["id"])
    assert found.score >= 50 and [s.kind for s in found.signals] == ["staff_customer"]
    event = db.session.query(AuditEvent).filter_by(entity="referral", entity_id=str(resp.json["id"]),
                                                   action="risk_assessed").one()
    assert event.after["signals"] == ["staff_customer"]


def test_a_quiet_registration_is_registered_and_writes_no_assessment(api, world, people):
    resp = register(api, world, people)
    assert resp.json["status"] == "registered"
    assert rings.assessment_of(resp.json["id"]) is None


def test_the_job_reassesses_live_referrals_with_what_came_since(api, world, people):
    rid = register(api, world, people).json["id"]
    directory.update_staff(None, world["manager"].id, {"phone": "13800138000"})
    db.session.commit()
    assert rid in rings.stale_ids()
    assert rings.refresh(rid) is True
    assert [s.kind for s in rings.assessment_of(rid).signals] == ["staff_customer"]
    assert rings.refresh(rid) is False  # nothing new: no second event
    assert db.session.query(AuditEvent).filter_by(action="risk_reassessed", entity_id=str(rid)).count() == 1


@pytest.mark.rule("REG-5")
@pytest.mark.rule("LED-6")
def test_the_job_holds_a_registered_referral_that_became_risky_and_its_payout_needs_two(
        api, world, people, due_at_once, monkeypatch):
    """Registered quietly; the job finds 张三 on the staff: REG-5's queue (ring_risk, audited through the
    referral's transitions); a manager accepts it and the job leaves it there; its payout needs two."""
    monkeypatch.setattr(planning, "draw_callee", lambda: "referee")
    with time_machine.travel(flows.T0, tick=False):
        rid = register(api, world, people).json["id"]
        directory.update_staff(None, world["manager"].id, {"phone": "13800138000"})
        db.session.commit()
        assert rings.refresh(rid) is True
        db.session.commit()
        held = db.session.get(Referral, rid)
        assert (held.status, held.review_required) == ("under_review", "ring_risk")
        event = db.session.query(AuditEvent).filter_by(entity_id=str(rid), action="held_for_review").one()
        assert (event.before["status"], event.after["status"], event.actor_id) == ("registered", "under_review", None)
        assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 200
        assert api.as_("manager2").post(f"referrals/{rid}/review", json={"decision": "accept"}).status_code == 200
        assert rings.refresh(rid) is False and db.session.get(Referral, rid).status == "registered"  # accepted stands
    with time_machine.travel(flows.T0 + timedelta(hours=1), tick=False):
        resp = api.as_("manager2").post(f"referrals/{rid}/delivery", json={
            "delivered_at": (flows.T0 + timedelta(hours=1)).isoformat(), "vehicle": flows.VEHICLE,
            "licence": flows.LICENCE})
    assert resp.json["status"] == "awaiting_callback", resp.json
    call = flows.claim(api).json
    assert flows.answer(api, call["id"], [flows.truthful(q) for q in flows.plan_of(rid).questions]).status_code == 200
    assert flows.payout_of(api, rid)["approvals_required"] == 2


def test_the_job_leaves_a_quiet_or_checked_referral_where_it_is(api, world, people):
    rid = register(api, world, people).json["id"]
    assert rings.refresh(rid) is False and db.session.get(Referral, rid).status == "registered"
    db.session.get(Referral, rid).status = "awaiting_callback"  # past its delivery check
    directory.update_staff(None, world["manager"].id, {"phone": "13800138000"})
    db.session.commit()
    assert rings.refresh(rid) is True and db.session.get(Referral, rid).status == "awaiting_callback"


@pytest.mark.rule("LED-6")
def test_a_referral_at_ring_risk_pays_out_only_with_two_approvers(world):
    quiet = referral(world, person(world), person(world))
    risky = referral(world, person(world), person(world))
    rings._write(risky, [Signal("cycle", [quiet.id], {"length": 2})])
    assert (rings.needs_second_approver(quiet), rings.needs_second_approver(risky)) == (False, True)
    for subject, second in (("t:1", False), ("t:2", True)):
        payout = payouts.request_payout(None, subject=subject, store_id=world.store.id, payee="customer:1",
                                        amount=100, unit="CNY", blocked_approvers=[], evidence={}, reason="r",
                                        second_approver=second)
        assert payout.approvals_required == (2 if second else 1)


def test_the_full_recompute_writes_what_the_hook_would(world):
    a, b = person(world), person(world)
    referral(world, a, b)
    back = referral(world, b, a, days=1)
    assert rings.recompute_all() == {"referrals": 2, "flagged": 2, "signals": 2}
    assert [s.kind for s in rings.assessment_of(back.id).signals] == ["cycle"]


# ---- the rings pages and API: managers their store's, admins all, consultants nothing ----------------

@pytest.fixture
def ring(world):
    """A pair referring each other in SH01 (张甲 ⇄ 李乙) and a quiet referral in SH02."""
    compile_catalogs()
    a, b = person(world, "张甲"), person(world, "李乙")
    first = referral(world, a, b, days=1)
    referral(world, b, a, days=2)
    referral(world, person(world, "王丙", store=world.other_store), person(world, store=world.other_store),
             who="consultant_b", store=world.other_store)
    rings.recompute_all()
    db.session.commit()
    return first


def test_a_manager_sees_his_stores_ring_drawn_with_its_reasons(app, world, ring):
    html = html_of(browser_as(app, "manager"), "/rings")
    assert 'data-test="ring-graph-1"' in html and "<svg" in html
    assert "张甲" in visible_text(html) and "人循环互推" in visible_text(html)
    csv = browser_as(app, "manager").get("/rings.csv").get_data(as_text=True)
    assert "张甲" in csv and "互相推荐" in csv


def test_another_stores_manager_does_not_see_it_and_an_admin_does(app, api, world, ring):
    assert "张甲" not in html_of(browser_as(app, "manager_b"), "/rings")
    assert api.as_("manager_b").get("rings").json["items"] == []
    items = api.as_("admin").get("rings").json["items"]
    assert [sorted(p["name"] for p in i["people"]) for i in items] == [["张甲", "李乙"]]
    assert {s["kind"] for s in items[0]["signals"]} == {"cycle"}


@pytest.mark.parametrize("path", ["/rings", "/rings.csv", "/rings/report"])
def test_consultants_are_refused_the_rings(app, world, ring, path):
    assert browser_as(app, "consultant").get(path).status_code == 403


def test_consultants_never_read_a_referrals_risk(app, api, world, ring):
    assert api.as_("consultant").get(f"referrals/{ring.id}/risk").status_code == 403
    assert api.as_("consultant").get("rings").status_code == 403
    consultant = html_of(browser_as(app, "consultant"), f"/referrals/{ring.id}")
    assert 'data-test="risk"' not in consultant and "互推" not in consultant
    manager = html_of(browser_as(app, "manager"), f"/referrals/{ring.id}")
    assert 'data-test="risk-cycle"' in manager and "人循环互推" in visible_text(manager)
    assert api.as_("manager").get(f"referrals/{ring.id}/risk").json["signals"][0]["kind"] == "cycle"


def test_the_report_counts_signals_by_store_and_consultant(app, api, world, ring):
    items = api.as_("admin").get("rings/report").json["items"]
    assert [(i["store"], i["consultant"], i["counts"]["cycle"]) for i in items] == [("浦东店", "Consultant", 2)]
    assert "浦东店" in html_of(browser_as(app, "manager"), "/rings/report")


def test_the_policy_api_takes_the_ring_thresholds(api, world):
    resp = api.as_("admin").put(f"stores/{world.store.id}/policy", json={"ring_review_score": 70, "ring_pair_min": 5})
    assert resp.status_code == 200 and (resp.json["ring_review_score"], resp.json["ring_pair_min"]) == (70, 5)
    bad = api.as_("admin").put(f"stores/{world.store.id}/policy", json={"ring_concentration_pct": 0})
    assert bad.status_code == 422 and "ring_concentration_pct" in bad.json["fields"]
    assert api.as_("manager").put(f"stores/{world.store.id}/policy", json={"ring_review_score": 1}).status_code == 403


def test_staff_phone_and_national_id_are_kept_as_customers_are_and_read_by_admins_only(api, world):
    resp = api.as_("admin").patch(f"staff/{world['agent'].id}",
                                  json={"phone": "138 0013 8000", "national_id": "310115198001011238"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["phone"], resp.json["national_id_last4"]) == ("+8613800138000", "1238")
    assert "national_id" not in resp.json and len(db.session.get(type(world["agent"]), world["agent"].id)
                                                   .national_id_hash) == 64
    bad = api.as_("admin").patch(f"staff/{world['agent'].id}", json={"national_id": "310115198001011230"})
    assert bad.status_code == 422 and "national_id" in bad.json["fields"]
    listed = api.as_("manager").get("staff").json["items"]
    assert all("phone" not in member and "national_id_last4" not in member for member in listed)


def test_the_admin_staff_form_records_a_phone(app, world):
    compile_catalogs()
    admin = browser_as(app, "admin")
    resp = admin.post("/admin/staff/new", data={
        "csrf_token": csrf_of(admin, "/admin/staff/new"), "username": "newhand", "display_name": "新手",
        "role": "consultant", "store_id": str(world.store.id), "password": "long-enough-1",
        "phone": "13912345678", "national_id": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert "+8613912345678" in html_of(admin, "/admin/staff")


def test_the_admin_policy_page_shows_and_edits_the_ring_thresholds(app, world):
    """Labelled in Chinese with help text; saved to the store policy; a value out of range is refused
    at its field and nothing is saved."""
    from tests.integration.test_web_pages import POLICY  # every other field of the form, valid
    compile_catalogs()
    admin, path = browser_as(app, "admin"), f"/admin/stores/{world.store.id}/policy"
    page = visible_text(html_of(admin, path))
    assert "团伙识别" in page and "转经理审核的团伙风险分" in page and "其奖励发放需两名审批人" in page
    resp = admin.post(path, data={"csrf_token": csrf_of(admin, path), **POLICY, "ring_review_score": "70",
                                  "ring_shared_min": "4", "ring_pair_factor_pct": "300"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    policy = world.store.policy
    assert (policy.ring_review_score, policy.ring_shared_min, policy.ring_pair_factor_pct) == (70, 4, 300)
    assert 'value="70"' in html_of(admin, path)
    bad = admin.post(path, data={"csrf_token": csrf_of(admin, path), **POLICY, "ring_concentration_pct": "0",
                                 "ring_review_score": "55"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-test="error-ring_concentration_pct"' in html
    assert "数值大小必须介于 1 到 100 之间" in visible_text(html)
    db.session.expire_all()
    assert world.store.policy.ring_review_score == 70
