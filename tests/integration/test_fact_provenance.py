"""CB-10 and CB-11 end to end: fact versions with provenance, plans drawn from the facts as
registered, facts typed by the referral's own staff counted as known, and weak plans held for a
manager's confirmation."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.directory import service as directory
from loyalty.directory.models import Customer, FactVersion
from loyalty.extensions import db
from tests.flows import ON_RECORD_SINCE, T0, answer_next_call, balances, clueless, delivered_referral, plan_of, truthful
from tests.helpers import PASSWORD
from tests.web import Browser, login, text
from verification.callbacks import facts
from verification.callbacks.models import Confirmation
from verification.referrals.models import FactChange, Referral


def _staff(world, username: str):
    return world[username]


@pytest.mark.rule("CB-10")
def test_every_fact_value_is_a_version_with_who_when_and_which_desk(api, world):
    created = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "钱七", "phone": "13500135000", "employer": "宝钢集团"})
    cid = created.json["id"]
    assert api.as_("manager").patch(f"customers/{cid}", json={"employer": "东方航空"}).status_code == 200
    assert api.as_("admin").patch(f"customers/{cid}", json={"employer": None}).status_code == 200
    assert api.as_("admin").patch(f"customers/{cid}", json={"employer": None}).status_code == 200  # no change
    history = api.as_("admin").get(f"customers/{cid}/facts").json["facts"]
    assert [(v["value"], v["recorded_by_id"], v["desk"]) for v in history] == [
        ("宝钢集团", world["consultant"].id, "sales"), ("东方航空", world["manager"].id, "sales"),
        (None, world["admin"].id, "admin")]
    assert db.session.get(Customer, cid).employer is None  # the newest version is the customer's value
    for username in ("consultant", "manager", "agent", "finance"):
        assert api.as_(username).get(f"customers/{cid}/facts").status_code == 403
    car = api.as_("consultant").post(f"customers/{cid}/vehicles",
                                     json={"model": "朗逸", "colour": "银色", "transmission": "manual"})
    cars = api.as_("admin").get(f"customers/{cid}/facts").json["vehicles"]
    assert [(v["id"], v["recorded_by_id"], v["desk"]) for v in cars] == [
        (car.json["id"], world["consultant"].id, "sales")]
    directory.update_customer(None, cid, {"employer": "华为上海研究所"})  # an import (CLI, DMS): no staff
    assert db.session.execute(select(FactVersion.desk).order_by(FactVersion.id.desc())).scalars().first() == "import"


@pytest.mark.rule("CB-10")
def test_admins_read_the_history_on_the_customer_page(app, api, world, people):
    api.as_("admin").patch(f"customers/{people['zhang'].id}", json={"employer": "宝钢集团"})
    browser = Browser(app)
    login(browser, "admin")
    html = text(browser.get(f"/customers/{people['zhang'].id}"))
    assert 'data-test="fact-history"' in html and "上海汽车集团" in html and "宝钢集团" in html
    assert "管理员更正" in html  # the admin desk, in Chinese
    manager = Browser(app)
    login(manager, "manager")
    assert 'data-test="fact-history"' not in text(manager.get(f"/customers/{people['zhang'].id}"))


@pytest.mark.rule("CB-10")
def test_questions_come_only_from_facts_recorded_before_registration(api, world, people, due_at_once,
                                                                      monkeypatch):
    """Facts typed after the referral was registered, by anyone, are never asked about."""
    zhang = people["zhang"].id
    later = T0 + timedelta(minutes=10)  # after registration (T0), before the delivery check

    def after_registration():
        with time_machine.travel(later, tick=False):
            assert api.as_("admin").patch(f"customers/{zhang}", json={
                "employer": "宁波银行", "home_district": "奉贤区", "occupation": "律师"}).status_code == 200
            assert api.as_("admin").post(f"customers/{zhang}/vehicles", json={
                "model": "帕萨特", "colour": "黑色", "transmission": "manual"}).status_code == 201
    monkeypatch.setattr("tests.integration.test_callbacks.register", _register_then(after_registration))
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    plan = plan_of(rid)
    asked = {q["fact"]: q["true_value"] for q in plan.questions}
    planted = {"宁波银行", "奉贤区", "律师", "帕萨特", "黑色", "黑色 帕萨特"}
    assert not planted & {q["true_value"] for q in plan.questions}, asked
    assert not planted & {a for q in plan.questions for a in q["alternatives"]}
    referral = db.session.get(Referral, rid)
    record = facts.as_of(db.session.get(Customer, zhang), referral.registered_at, facts.involved_staff(referral))
    assert (record.facts.employer, record.facts.home_district, record.facts.occupation) == (
        "上海汽车集团", "浦东新区", "工程师")
    assert [v.model for v in record.facts.vehicles] == ["速腾"]
    used = plan.drawn["provenance"]["facts"]
    assert all(entry["recorded_at"] < referral.registered_at.isoformat() for entry in used.values())


def _register_then(after):
    from tests import flows

    def register(*args, **kwargs):
        resp = flows.register(*args, **kwargs)
        after()
        return resp
    return register


@pytest.mark.rule("CB-10")
@pytest.mark.rule("CB-11")
def test_facts_typed_by_the_registrant_count_as_known_and_the_other_party_is_called(
        api, world, people, due_at_once, monkeypatch):
    """The new customer's facts were typed by the consultant who registers the referral: calling the
    old customer about them proves nothing against that consultant, so the new customer is called
    about the old one instead (CB-1's drawn callee and the reason are kept for replay)."""
    with time_machine.travel(ON_RECORD_SINCE + timedelta(days=1), tick=False):
        for fact, value in (("employer", "宝钢集团"), ("home_district", "徐汇区"), ("occupation", "教师")):
            assert api.as_("consultant").patch(f"customers/{people['li'].id}", json={fact: value}).status_code == 200
    rid = delivered_referral(api, world, people, "referrer", monkeypatch)
    plan = plan_of(rid)
    assert plan.party == "referee"
    assert plan.drawn["drawn_callee"] == "referrer"
    assert plan.drawn["fallback"] == "the plan about the other party was too weak"
    assert plan.insider_pass_bp <= 500 and not plan.confirm_required


@pytest.mark.rule("CB-10")
def test_a_fact_changed_while_a_referral_is_live_is_flagged_on_it(api, world, people, due_at_once, monkeypatch):
    with time_machine.travel(T0, tick=False):
        from tests.flows import register
        rid = register(api, world, people).json["id"]
        api.as_("consultant").patch(f"customers/{people['zhang'].id}", json={"employer": "宁波银行"})
        api.as_("consultant").post(f"customers/{people['zhang'].id}/vehicles",
                                   json={"model": "帕萨特", "colour": "黑色", "transmission": "manual"})
        api.as_("consultant").patch(f"customers/{people['zhang'].id}", json={"gender": "male"})  # not a fact
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    changes = db.session.execute(select(FactChange).where(FactChange.referral_id == rid).order_by(FactChange.id)).scalars().all()
    assert [(c.party, c.fact, c.changed_by_id, c.desk) for c in changes] == [
        ("referrer", "employer", world["consultant"].id, "sales"),
        ("referrer", "vehicle", world["consultant"].id, "sales")]
    events = db.session.execute(select(AuditEvent).where(AuditEvent.entity == "referral",
                                                         AuditEvent.action == "fact_changed")).scalars().all()
    assert len(events) == 2 and "宁波银行" not in str([e.after for e in events])  # no value in the trail
    from tests.flows import LICENCE, VEHICLE
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):  # the check records the new car: routine
        resp = api.as_("manager2").post(f"referrals/{rid}/delivery", json={
            "delivered_at": (T0 + timedelta(hours=1)).isoformat(), "vehicle": VEHICLE, "licence": LICENCE})
    assert resp.status_code == 200
    assert db.session.execute(select(FactChange).where(FactChange.referral_id == rid).order_by(FactChange.id)).scalars().all() == changes
    # the managers see them on the referral, and the report counts them against who made them
    report = {r["key"]: r for r in api.as_("manager").get("reports/fraud?by=consultant").json["items"]}
    assert report[world["consultant"].id]["fact_changes"] == 2
    stores = {r["key"]: r for r in api.as_("manager").get("reports/fraud?by=store").json["items"]}
    assert stores[world.store.id]["fact_changes"] == 2


