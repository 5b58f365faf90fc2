"""Fixtures that integration test modules share (defined once here, never imported from one
test module into another). The steps they take are in tests/flows.py."""
from __future__ import annotations

import pytest
import time_machine

from loyalty.extensions import db
from tests.flows import (
    AT_ONCE,
    CHECK_T0,
    ON_RECORD_SINCE,
    deliver,
    new_referee,
    payout_of,
    post,
    register,
    seed_people,
    verified_referral,
)


@pytest.fixture
def people(world, api):
    """The seed's 张三 (white automatic 速腾) and 李四, customers of store SH01.
    Tokens are issued first so their audit events don't count as the test's writes."""
    for username in ("consultant", "manager", "manager2", "manager_b", "admin"):
        api.token(username)
    with time_machine.travel(ON_RECORD_SINCE, tick=False):  # customers of long standing (CB-10)
        return seed_people(world)


@pytest.fixture
def due_at_once(api, world):
    resp = api.as_("admin").put(f"stores/{world.store.id}/policy", json=AT_ONCE)
    assert resp.status_code == 200, resp.json


@pytest.fixture
def acknowledged(api, world, people):
    with time_machine.travel(CHECK_T0, tick=False):
        rid = register(api, world, people).json["id"]
        assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 200
    return rid


@pytest.fixture
def sealed(api, world, people):
    """A referral whose referrer is on record with values that appear nowhere else: his name
    张叁 (the claim says 张三), a 'Sagitar' in 珍珠白 with plate 沪A12345 and VIN ...4123456."""
    zhang = people["zhang"]
    zhang.name = "张叁"
    car = zhang.vehicles[0]
    car.model, car.colour = "Sagitar", "珍珠白"
    db.session.commit()
    with time_machine.travel(CHECK_T0, tick=False):
        rid = register(api, world, people).json["id"]
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    resp = deliver(api, rid, licence={"owner_name": "张三", "plate": "沪a 12345", "model": "速腾", "colour": "白"})
    assert resp.json["reason"] == "licence_mismatch", resp.json  # 张三 is not 张叁
    return rid, resp


@pytest.fixture
def paid_reference() -> str:
    """The payment reference `two_payouts` pays the first with (a module may override it)."""
    return "微信-4200001"


@pytest.fixture
def two_payouts(api, world, people, due_at_once, monkeypatch, paid_reference):
    """Zhang San's two referrals: the first paid by WeChat Pay, the second awaiting approval."""
    first = payout_of(api, verified_referral(api, world, people, monkeypatch))
    assert post(api, "finance", f"payouts/{first['id']}/approve", "a1").status_code == 200
    assert post(api, "finance", f"payouts/{first['id']}/paid", "p1", method="wechat_pay",
                external_reference=paid_reference).status_code == 200
    people["n"] = new_referee(world, "王小二", "13512345679")
    second = payout_of(api, verified_referral(api, world, people, monkeypatch, referee="n"))
    return first, second
