"""Callback verification end to end: the seed's worked example, reviews, retries, secrecy (CB-*)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from loyalty.audit.models import AuditEvent
from loyalty.directory import service as directory
from loyalty.extensions import db
from tests.flows import (
    T0,
    answer,
    answer_for_review,
    answer_next_call,
    balances,
    claim,
    clueless,
    delivered_referral,
    payout_of,
    plan_of,
    register,
    truthful,
    undecided,
)
from tests.helpers import PASSWORD, at_once
from verification.callbacks import planning
from verification.callbacks.models import AnswerReview, Callback
from verification.referrals.models import Referral, ReferrerFlag


def assert_callback_changes_audited() -> None:
    """Every callback's audit events form an unbroken chain of before/after statuses ending at the
    status it holds: a status written without its event (an ad hoc write, a bulk UPDATE) breaks it."""
    db.session.expire_all()
    for callback in db.session.query(Callback).all():
        events = db.session.query(AuditEvent).filter_by(entity="callback", entity_id=str(callback.id)) \
            .order_by(AuditEvent.seq).all()
        moves = [(e.action, (e.before or {}).get("status"), (e.after or {}).get("status")) for e in events
                 if e.after and "status" in e.after]
        assert moves and moves[0][:2] == ("planned", None), (callback.id, moves)
        for (_, _, was), (action, before, _) in zip(moves, moves[1:]):
            assert before == was, (callback.id, action, moves)
        assert moves[-1][2] == callback.status, (callback.id, moves, callback.status)


@pytest.fixture(autouse=True)
def callback_changes_audited():
    """SEC-1 for callbacks: checked after every test of this module."""
    yield
    assert_callback_changes_audited()


def dont_know(question: dict) -> dict:
    """Someone who says so when he does not know."""
    return {"question_id": question["key"], "text": "不清楚"}


@pytest.mark.rule("CB-8")
@pytest.mark.rule("LED-2")
@pytest.mark.parametrize("party", ["referee", "referrer"])
def test_seed_example_truthful_answers_verify_and_post_the_reward(api, world, people, due_at_once,
                                                                  monkeypatch, party):
    rid = delivered_referral(api, world, people, party, monkeypatch)
    resp = claim(api)
    assert resp.status_code == 200, resp.json
    call = resp.json
    callee = people["li"] if party == "referee" else people["zhang"]
    assert call["callee"]["name"] == callee.name and call["callee"]["phone"] == callee.phone
    assert "张" in call["script"]["greeting"] and "李" in call["script"]["greeting"]
    assert 3 <= len(call["script"]["questions"]) <= 4
    plan = plan_of(rid)
    # how each answer is taken down: free text for open questions, yes/no otherwise
    assert [q["input"] for q in call["script"]["questions"]] == [
        "text" if q["kind"] == "open" else "yes_no" for q in plan.questions]
    resp = answer(api, call["id"], [truthful(q) for q in plan.questions])
    assert resp.status_code == 200 and resp.json == {"status": "recorded"}
    assert db.session.get(Referral, rid).status == "verified"
    payable = balances(api, f"customer:{people['zhang'].id}")["reward_payable"]
    assert payable == {"posted": 50000, "pending": 0, "available": 50000}


@pytest.mark.rule("CB-8")
@pytest.mark.rule("LED-9")
@pytest.mark.parametrize("party", ["referee", "referrer"])
def test_seed_example_clueless_callee_is_fraud_voids_and_penalises(api, world, people, due_at_once,
                                                                   monkeypatch, party):
    rid = delivered_referral(api, world, people, party, monkeypatch)
    call = claim(api).json
    plan = plan_of(rid)
    assert answer(api, call["id"], [clueless(q) for q in plan.questions]).status_code == 200
    referral = db.session.get(Referral, rid)
    assert referral.status == "fraudulent"
    payable = balances(api, f"customer:{people['zhang'].id}")["reward_payable"]
    assert payable == {"posted": 0, "pending": 0, "available": 0}
    penalty = balances(api, f"staff:{world['consultant'].id}")["penalty_receivable"]
    assert penalty["posted"] == 20000
    assert db.session.query(ReferrerFlag).filter_by(customer_id=people["zhang"].id).count() == 1
    # the flagged referrer's next referral goes to review (REG-5)
    from tests.flows import new_referee
    people["n"] = new_referee(world, "王小二", "13512345679")
    assert register(api, world, people, referee="n").json["status"] == "under_review"


@pytest.mark.rule("CB-8")
@pytest.mark.rule("CB-9")
@pytest.mark.parametrize("party", ["referee", "referrer"])
def test_dont_know_hands_over_to_the_other_party_whose_answers_decide(api, world, people, due_at_once,
                                                                       monkeypatch, party):
    """"Don't know" is not a wrong answer: the first callee could not say, so the other party is
    called about the first (like an unreachable callee); the other party's truthful answers verify."""
    rid = delivered_referral(api, world, people, party, monkeypatch)
    first = answer_next_call(api, rid, dont_know, T0 + timedelta(hours=2))
    assert set(first.grades.values()) == {"unknown"}
    referral = db.session.get(Referral, rid)
    assert referral.status == "awaiting_callback"
    second = plan_of(rid)
    other = "referrer" if party == "referee" else "referee"
    assert (second.sequence, second.party, second.status) == (2, other, "planned")
    assert second.subject_id == first.callee_id and second.callee_id == first.subject_id
    assert second.drawn["reason"] == "first callee could not say"
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=3))
    assert db.session.get(Referral, rid).status == "verified"
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"] == 50000
    # finance's evidence counts the attempts of both calls, and names the one that decided
    assert payout_of(api, rid)["evidence"]["callback"]["party"] == other
    assert payout_of(api, rid)["evidence"]["callback"]["attempts"] == 2