@pytest.mark.rule("CB-10")
def test_managers_see_the_changes_on_the_referral_page_and_consultants_do_not(app, api, world, people):
    with time_machine.travel(T0, tick=False):
        from tests.flows import register
        rid = register(api, world, people).json["id"]
        api.as_("consultant").patch(f"customers/{people['zhang'].id}", json={"employer": "宁波银行"})
    manager, consultant = Browser(app), Browser(app)
    login(manager, "manager")
    login(consultant, "consultant")
    html = text(manager.get(f"/referrals/{rid}"))
    assert 'data-test="fact-changes"' in html and "工作单位" in html and "宁波银行" not in html
    assert 'data-test="fact-changes"' not in text(consultant.get(f"/referrals/{rid}"))
    assert 'data-test="verification-link"' not in html  # live: nothing of the verification yet


@pytest.fixture
def thin_parties(api, world, people):
    """Before any referral: 张三's occupation is cleared (two hidden facts left) and 李四's facts are
    typed by the consultant who will register the referral: no plan is strong against him."""
    with time_machine.travel(ON_RECORD_SINCE + timedelta(days=1), tick=False):
        assert api.as_("admin").patch(f"customers/{people['zhang'].id}", json={"occupation": None}).status_code == 200
        assert api.as_("consultant").patch(f"customers/{people['li'].id}", json={
            "employer": "宝钢集团", "home_district": "徐汇区", "occupation": "教师"}).status_code == 200
    third = directory.create_staff(None, username="manager3", display_name="Manager3", role="manager",
                                   store_id=world.store.id, password=PASSWORD)
    db.session.commit()
    api.token("manager3")
    return third


