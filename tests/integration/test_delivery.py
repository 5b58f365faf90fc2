"""The delivery check (DEL-1, DEL-2, REG-1, REG-2)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from loyalty.extensions import db
from tests.helpers import at_once, count_rows
from tests.integration.test_referrals import CLAIM, people, register  # noqa: F401  (fixture)
from verification.referrals.models import DeliveredVehicle, Referral

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
LICENCE = {"owner_name": "张三", "plate": "沪A12345", "model": "速腾", "vin": "LFV2A21K8E4123456", "colour": "白色"}
VEHICLE = {"model": "高尔夫", "colour": "红色", "transmission": "manual"}


@pytest.fixture
def acknowledged(api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people).json["id"]
        assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 200
    return rid


def deliver(api, rid, who="manager2", delivered_at=None, licence=None, vehicle=None):
    body = {"delivered_at": (delivered_at or T0 + timedelta(days=3)).isoformat(),
            "vehicle": vehicle or dict(VEHICLE), "licence": licence or dict(LICENCE)}
    with time_machine.travel(T0 + timedelta(days=3, hours=1), tick=False):
        return api.as_(who).post(f"referrals/{rid}/delivery", json=body)


def reward_accounts(api, people):
    resp = api.as_("admin").get(f"ledger/accounts?owner=customer:{people['zhang'].id}")
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


@pytest.mark.rule("DEL-2")
def test_matching_licence_reserves_the_reward_and_awaits_callback(api, world, people, acknowledged):
    resp = deliver(api, acknowledged)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "awaiting_callback"
    assert resp.json["checks"] == {"referrer_name": "match", "referrer_phone": "match", "plate": "match",
                                   "model": "match", "vin": "match", "colour": "match"}
    accounts = reward_accounts(api, people)
    payable = [a for a in accounts if a["purpose"] == "reward_payable"]
    assert payable and payable[0]["balance"]["pending"] == 50000 and payable[0]["balance"]["posted"] == 0
    referral = db.session.get(Referral, acknowledged)
    assert referral.reward_amount == 50000 and referral.reward_unit == "CNY"
    li_cars = api.as_("admin").get(f"customers/{people['li'].id}").json["vehicles"]  # SEC-5: admins read cars
    assert [(c["model"], c["colour"], c["transmission"]) for c in li_cars] == [("高尔夫", "红色", "manual")]
    assert count_rows(DeliveredVehicle) == 1


@pytest.mark.rule("DEL-2")
@pytest.mark.parametrize("licence", [
    {"owner_name": "张 三", "plate": "沪a·12345", "model": "Sagitar", "colour": "white"},
    {"owner_name": "张三", "plate": "沪A 12345", "model": "一汽-大众 速腾", "colour": "白"},
    {"owner_name": "张三", "plate": "沪Ａ１２３４５", "model": "ＳＡＧＩＴＡＲ"},
])
def test_spelling_variants_still_match(api, world, people, acknowledged, licence):
    resp = deliver(api, acknowledged, licence=licence)
    assert resp.json["status"] == "awaiting_callback", resp.json
    assert resp.json["checks"]["vin"] == "missing"


@pytest.mark.rule("DEL-2")
@pytest.mark.parametrize("field, value", [
    ("owner_name", "张四"), ("plate", "沪A54321"), ("model", "捷达"), ("colour", "黑色"),
    ("vin", "LFV2A21K8E4999999"),
])
def test_any_mismatch_rejects(api, world, people, acknowledged, field, value):
    licence = {**LICENCE, field: value}
    resp = deliver(api, acknowledged, licence=licence)
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "rejected" and resp.json["reason"] == "licence_mismatch"
    expected_field = {"owner_name": "referrer_name"}.get(field, field)
    assert resp.json["checks"][expected_field] == "mismatch"
    assert count_rows(DeliveredVehicle) == 0
    assert not [a for a in reward_accounts(api, people) if a["balance"]["pending"]]


@pytest.mark.rule("DEL-2")
def test_claimed_colour_or_phone_wrong_rejects(api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people, claim={**CLAIM, "referrer_colour": "黑色"}).json["id"]
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    resp = deliver(api, rid)
    assert resp.json["reason"] == "licence_mismatch" and resp.json["checks"]["colour"] == "mismatch"


@pytest.mark.rule("CB-6")
def test_claimed_phone_is_compared_with_the_phone_on_record(api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people, claim={**CLAIM, "referrer_phone": "13811112222"}).json["id"]
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    resp = deliver(api, rid)
    assert resp.json["status"] == "rejected" and resp.json["checks"]["referrer_phone"] == "mismatch"


@pytest.mark.rule("REG-2")
def test_delivery_before_registration_is_a_late_claim(api, world, people, acknowledged):
    resp = deliver(api, acknowledged, delivered_at=T0 - timedelta(hours=1))
    assert resp.json["status"] == "rejected" and resp.json["reason"] == "late_claim"


@pytest.mark.rule("REG-2")
def test_referee_with_recorded_delivery_cannot_be_registered(api, world, people, acknowledged):
    assert deliver(api, acknowledged).json["status"] == "awaiting_callback"
    referral = db.session.get(Referral, acknowledged)
    referral.status = "unverifiable"  # no longer live, but the car was delivered
    db.session.commit()
    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        resp = register(api, world, people, who="manager")
    assert resp.status_code == 422 and resp.json["code"] == "late_claim"


@pytest.mark.rule("REG-1")
def test_unacknowledged_referral_cannot_pass(api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people).json["id"]
    resp = deliver(api, rid)
    assert resp.status_code == 409 and resp.json["code"] == "not_acknowledged"
    assert db.session.get(Referral, rid).status == "registered"


@pytest.mark.rule("DEL-1")
def test_registrant_cannot_check_their_own_referral(api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people, who="manager").json["id"]
        api.as_("manager2").post(f"referrals/{rid}/acknowledge")
    resp = deliver(api, rid, who="manager")
    assert resp.status_code == 403 and resp.json["code"] == "checker_is_registrant"
    assert deliver(api, rid, who="manager2").json["status"] == "awaiting_callback"


@pytest.mark.rule("SEC-2")
def test_consultant_and_other_store_cannot_check(api, world, people, acknowledged):
    assert deliver(api, acknowledged, who="consultant").status_code == 403
    assert deliver(api, acknowledged, who="manager_b").status_code == 404


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("patch", [
    {"delivered_at": "yesterday"}, {"delivered_at": "2026-11-04T10:00:00"},  # not aware
    {"vehicle": {"model": "高尔夫"}}, {"licence": {"plate": "沪A12345"}},
    {"vehicle": {**VEHICLE, "transmission": "cvt"}},
])
def test_bad_delivery_bodies_write_nothing(api, world, people, acknowledged, patch):
    body = {"delivered_at": (T0 + timedelta(days=3)).isoformat(), "vehicle": VEHICLE, "licence": LICENCE, **patch}
    resp = api.as_("manager2").post(f"referrals/{acknowledged}/delivery", json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["fields"]
    assert db.session.get(Referral, acknowledged).status == "registered"
    assert count_rows(DeliveredVehicle) == 0


def test_delivery_in_the_future_is_refused(api, world, people, acknowledged):
    resp = deliver(api, acknowledged, delivered_at=T0 + timedelta(days=30))
    assert resp.status_code == 422 and "delivered_at" in resp.json["fields"]


@pytest.mark.rule("DEL-2")
def test_two_managers_checking_at_once_reserve_once(app, api, world, people, acknowledged, pg_only):
    tokens = [api.token("manager2"), api.token("admin")]
    body = {"delivered_at": (T0 + timedelta(days=3)).isoformat(), "vehicle": VEHICLE, "licence": LICENCE}

    def attempt(token):
        return app.test_client().post(f"/api/v1/referrals/{acknowledged}/delivery", json=body,
                                      headers={"Authorization": f"Bearer {token}"}).status_code

    results = at_once([lambda t=t: attempt(t) for t in tokens])
    assert sorted(results) == [200, 409]
    db.session.expire_all()
    payable = [a for a in reward_accounts(api, people) if a["purpose"] == "reward_payable"]
    assert payable[0]["balance"]["pending"] == 50000
    assert count_rows(DeliveredVehicle) == 1