@pytest.mark.rule("CB-8")
def test_dont_know_on_the_last_call_counts_as_wrong(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_next_call(api, rid, dont_know, T0 + timedelta(hours=2))
    answer_next_call(api, rid, dont_know, T0 + timedelta(hours=3))
    assert db.session.get(Referral, rid).status == "fraudulent"
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"] == {
        "posted": 0, "pending": 0, "available": 0}
    assert db.session.query(Callback).filter_by(referral_id=rid).count() == 2  # no third call


def no_more_plans(monkeypatch):
    """From now on the store holds too few facts to plan a call about anyone."""
    def too_few(*args, **kwargs):
        raise planning.NotEnoughFacts("too few facts")
    monkeypatch.setattr(planning, "candidate_plans", too_few)


@pytest.mark.rule("CB-8")
@pytest.mark.rule("CB-9")
def test_dont_know_then_the_other_party_never_answers_is_still_fraud(api, world, people, due_at_once,
                                                                   monkeypatch):
    """Not picking up must not rescue a callee who could not say: when the other party is
    unreachable on every attempt, the first call decides with "don't know" counted as wrong."""
    from verification.callbacks.service import retry_unreachable
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"callback_attempts": 2})
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_next_call(api, rid, dont_know, T0 + timedelta(hours=2))
    for attempt in range(2):
        with time_machine.travel(T0 + timedelta(hours=3 + attempt), tick=False):
            call = api.as_("agent").post("callbacks/claim").json
            assert plan_of(rid).sequence == 2
            assert api.as_("agent").post(f"callbacks/{call['id']}/unreachable").status_code == 200
            assert retry_unreachable() == 1
            db.session.commit()
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "fraudulent"
    assert db.session.query(ReferrerFlag).filter_by(customer_id=people["zhang"].id).count() == 1


@pytest.mark.rule("CB-8")
def test_dont_know_when_the_other_party_cannot_be_asked_decides_on_the_first_call(api, world, people, due_at_once,
                                                                                   monkeypatch):
    """Too few facts on record to ask the other party: the first call is the last one."""
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    no_more_plans(monkeypatch)
    answer_next_call(api, rid, dont_know, T0 + timedelta(hours=2))
    assert db.session.get(Referral, rid).status == "fraudulent"
    assert db.session.query(Callback).filter_by(referral_id=rid).count() == 1