@pytest.mark.rule("CB-11")
def test_a_passing_verdict_on_a_weak_plan_waits_for_a_manager_who_did_not_touch_it(
        api, world, people, due_at_once, monkeypatch, thin_parties):
    rid = delivered_referral(api, world, people, None, monkeypatch)
    plan = plan_of(rid)
    assert plan.confirm_required and plan.insider_pass_bp > 500
    assert plan.drawn["strength"]["limit_bp"] == 500 and plan.drawn["strength"]["confirm_required"]
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=2))
    assert db.session.get(Referral, rid).status == "awaiting_callback"  # not silently verified
    owner = f"customer:{people['zhang'].id}"
    assert balances(api, owner)["reward_payable"]["pending"] == 50000
    # the managers who acknowledged and checked it are not offered it and cannot settle it
    for involved in ("manager", "manager2"):
        assert api.as_(involved).get("confirmations").json["items"] == []
    held = api.as_("manager3").get("confirmations").json["items"]
    assert [(h["referral_id"], h["insider_pass_bp"]) for h in held] == [(rid, plan.insider_pass_bp)]
    assert set(held[0]["known_to_staff"]) >= {"employer", "home_district", "occupation", "model", "colour"} or \
        set(held[0]["known_to_staff"]) >= {"model", "colour"}
    assert "上海汽车集团" not in str(held) and "宝钢集团" not in str(held)  # names of facts, never values
    cid = held[0]["id"]
    still_live = api.as_("manager3").get(f"referrals/{rid}/verification")
    assert still_live.status_code == 409  # nothing of the plan before the verdict (CB-4)
    refused = api.as_("manager2").post(f"confirmations/{cid}", json={"decision": "verified", "reason": "看过"})
    assert refused.status_code == 403 and refused.json["code"] == "confirmer_involved"
    blank = api.as_("manager3").post(f"confirmations/{cid}", json={"decision": "verified", "reason": ""})
    assert blank.status_code == 422 and "reason" in blank.json["fields"]
    done = api.as_("manager3").post(f"confirmations/{cid}", json={
        "decision": "verified", "reason": "亲自致电张三并核对行驶证照片"})
    assert done.status_code == 200, done.json
    assert db.session.get(Referral, rid).status == "verified"
    assert balances(api, owner)["reward_payable"]["posted"] == 50000
    assert api.as_("finance").get("payouts").json["items"][0]["referral_id"] == rid
    again = api.as_("admin").post(f"confirmations/{cid}", json={"decision": "verified", "reason": "再次"})
    assert again.status_code == 409
    # afterwards managers read how it was verified: the strength of the plan, never its facts
    record = api.as_("manager2").get(f"referrals/{rid}/verification").json
    assert record["calls"][0]["insider_pass_bp"] == plan.insider_pass_bp
    assert record["calls"][0]["confirm_required"] is True and record["calls"][0]["grades"] == {
        "correct": len(plan.questions)}
    assert record["confirmation"]["decision"] == "verified"
    assert "上海汽车集团" not in str(record) and "宝钢集团" not in str(record)
    assert api.as_("consultant").get(f"referrals/{rid}/verification").status_code == 403
    report = {r["key"]: r for r in api.as_("manager3").get("reports/fraud?by=consultant").json["items"]}
    assert report[world["consultant"].id]["held"] == 1


