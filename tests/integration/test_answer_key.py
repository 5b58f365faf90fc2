"""SEC-5: the answer key is sealed.

The verification facts (employer, home district, business, occupation) and the customers'
vehicles are what the callback asks about. A consultant may enter them and never reads them back:
not in the API, the pages, the exports, the audit views or an error body. These tests plant
distinctive values and crawl every GET route of the app as each role, then look for them; as an
admin the same crawl finds them (so the crawl can fail).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from loyalty.extensions import db
from tests.web import Browser, login, text
from verification.referrals import service as referrals

SECRET_FACTS = {"employer": "东海密钥科技公司", "home_district": "崇明区", "business": "海参养殖",
                "occupation": "潜水教练"}
SECRET_CAR = {"model": "途锐", "colour": "香槟金", "transmission": "automatic", "plate": "沪Z99999",
              "vin": "LSVZZZ7PZKA123456"}
NEWCOMER_FACTS = {"employer": "西岭密语贸易行", "home_district": "金山区", "occupation": "调香师"}
NEWCOMER_CAR = {"model": "辉昂", "colour": "琥珀橙", "transmission": "manual", "vin": "LSVYYY7PZKA654321"}
SECRETS = [*SECRET_FACTS.values(), *NEWCOMER_FACTS.values(), "途锐", "香槟金", "沪Z99999", "LSVZZZ7PZKA123456",
           "辉昂", "琥珀橙", "LSVYYY7PZKA654321"]


OWN_CAR = ["辉昂", "琥珀橙", "LSVYYY7PZKA654321"]  # the car the consultant typed himself: his to see


def leaks(body: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return [secret for secret in SECRETS if secret in body and secret not in allowed]


@pytest.fixture
def sealed(api, world):
    """An old customer whose facts and car an admin recorded, a new one whose facts and car the
    consultant typed himself, and a referral between them registered by the consultant."""
    for username in ("consultant", "manager", "agent", "finance", "service", "admin"):
        api.token(username)
    admin = api.as_("admin")
    old = admin.post("customers", json={"store_id": world.store.id, "name": "老王", "phone": "13611112222",
                                        "gender": "male", **SECRET_FACTS})
    assert old.status_code == 201, old.json
    car = admin.post(f"customers/{old.json['id']}/vehicles", json=SECRET_CAR)
    assert car.status_code == 201, car.json
    new = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "小赵", "phone": "13622223333", **NEWCOMER_FACTS})
    assert new.status_code == 201, new.json
    assert not leaks(str(new.json)), "the consultant's own create response echoes the facts he typed"
    own_car = api.as_("consultant").post(f"customers/{new.json['id']}/vehicles", json=NEWCOMER_CAR)
    assert own_car.status_code == 201
    # an admin put the old customer's own delivery on record (the DMS would): a delivered car is
    # part of the answer key once its owner refers a friend
    delivery = admin.post("deliveries", json={
        "store_id": world.store.id, "customer_id": old.json["id"], "delivered_at": "2026-10-01T10:00:00+08:00",
        "vehicle": {k: SECRET_CAR[k] for k in ("model", "colour", "transmission", "plate", "vin")}})
    assert delivery.status_code in (200, 201), delivery.json
    referral = referrals.register_referral(
        world["consultant"], store_id=world.store.id, referrer_id=old.json["id"], referee_id=new.json["id"],
        claim={"referrer_name": "老王", "referrer_phone": "13611112222", "referrer_model": "大众",
               "referrer_colour": "金"})
    db.session.commit()
    return {"old": old.json["id"], "new": new.json["id"], "referral": referral.id, "delivery": delivery.json["id"]}


def _urls(app, ids: dict[str, list[int]]) -> list[str]:
    """Every GET route of the app with its id arguments filled from `ids` (others: 1)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "api-docs.openapi_json"):
            continue
        if rule.endpoint.startswith("web.logout") or "export" in rule.rule:
            continue  # exports are checked on their own below
        args = sorted(rule.arguments)
        fills = [{}]
        for arg in args:
            fills = [{**f, arg: value} for f in fills for value in ids.get(arg, [1])]
        for fill in fills:
            path = rule.rule
            for arg, value in fill.items():
                path = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(value), path)
            if "<" not in path:
                urls.append(path)
    return sorted(set(urls))


def crawl(app, api, username: str, ids: dict[str, list[int]], allowed=()) -> dict[str, list[str]]:
    """GET every route as `username` (API with his token, pages with his session): url -> leaks."""
    browser = Browser(app)
    assert login(browser, username).status_code == 302
    found = {}
    for url in _urls(app, ids):
        if url.startswith("/api/"):
            body = api.as_(username).get(url).get_data(as_text=True)
        else:
            body = text(browser.get(url))
        if leaks(body, allowed):
            found[url] = leaks(body, allowed)
    return found


def _ids(sealed) -> dict[str, list[int]]:
    customers = [sealed["old"], sealed["new"]]
    return {"customer_id": customers, "referral_id": [sealed["referral"]], "id": customers}


@pytest.mark.rule("SEC-5")
@pytest.mark.parametrize("username", ["consultant", "manager", "agent", "finance", "service"])
def test_no_role_but_admin_reads_a_verification_fact_on_any_get_route(app, api, world, sealed, username):
    allowed = tuple(OWN_CAR) if username == "consultant" else ()
    assert crawl(app, api, username, _ids(sealed), allowed) == {}