@pytest.mark.rule("CB-9")
def test_unreachable_and_the_other_party_cannot_be_asked_is_unverifiable(app, api, world, people, due_at_once,
                                                                         monkeypatch):
    from verification.callbacks import service
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"callback_attempts": 1})
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    no_more_plans(monkeypatch)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert api.as_("agent").post(f"callbacks/{call['id']}/unreachable").status_code == 200
        assert service.retry_unreachable() == 1
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "unverifiable"


@pytest.mark.rule("CB-5")
def test_reviews_of_a_first_call_that_handed_over_leave_the_queue(api, world, people, due_at_once, monkeypatch):
    """Two "don't know"s and a vague answer: the first call is inconclusive whatever the review
    says, so no manager is asked to review it; the other party's call decides."""
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    shape = {}

    def two_unknown_one_vague(question):
        if question["kind"] == "open" and "vague" not in shape:
            shape["vague"] = question["key"]
            return undecided(question)
        if len([k for k in shape if k.startswith("dk")]) < 2:
            shape[f"dk{len(shape)}"] = question["key"]
            return dont_know(question)
        return truthful(question)
    first = answer_next_call(api, rid, two_unknown_one_vague, T0 + timedelta(hours=2))
    assert sorted(first.grades.values()).count("unknown") == 2 and "undecided" in first.grades.values()
    assert db.session.query(AnswerReview).count() == 1   # on record for replay,
    assert api.as_("manager").get("reviews").json["items"] == []  # but nobody's work any more
    assert plan_of(rid).sequence == 2
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=3))
    assert db.session.get(Referral, rid).status == "verified"