@pytest.mark.rule("CB-11")
def test_the_verification_page_shows_the_strength_after_the_verdict(app, api, world, people, due_at_once,
                                                                     monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=2))
    browser = Browser(app)
    login(browser, "manager")
    detail = text(browser.get(f"/referrals/{rid}"))
    assert 'data-test="verification-link"' in detail
    html = text(browser.get(f"/referrals/{rid}/verification"))
    bp = plan_of(rid).insider_pass_bp
    assert f"{bp / 100:.2f} %" in html and "5.00 %" in html and "新客户" in html
    assert "上海汽车集团" not in html  # the facts stay sealed


@pytest.mark.rule("CB-11")
def test_a_manager_may_release_a_held_reward_back_as_unverifiable(api, world, people, due_at_once, monkeypatch,
                                                                   thin_parties):
    rid = delivered_referral(api, world, people, None, monkeypatch)
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=2))
    cid = db.session.execute(select(Confirmation.id).where(Confirmation.referral_id == rid)).scalar_one()
    resp = api.as_("manager3").post(f"confirmations/{cid}", json={
        "decision": "unverifiable", "reason": "新客户说不认识推荐人"})
    assert resp.status_code == 200
    assert db.session.get(Referral, rid).status == "unverifiable"
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"] == {
        "posted": 0, "pending": 0, "available": 0}


@pytest.mark.rule("CB-11")
def test_a_fraud_verdict_on_a_weak_plan_applies_at_once(api, world, people, due_at_once, monkeypatch, thin_parties):
    rid = delivered_referral(api, world, people, None, monkeypatch)
    answer_next_call(api, rid, clueless, T0 + timedelta(hours=2))
    referral = db.session.get(Referral, rid)
    if referral.status == "awaiting_callback":  # "don't know"-free clueless answers are never inconclusive
        pytest.fail("a clueless callee must be decided at once")
    assert referral.status == "fraudulent"
    assert db.session.execute(select(Confirmation).where(Confirmation.referral_id == rid)).first() is None


@pytest.mark.rule("CB-11")
@pytest.mark.rule("CB-7")
def test_every_plan_stores_its_strength_for_replay(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    plan = plan_of(rid)
    strength = plan.drawn["strength"]
    assert strength["insider_pass_bp"] == plan.insider_pass_bp and 0 <= plan.insider_pass_bp <= 500
    assert strength["limit_bp"] == 500 and strength["confirm_required"] is False
    assert set(strength["known_to_staff"]) >= {"model", "colour"}
    assert set(plan.drawn["provenance"]["facts"]) == {"employer", "home_district", "occupation"}


@pytest.mark.rule("CB-11")
def test_the_limit_is_store_policy(api, world, people, due_at_once, monkeypatch, thin_parties):
    """A store that accepts more risk (here 100 %) has no verdict held."""
    assert api.as_("admin").put(f"stores/{world.store.id}/policy",
                                json={"insider_pass_limit_bp": 10000}).status_code == 200
    assert api.as_("admin").put(f"stores/{world.store.id}/policy",
                                json={"insider_pass_limit_bp": 0}).status_code == 422
    rid = delivered_referral(api, world, people, None, monkeypatch)
    assert not plan_of(rid).confirm_required
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=2))
    assert db.session.get(Referral, rid).status == "verified"


@pytest.mark.rule("CB-10")
def test_writing_the_value_on_record_is_flagged_like_a_change(api, world, people):
    """Else the flag would tell a manager whether his guess of a fact was the value on record."""
    with time_machine.travel(T0, tick=False):
        from tests.flows import register
        rid = register(api, world, people).json["id"]
        right = api.as_("manager").patch(f"customers/{people['zhang'].id}", json={"employer": "上海汽车集团"})
        wrong = api.as_("manager").patch(f"customers/{people['zhang'].id}", json={"home_district": "徐汇区"})
    assert right.status_code == wrong.status_code == 200
    flagged = db.session.execute(select(FactChange.fact).where(FactChange.referral_id == rid)
                                 .order_by(FactChange.id)).scalars().all()
    assert flagged == ["employer", "home_district"]
