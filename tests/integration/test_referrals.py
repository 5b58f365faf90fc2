"""Registration, acknowledgement, review and expiry (REG-1..REG-6)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine

from loyalty.audit.models import AuditEvent
from loyalty.directory import service as directory
from loyalty.extensions import db
from tests.flows import CLAIM, new_referee, register
from tests.helpers import at_once, count_rows
from verification.referrals.models import Referral, ReferrerFlag


@pytest.mark.rule("REG-1")
def test_registration_records_server_time_and_status(api, world, people):
    at = datetime(2026, 11, 20, 3, 4, 5, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        resp = register(api, world, people)
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "registered"
    referral = db.session.get(Referral, resp.json["id"])
    assert referral.registered_at == at
    assert referral.registered_by_id == world["consultant"].id


@pytest.mark.rule("REG-1")
def test_client_cannot_set_registered_at(api, world, people):
    resp = register(api, world, people, registered_at="2020-01-01T00:00:00Z")
    assert resp.status_code == 422
    assert "registered_at" in resp.json["fields"]
    assert count_rows(Referral) == 0


@pytest.mark.rule("REG-1")
def test_acknowledgement_has_its_own_time_and_manager(api, world, people):
    with time_machine.travel(datetime(2026, 11, 20, 1, tzinfo=UTC), tick=False):
        rid = register(api, world, people).json["id"]
    ack_at = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
    with time_machine.travel(ack_at, tick=False):
        resp = api.as_("manager").post(f"referrals/{rid}/acknowledge")
    assert resp.status_code == 200, resp.json
    referral = db.session.get(Referral, rid)
    assert referral.acknowledged_at == ack_at and referral.acknowledged_by_id == world["manager"].id
    assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 409


@pytest.mark.rule("SEC-2")
def test_consultant_cannot_acknowledge(api, world, people):
    rid = register(api, world, people).json["id"]
    assert api.as_("consultant").post(f"referrals/{rid}/acknowledge").status_code == 403
    assert api.as_("manager_b").post(f"referrals/{rid}/acknowledge").status_code == 404


@pytest.mark.rule("REG-3")
@pytest.mark.parametrize("case", ["same_customer", "claimed_phone_is_referee", "same_national_id"])
def test_self_referral_refused_and_nothing_written(api, world, people, case):
    referee, claim = "li", dict(CLAIM)
    if case == "same_customer":
        referee = "zhang"
    elif case == "claimed_phone_is_referee":
        claim["referrer_phone"] = "139 0013 9000"
    else:
        twin = directory.create_customer(None, store_id=world.store.id, name="张三丰", phone="13600136000",
                                         national_id="310115198001011238")
        db.session.commit()
        people = {**people, "twin": twin}
        referee = "twin"
    events = count_rows(AuditEvent)
    resp = register(api, world, people, referee=referee, claim=claim)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "self_referral"
    assert count_rows(Referral) == 0 and count_rows(AuditEvent) == events


@pytest.mark.rule("REG-4")
def test_second_live_claim_names_the_first(api, world, people):
    first = register(api, world, people).json["id"]
    resp = register(api, world, people, who="manager")
    assert resp.status_code == 409
    assert resp.json["code"] == "referee_has_live_referral"
    assert resp.json["fields"]["referral_id"] == [str(first)]
    assert count_rows(Referral) == 1


@pytest.mark.rule("REG-4")
def test_rejected_referral_frees_the_referee(api, world, people):
    first = register(api, world, people).json["id"]
    referral = db.session.get(Referral, first)
    referral.status = "rejected"
    db.session.commit()
    assert register(api, world, people).status_code == 201


@pytest.mark.rule("REG-4")
def test_concurrent_registrations_of_one_referee(app, api, world, people, pg_only):
    tokens = [api.token("consultant"), api.token("manager"), api.token("manager2")]
    body = {"store_id": world.store.id, "referrer_id": people["zhang"].id, "referee_id": people["li"].id,
            "claim": CLAIM}

    def attempt(token):
        resp = app.test_client().post("/api/v1/referrals", json=body, headers={"Authorization": f"Bearer {token}"})
        return resp.status_code, resp.get_json()

    results = at_once([lambda t=tokens[i % 3]: attempt(t) for i in range(10)])
    codes = sorted(code for code, _ in results)
    assert codes == [201] + [409] * 9, results
    winner = next(body for code, body in results if code == 201)["id"]
    for code, body in results:
        if code == 409:
            assert body["code"] == "referee_has_live_referral"
            assert body["fields"]["referral_id"] == [str(winner)]
    db.session.expire_all()
    assert count_rows(Referral) == 1


@pytest.mark.rule("REG-5")
def test_velocity_sends_the_next_referral_to_review(api, world, people):
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"velocity_limit": 2})
    statuses = []
    for i in range(3):
        referee = new_referee(world, f"新客{i}", f"1351234567{i}")
        people[f"n{i}"] = referee
        statuses.append(register(api, world, people, referee=f"n{i}").json["status"])
    assert statuses == ["registered", "registered", "under_review"]
    assert db.session.execute(db.select(Referral).order_by(Referral.id.desc())).scalars().first() \
        .review_required == "velocity"


@pytest.mark.rule("REG-5")
def test_velocity_window_forgets_old_referrals(api, world, people):
    api.as_("admin").put(f"stores/{world.store.id}/policy", json={"velocity_limit": 1, "velocity_window_days": 30})
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=False):
        assert register(api, world, people).json["status"] == "registered"
    people["n"] = new_referee(world, "新客", "13512345670")
    with time_machine.travel(datetime(2026, 11, 1, tzinfo=UTC), tick=False):
        assert register(api, world, people, referee="n").json["status"] == "registered"


@pytest.mark.rule("REG-5")
def test_flagged_referrer_goes_to_review(api, world, people):
    db.session.add(ReferrerFlag(customer_id=people["zhang"].id, reason="fraudulent referral 1"))
    db.session.commit()
    resp = register(api, world, people)
    assert resp.json["status"] == "under_review"
    assert db.session.get(Referral, resp.json["id"]).review_required == "referrer_flagged"


@pytest.mark.rule("REG-5")
def test_review_accept_and_reject(api, world, people):
    db.session.add(ReferrerFlag(customer_id=people["zhang"].id, reason="earlier fraud"))
    db.session.commit()
    rid = register(api, world, people).json["id"]
    # the registrant cannot review their own registration
    own = register(api, world, {**people, "x": new_referee(world, "甲", "13512340000")}, who="manager",
                   referee="x").json["id"]
    assert api.as_("manager").post(f"referrals/{own}/review", json={"decision": "accept"}).status_code == 403
    # a rejection needs a reason
    resp = api.as_("manager").post(f"referrals/{rid}/review", json={"decision": "reject"})
    assert resp.status_code == 422 and "reason" in resp.json["fields"]
    resp = api.as_("manager").post(f"referrals/{rid}/review", json={"decision": "reject", "reason": "老客户不认识"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected"
    assert resp.json["reason"] == "review_rejected" and resp.json["review_reason"] == "老客户不认识"
    resp = api.as_("manager2").post(f"referrals/{own}/review", json={"decision": "accept"})
    assert resp.status_code == 200 and resp.json["status"] == "registered"
    assert api.as_("consultant").post(f"referrals/{own}/review", json={"decision": "accept"}).status_code == 403


@pytest.mark.rule("REG-6")
def test_expiry_after_registration_window(app, api, world, people):
    from verification.referrals.service import expire_stale
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        rid = register(api, world, people).json["id"]
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=89), tick=False):
        assert expire_stale() == 0
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=90, seconds=1), tick=False):
        assert expire_stale() == 1
        db.session.commit()
        assert expire_stale() == 0
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "expired"
    # the referee is free again
    assert register(api, world, people).status_code == 201


@pytest.mark.rule("REG-6")
def test_three_expiry_runs_at_once_expire_once(app, api, world, people, pg_only):
    from loyalty.scheduler import run_job
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        for i in range(6):
            people[f"n{i}"] = new_referee(world, f"客{i}", f"1351111000{i}")
            register(api, world, people, referee=f"n{i}")
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        done = at_once([lambda: run_job(app, "expire_referrals")] * 3)
    assert sum(run.done for run in done) == 6
    db.session.expire_all()
    expired_events = db.session.query(AuditEvent).filter_by(entity="referral", action="expired").count()
    assert expired_events == 6


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("body, field", [
    ({"referrer_id": "x"}, "referrer_id"),
    ({"referee_id": 999999}, "referee_id"),
    ({"claim": {"referrer_name": "张三"}}, "referrer_phone"),
    ({"claim": "张三"}, "claim"),
    ({"store_id": None}, "store_id"),
])
def test_bad_registration_bodies_write_nothing(api, world, people, body, field):
    events = count_rows(AuditEvent)
    resp = register(api, world, people, **body)
    assert 400 <= resp.status_code < 500, resp.json
    flat = str(resp.json["fields"])
    assert field in flat, resp.json
    assert count_rows(Referral) == 0 and count_rows(AuditEvent) == events


@pytest.mark.rule("SEC-2")
def test_other_stores_ids_are_refused(api, world, people):
    resp = register(api, world, people, referee="other")
    assert resp.status_code in (404, 422) and count_rows(Referral) == 0
    resp = register(api, world, people, store_id=world.other_store.id)
    assert resp.status_code in (403, 404) and count_rows(Referral) == 0


def test_consultant_lists_only_their_referrals(api, world, people):
    register(api, world, people)
    people["n"] = new_referee(world, "新客", "13512345670")
    register(api, world, people, who="manager", referee="n")
    mine = api.as_("consultant").get("referrals").json
    assert [r["referee"]["name"] for r in mine["items"]] == ["李四"]
    assert mine["items"][0]["claim"]["referrer_phone"] == "138****8000"
    assert api.as_("manager").get("referrals").json["total"] == 2
    assert api.as_("manager_b").get("referrals").json["total"] == 0


@pytest.mark.rule("REG-1")
def test_a_manager_cannot_acknowledge_a_referral_he_registered(api, world, people):
    rid = register(api, world, people, who="manager").json["id"]
    resp = api.as_("manager").post(f"referrals/{rid}/acknowledge")
    assert resp.status_code == 403 and resp.json["code"] == "acknowledger_is_registrant"
    assert db.session.get(Referral, rid).acknowledged_at is None
    assert api.as_("manager2").post(f"referrals/{rid}/acknowledge").status_code == 200