@pytest.mark.rule("SEC-5")
def test_the_crawl_finds_the_facts_as_an_admin(app, api, world, sealed):
    """The control: the same crawl as an admin sees every planted value, so the checks above can fail."""
    found = crawl(app, api, "admin", _ids(sealed))
    seen = {secret for secrets in found.values() for secret in secrets}
    assert seen == set(SECRETS)
    assert any(url.startswith("/api/v1/customers/") for url in found)
    assert any(url.startswith("/customers/") for url in found)


@pytest.mark.rule("SEC-5")
def test_consultant_sees_the_cars_he_recorded_and_no_fact(api, world, sealed):
    mine = api.as_("consultant").get(f"customers/{sealed['new']}").json
    assert [v["vin"] for v in mine["vehicles"]] == [NEWCOMER_CAR["vin"]]  # what he typed himself
    assert not {"employer", "home_district", "business", "occupation"} & set(mine)
    theirs = api.as_("consultant").get(f"customers/{sealed['old']}").json
    assert theirs["vehicles"] == [] and theirs["phone"] == "136****2222"
    listed = api.as_("consultant").get("customers").json["items"]
    assert {c["id"] for c in listed} >= {sealed["old"], sealed["new"]}
    assert all(not {"employer", "home_district", "business", "occupation"} & set(c) for c in listed)


@pytest.mark.rule("SEC-5")
def test_error_bodies_do_not_echo_the_facts(api, world, sealed):
    consultant = api.as_("consultant")
    bodies = [
        consultant.patch(f"customers/{sealed['old']}", json={"phone": "not a phone"}),
        consultant.patch(f"customers/{sealed['old']}", json={"employer": "x" * 500}),
        consultant.post(f"customers/{sealed['old']}/vehicles", json={**SECRET_CAR, "vin": "LSVZZZ7PZKA123456"}),
        consultant.post(f"customers/{sealed['old']}/vehicles", json={"model": "", "colour": "", "transmission": "?"}),
        consultant.post("customers", json={"store_id": world.store.id, "name": "重复", "phone": "13611112222"}),
        consultant.get(f"customers/{sealed['old']}/facts"),
        consultant.get("audit?entity=customer"),
        # a manager typing a guess of the car with its VIN learns only that the VIN is on record
        api.as_("manager").post("deliveries", json={
            "store_id": world.store.id, "customer_id": sealed["old"], "delivered_at": "2026-10-01T10:00:00+08:00",
            "vehicle": {**{k: SECRET_CAR[k] for k in ("model", "plate", "vin")}, "colour": "黑色",
                        "transmission": "manual"}}),
    ]
    assert [r.status_code for r in bodies] == [422, 422, 409, 422, 409, 403, 403, 409]
    assert set(bodies[-1].json["fields"]) == {"vehicle.vin"}
    for response in bodies:
        assert not leaks(response.get_data(as_text=True)), response.json


@pytest.mark.rule("SEC-5")
def test_a_consultant_records_facts_without_reading_them_back(api, world, sealed):
    resp = api.as_("consultant").patch(f"customers/{sealed['old']}", json={"occupation": "深海潜水员"})
    assert resp.status_code == 200 and "深海潜水员" not in resp.get_data(as_text=True)
    history = api.as_("admin").get(f"customers/{sealed['old']}/facts").json["facts"]
    newest = [v for v in history if v["fact"] == "occupation"][-1]
    assert (newest["value"], newest["recorded_by_id"], newest["desk"]) == (
        "深海潜水员", world["consultant"].id, "sales")


@pytest.mark.rule("SEC-5")
def test_exports_carry_no_fact(app, api, world, people, due_at_once, monkeypatch):
    """Finance's exports of a verified referral hold the claim and the check results, never the
    record: neither party's facts, nor the referrer's plate or VIN; other roles get no export."""
    from tests.flows import T0, answer_next_call, delivered_referral, truthful
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    answer_next_call(api, rid, truthful, T0 + timedelta(hours=2))
    record_only = ["上海汽车集团", "浦东新区", "工程师", "沪A12345", "LFV2A21K8E4123456", "中国银行浦东支行",
                   "闵行区", "会计"]
    for path in ("/api/v1/payouts/export.csv", "/api/v1/payouts/export.xlsx"):
        assert api.as_("consultant").get(path).status_code == 403
        resp = api.as_("finance").get(path)
        assert resp.status_code == 200
        body = _cells(resp.get_data()) if path.endswith("xlsx") else resp.get_data(as_text=True)
        assert "张三" in body  # the payout is in it
        assert [value for value in record_only if value in body] == []


def _cells(xlsx: bytes) -> str:
    from io import BytesIO

    from openpyxl import load_workbook
    book = load_workbook(BytesIO(xlsx))
    return " ".join(str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row
                    if cell.value is not None)


@pytest.mark.rule("SEC-5")
def test_the_audit_trail_is_for_admins_only(api, world, sealed):
    for username in ("consultant", "manager", "agent", "finance"):
        assert api.as_(username).get("audit?entity=customer").status_code == 403
    events = api.as_("admin").get("audit?entity=customer").json["items"]
    assert any(SECRET_FACTS["employer"] in str(e["after"]) for e in events)