@pytest.mark.rule("CB-8")
def test_one_dont_know_among_right_answers_verifies_on_the_first_call(api, world, people, due_at_once,
                                                                      monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    first = [True]

    def mostly_truthful(question):
        if first and question["kind"] == "open":
            first.clear()
            return dont_know(question)
        return truthful(question)
    answer_next_call(api, rid, mostly_truthful, T0 + timedelta(hours=2))
    assert db.session.get(Referral, rid).status == "verified"
    assert db.session.query(Callback).filter_by(referral_id=rid).count() == 1


@pytest.mark.rule("CB-8")
def test_two_wrong_decide_fraud_even_with_an_undecided_answer(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    plan = plan_of(rid)
    opens = [q for q in plan.questions if q["kind"] == "open"]
    statements = [q for q in plan.questions if q["kind"] != "open"]
    answers = [undecided(opens[0])] + [truthful(q) for q in opens[1:]]
    answers += [{"question_id": q["key"], "confirmed": q["kind"] == "trap", "text": "不是"} for q in statements[:2]]
    answers += [truthful(q) for q in statements[2:]]
    answer(api, call["id"], answers)
    assert db.session.get(Referral, rid).status == "fraudulent"
    assert db.session.query(AnswerReview).count() == 1


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("blank", [{"confirmed": False}, {"confirmed": False, "text": "  "}, {}, {"text": ""}])
def test_a_no_or_an_answer_without_what_was_said_is_refused(api, world, people, due_at_once, monkeypatch, blank):
    """A denial counts only with its correction; the agent writes what was said, 不知道 included."""
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    plan = plan_of(rid)
    answers = [truthful(q) for q in plan.questions]
    statement = next(i for i, q in enumerate(plan.questions) if q["kind"] != "open")
    key = plan.questions[statement]["key"]
    answers[statement] = {"question_id": key, **blank}
    resp = answer(api, call["id"], answers)
    assert resp.status_code == 422, resp.json
    assert resp.json["fields"] == {f"answers.{key}": [  # fields follow Accept-Language, Chinese by default
        "请记下客户的原话：选“否”时写下客户更正的内容；客户说不知道就写“不知道”。"]}
    db.session.expire_all()
    assert plan_of(rid).status == "claimed" and plan_of(rid).answers is None
    assert db.session.get(Referral, rid).status == "awaiting_callback"
    # written down, the same denial is taken (and graded: a true statement denied is wrong)
    answers[statement] = {"question_id": key, "confirmed": False, "text": "不知道"}
    assert answer(api, call["id"], answers).status_code == 200


@pytest.mark.rule("CB-5")
def test_undecided_answer_goes_to_a_manager_not_involved(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_for_review(api, rid)
    review = db.session.query(AnswerReview).one()
    assert db.session.get(Referral, rid).status == "awaiting_callback"
    # the consultant registered it, manager acknowledged it, manager2 checked the delivery: none of
    # them decides its answers (a friendly duty manager must not turn a fake into "verified")
    for involved in ("manager", "manager2"):
        assert api.as_(involved).get("reviews").json["items"] == []
        assert api.as_(involved).post(f"reviews/{review.id}", json={"decision": "correct"}).status_code == 403
    directory.create_staff(None, username="manager3", display_name="Manager3", role="manager",
                           store_id=world.store.id, password=PASSWORD)
    db.session.commit()
    listed = api.as_("manager3").get("reviews").json["items"]
    assert [r["id"] for r in listed] == [review.id]
    assert api.as_("manager3").post(f"reviews/{review.id}", json={"decision": "correct"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "verified"


@pytest.mark.rule("CB-8")
def test_undecided_answer_that_cannot_change_the_outcome_does_not_hold_it_up(api, world, people, due_at_once,
                                                                           monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    plan = plan_of(rid)
    answers = [truthful(q) for q in plan.questions]
    open_q = next(i for i, q in enumerate(plan.questions) if q["kind"] == "open")
    answers[open_q] = undecided(plan.questions[open_q])
    answer(api, call["id"], answers)
    assert db.session.get(Referral, rid).status == "verified"
    assert api.as_("manager").get("reviews").json["items"] == []


@pytest.mark.rule("CB-4")
def test_showroom_never_sees_the_plan(api, world, people, monkeypatch):
    rid = delivered_referral(api, world, people, None, monkeypatch)
    plan = plan_of(rid)
    secrets_ = {plan.due_at.isoformat()} | {q["text_zh"] for q in plan.questions}
    for who in ("consultant", "manager", "manager2"):
        body = api.as_(who).get(f"referrals/{rid}").get_data(as_text=True)
        listing = api.as_(who).get("referrals").get_data(as_text=True)
        for text in (body, listing):
            assert "callee" not in text and "questions" not in text and "due" not in text
            assert not any(s in text for s in secrets_)
    events = db.session.query(AuditEvent).filter_by(entity="callback").all()
    for event in events:
        assert "questions" not in str(event.after) and "true_value" not in str(event.after)


KEY_FIELDS = {"true_value", "asked_value", "kind", "trap", "truth", "expects", "answer", "key", "grades"}


def _keys(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keys(v)
    elif isinstance(node, list):
        for v in node:
            yield from _keys(v)


@pytest.mark.rule("CB-5")
def test_agent_payload_carries_no_answer_key(api, world, people, due_at_once, monkeypatch):
    from verification.callbacks.schemas import AgentCallbackSchema
    declared = set()
    stack = [AgentCallbackSchema()]
    while stack:
        schema = stack.pop()
        for name, field in schema.fields.items():
            declared.add(name)
            inner = getattr(field, "schema", None)
            if inner is not None:
                stack.append(inner)
    assert not declared & KEY_FIELDS
    delivered_referral(api, world, people, None, monkeypatch)
    payload = claim(api).json
    assert not set(_keys(payload)) & KEY_FIELDS, payload


@pytest.mark.rule("CB-6")
def test_agent_dials_the_phone_on_record_not_the_claimed_one(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referrer", monkeypatch)
    call = claim(api).json
    assert call["callee"]["phone"] == "+8613800138000" == people["zhang"].phone
    assert db.session.get(Referral, rid).claim_referrer_phone == people["zhang"].phone


@pytest.mark.rule("CB-7")
def test_everything_drawn_is_stored_for_replay(api, world, people, due_at_once, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    plan = plan_of(rid)
    answer(api, call["id"], [truthful(q) for q in plan.questions])
    plan = plan_of(rid)
    assert plan.party == "referee" and plan.callee_id == people["li"].id
    assert plan.drawn["callee"] == "referee" and plan.drawn["window"]["timezone"] == "Asia/Shanghai"
    for q in plan.questions:
        assert q["true_value"] and q["text_zh"]
        if q["kind"] == "trap":
            assert q["asked_value"] and q["asked_value"] != q["true_value"]
    assert set(plan.grades) == {q["key"] for q in plan.questions}
    assert plan.answered_by_id == world["agent"].id
    assert len(plan.answers) == len(plan.questions)


@pytest.mark.rule("CB-9")
def test_unreachable_retries_then_other_party_then_unverifiable(app, api, world, people, due_at_once,
                                                               monkeypatch):
    from verification.callbacks.service import retry_unreachable
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    parties = []
    for _ in range(6):
        call = claim(api).json
        parties.append(plan_of(rid).party)
        with time_machine.travel(T0 + timedelta(hours=2), tick=False):
            assert api.as_("agent").post(f"callbacks/{call['id']}/unreachable").status_code == 200
            assert retry_unreachable() == 1
            db.session.commit()
    assert parties == ["referee"] * 3 + ["referrer"] * 3
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "unverifiable"
    assert balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["pending"] == 0
    assert claim(api).status_code == 204


@pytest.mark.rule("CB-9")
def test_second_party_is_asked_about_the_first(api, world, people, due_at_once, monkeypatch):
    from verification.callbacks.service import retry_unreachable
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"callback_attempts": 1})
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        api.as_("agent").post(f"callbacks/{call['id']}/unreachable")
        retry_unreachable()
        db.session.commit()
    second = plan_of(rid)
    assert second.party == "referrer" and second.subject_id == people["li"].id
    call = claim(api).json
    assert call["callee"]["name"] == "张三"
    answer(api, call["id"], [truthful(q) for q in second.questions])
    assert db.session.get(Referral, rid).status == "verified"


def test_only_the_holder_may_answer_and_nothing_is_due_twice(api, world, people, due_at_once, monkeypatch):
    delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    assert claim(api, "agent_b").status_code == 204  # another store's agent sees nothing
    assert answer(api, call["id"], [], who="agent").status_code == 422
    resp = answer(api, call["id"], [{"question_id": "q9", "confirmed": True}])
    assert resp.status_code == 422 and "answers" in resp.json["fields"]


@pytest.mark.rule("SEC-2")
def test_roles_outside_the_queue_are_refused(api, world, people, due_at_once, monkeypatch):
    delivered_referral(api, world, people, "referee", monkeypatch)
    for who in ("consultant", "manager", "finance"):
        assert claim(api, who).status_code == 403


def test_lease_expiry_returns_the_call_to_the_queue(app, api, world, people, due_at_once, monkeypatch):
    from verification.callbacks.service import release_expired_leases
    extra = {"username": "agent2", "display_name": "Agent 2", "role": "agent", "store_id": world.store.id,
             "password": "test-pass-1234"}
    assert api.as_("admin").post("staff", json=extra).status_code == 201
    delivered_referral(api, world, people, "referee", monkeypatch)
    first = claim(api).json
    assert claim(api, "agent2").status_code == 204
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert release_expired_leases() == 1
        db.session.commit()
        resp = api.as_("agent2").post("callbacks/claim")
    assert resp.status_code == 200 and resp.json["id"] == first["id"]


@pytest.mark.rule("CB-2")
def test_due_time_respects_the_window_and_calling_hours(api, world, people, monkeypatch):
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    plan = plan_of(rid)
    delivered = T0 + timedelta(hours=1)
    assert delivered + timedelta(hours=24) <= plan.due_at <= delivered + timedelta(hours=72) + timedelta(hours=14)
    local = plan.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert "09:00" <= local.strftime("%H:%M") < "20:00"
    assert claim(api).status_code == 204  # not due yet


def test_ten_agents_claim_ten_different_callbacks(app, api, world, people, due_at_once, monkeypatch, pg_only):
    from loyalty.directory import service as directory
    from tests.flows import new_referee
    for i in range(10):
        directory.create_staff(None, username=f"agent{i:02d}", display_name=f"Agent {i}", role="agent",
                               store_id=world.store.id, password="test-pass-1234")
    db.session.commit()
    for i in range(10):
        people[f"n{i}"] = new_referee(world, f"客户{i}", f"1352222000{i}")
        delivered_referral(api, world, people, "referee", monkeypatch, referee=f"n{i}")
    tokens = [api.token(f"agent{i:02d}") for i in range(10)]

    def take(token):
        resp = app.test_client().post("/api/v1/callbacks/claim", headers={"Authorization": f"Bearer {token}"})
        return resp.get_json()["id"]

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        got = at_once([lambda t=t: take(t) for t in tokens])
    assert len(got) == 10 and len(set(got)) == 10


@pytest.mark.rule("CB-9")
def test_three_schedulers_retry_each_unreachable_once(app, api, world, people, due_at_once, monkeypatch, pg_only):
    from loyalty.scheduler import run_job
    from tests.flows import new_referee
    ids = []
    for i in range(5):
        people[f"n{i}"] = new_referee(world, f"客户{i}", f"1353333000{i}")
        delivered_referral(api, world, people, "referee", monkeypatch, referee=f"n{i}")
        call = claim(api).json
        with time_machine.travel(T0 + timedelta(hours=2), tick=False):
            api.as_("agent").post(f"callbacks/{call['id']}/unreachable")
        ids.append(call["id"])
    done = at_once([lambda: run_job(app, "retry_unreachable_callbacks")] * 3)
    assert sum(run.done for run in done) == 5
    db.session.expire_all()
    rescheduled = db.session.query(AuditEvent).filter_by(entity="callback", action="rescheduled").count()
    assert rescheduled == 5
    assert {c.status for c in db.session.query(Callback).all()} == {"planned"}


def test_customer_page_shows_the_reward_and_points_link(app, api, world, people, due_at_once, monkeypatch):
    from tests.web import Browser, login
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    answer(api, call["id"], [truthful(q) for q in plan_of(rid).questions])
    browser = Browser(app)
    assert login(browser, "manager").status_code == 302
    html = browser.get(f"/customers/{people['zhang'].id}").get_data(as_text=True)
    assert "应付推荐奖励" in html and "¥500.00" in html
    assert f"/customers/{people['zhang'].id}/points" in html


def test_referral_page_names_the_reason_in_chinese(app, api, world, people, due_at_once, monkeypatch):
    from tests.web import Browser, login
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    call = claim(api).json
    answer(api, call["id"], [clueless(q) for q in plan_of(rid).questions])
    browser = Browser(app)
    assert login(browser, "consultant").status_code == 302
    html = browser.get(f"/referrals/{rid}").get_data(as_text=True)
    assert "作假" in html and "回访判定推荐作假" in html


@pytest.mark.rule("CB-3")
@pytest.mark.parametrize("party", ["referee", "referrer"])
def test_both_cars_are_planned_as_known_to_a_fake(api, world, people, due_at_once, monkeypatch, party):
    """The claim names the old customer's car and the consultant sold the new one: whoever is asked
    about, model and colour are weighed as facts a coached fake could know (recorded for replay);
    the checking manager also saw the referrer's vehicle on record, gearbox included (CB-11)."""
    rid = delivered_referral(api, world, people, party, monkeypatch)
    plan = plan_of(rid)
    assert plan.party == party
    assert plan.drawn["disclosed"] == (["colour", "model", "transmission"] if party == "referee"
                                       else ["colour", "model"])


def test_question_bank_page_names_facts_in_chinese_and_adds_a_question(app, world):
    from tests.web import Browser, login, post_form
    browser = Browser(app)
    assert login(browser, "admin").status_code == 302
    html = browser.get("/admin/questions").get_data(as_text=True)
    assert "请问{who}是做什么工作的?" in html  # the shipped occupation question
    assert "<td>职业</td>" in html and "<td>开放式问题</td>" in html
    assert '<option value="occupation">职业</option>' in html
    resp = post_form(browser, "/admin/questions", {
        "code": "open_occupation_2", "kind": "open", "fact": "occupation",
        "text_zh": "{who}平时做哪一行?", "text_en": "What line of work is {who} in?"})
    assert resp.status_code == 302
    html = browser.get("/admin/questions").get_data(as_text=True)
    assert "{who}平时做哪一行?" in html


@pytest.mark.rule("SEC-1")
@pytest.mark.rule("CB-9")
def test_every_callback_change_is_audited_with_before_and_after(app, api, world, people, due_at_once,
                                                                 monkeypatch):
    """Claimed, released when the lease runs out, unreachable, rescheduled, exhausted, planned for the
    other party, answered, and the other callbacks cancelled by the verdict: each an event with the
    status before and after (the autouse check follows the chain)."""
    from verification.callbacks.service import release_expired_leases, retry_unreachable
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"callback_attempts": 1})
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    first = claim(api).json
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert release_expired_leases() == 1
        db.session.commit()
        assert api.as_("agent").post("callbacks/claim").json["id"] == first["id"]
        assert api.as_("agent").post(f"callbacks/{first['id']}/unreachable").status_code == 200
        assert retry_unreachable() == 1
        db.session.commit()
    second = plan_of(rid)
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=4))
    assert db.session.get(Referral, rid).status == "verified"
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(entity="callback", entity_id=str(first["id"]))
               .order_by(AuditEvent.seq)]
    assert actions == ["planned", "claimed", "lease_released", "claimed", "unreachable", "exhausted"]
    last = db.session.query(AuditEvent).filter_by(entity="callback", entity_id=str(second.id)) \
        .order_by(AuditEvent.seq.desc()).first()
    assert (last.action, last.before["status"], last.after["status"]) == ("answered", "claimed", "answered")
    assert "questions" not in str(last.after) and "true_value" not in str(last.after)  # CB-4


@pytest.mark.rule("SEC-1")
def test_a_decided_referral_cancels_its_other_calls_with_an_event_each(api, world, people, due_at_once,
                                                                         monkeypatch):
    """The verdict cancels the calls still open (here a second plan made by hand), each audited."""
    from verification.callbacks import plans
    from verification.referrals import service as referrals
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        first = plan_of(rid)
        other = plans.plan_call(None, referrals.lock(rid), "referrer", 2, T0 + timedelta(hours=5), only=True)
        db.session.commit()
    call = claim(api).json  # the first plan: the other one is due later
    assert call["id"] == first.id != other.id
    assert answer(api, first.id, [truthful(q) for q in first.questions]).status_code == 200
    assert db.session.get(Referral, rid).status == "verified"
    event = db.session.query(AuditEvent).filter_by(entity="callback", entity_id=str(other.id),
                                                   action="cancelled").one()
    assert (event.before["status"], event.after["status"], event.after["why"]) == (
        "planned", "cancelled", "referral decided")


def test_planning_asks_only_what_the_bank_holds(api, world, people, due_at_once, monkeypatch):
    """The shipped defaults reach the bank's table on first use, and planning draws from the table:
    a template the admin retired is never asked (one source, not the code and the table both)."""
    from verification.callbacks.models import QuestionTemplate
    from verification.callbacks.planning import DEFAULT_TEMPLATES
    bank = {q["code"]: q for q in api.as_("admin").get("questions").json["items"]}
    assert set(bank) == {t.code for t in DEFAULT_TEMPLATES}
    retired = {"open_employer", "stmt_employer", "open_home_district", "stmt_car"}
    for code in retired:
        resp = api.as_("admin").patch(f"questions/{bank[code]['id']}", json={"active": False})
        assert resp.status_code == 200, resp.json
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    asked = {q["template_code"] for q in plan_of(rid).questions}
    assert asked and not asked & retired
    assert db.session.query(QuestionTemplate).count() == len(DEFAULT_TEMPLATES)  # copied once, not twice


def test_the_claim_reads_only_the_callbacks_table(api, world, people, due_at_once, monkeypatch):
    """Issue 16: the queue query locks one callback on an index of its filter and order, with no
    eager joins through referral, customers, stores and policies (they cost 18 joins per claim)."""
    from sqlalchemy import event
    delivered_referral(api, world, people, "referee", monkeypatch)
    seen: list[str] = []

    def remember(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert claim(api).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    queue = [s for s in seen if "FROM callbacks" in s and "due_at <=" in s]
    assert len(queue) == 1 and " JOIN " not in queue[0], queue
    assert " JOIN " not in next(s for s in seen if "FROM callbacks" in s and "claimed_by_id =" in s)
