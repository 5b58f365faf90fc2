"""Stores, policies, staff and customers over the API: personal data (SEC-3), bad input
(SEC-4) and store policies."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.directory import identity
from loyalty.directory.models import POLICY_FIELDS, Customer, Staff, Store, Vehicle
from loyalty.extensions import db
from tests.helpers import new_customer, row_counts

ZHANG_ID = "310115198001011238"

SPEC_POLICY_DEFAULTS = {
    "reward_amount": 50000, "reward_unit": "CNY", "registration_window_days": 90,
    "velocity_limit": 5, "velocity_window_days": 30, "callback_delay_min_hours": 24,
    "callback_delay_max_hours": 72, "calling_hours_start": "09:00", "calling_hours_end": "20:00",
    "two_approver_threshold": 200000, "consultant_penalty": 20000, "fen_per_point": 1000,
    "points_expiry_months": 24, "clawback_window_days": 90, "callback_attempts": 3,
    "insider_pass_limit_bp": 500,  # CB-11: "above the policy threshold (default 5 %)"
    # issue 17: ring detection (verification/rings/README.md)
    "ring_review_score": 50, "ring_window_days": 180, "ring_concentration_min": 6,
    "ring_concentration_pct": 60, "ring_spread_days": 30, "ring_spread_consultants": 3,
    "ring_shared_min": 3, "ring_fact_edit_days": 7, "ring_pair_min": 8, "ring_pair_factor_pct": 200,
}


@pytest.fixture
def zhang(world):
    return new_customer(world.store.id, "张三", "13800138000")


@pytest.fixture
def ready(api, world, zhang):
    """Tokens are issued (and audited) before the counting starts."""
    for role in ("admin", "consultant", "consultant_b", "manager"):
        api.token(role)
    return api


# ---- personal data (SEC-3) ----------------------------------------------------------

@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("username", ["consultant", "manager"])
def test_phones_are_masked_for_showroom_staff(api, world, zhang, username):
    bound = api.as_(username)
    assert bound.get(f"customers/{zhang.id}").json["phone"] == "138****8000"
    assert [c["phone"] for c in bound.get("customers").json["items"]] == ["138****8000"]
    resp = bound.post("customers", json={"store_id": world.store.id, "name": "李四", "phone": "13900139000"})
    assert resp.status_code == 201
    assert resp.json["phone"] == "139****9000"
    resp = bound.patch(f"customers/{zhang.id}", json={"employer": "上海汽车集团"})
    assert resp.json["phone"] == "138****8000"


@pytest.mark.rule("SEC-3")
def test_admin_sees_full_phones(api, world, zhang):
    assert api.as_("admin").get(f"customers/{zhang.id}").json["phone"] == "+8613800138000"
    assert api.as_("admin").get("customers").json["items"][0]["phone"] == "+8613800138000"


@pytest.mark.rule("SEC-3")
def test_phone_search_works_with_masked_display(api, world, zhang):
    resp = api.as_("consultant").get("customers", query_string={"phone": "138 0013 8000"})
    assert [c["id"] for c in resp.json["items"]] == [zhang.id]


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "+86-138-0013-8000", "１３８００１３８０００",
                                 "0086 138 0013 8000"])
def test_phone_is_stored_in_e164(api, world, raw):
    resp = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "张三", "phone": raw})
    assert resp.status_code == 201, resp.json
    stored = db.session.execute(select(Customer.phone).where(Customer.id == resp.json["id"])).scalar_one()
    assert stored == "+8613800138000"


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("variant", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "１３８００１３８０００"])
def test_duplicate_phone_is_409_phone_taken(ready, api, world, zhang, variant):
    before = row_counts()
    resp = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "冒名", "phone": variant})
    assert resp.status_code == 409
    assert resp.json["code"] == "phone_taken"
    assert "phone" in resp.json["fields"]
    assert row_counts() == before


@pytest.mark.rule("SEC-3")
def test_duplicate_phone_across_stores_is_refused_too(api, world, zhang):
    resp = api.as_("consultant_b").post("customers", json={
        "store_id": world.other_store.id, "name": "冒名", "phone": "13800138000"})
    assert resp.status_code == 409 and resp.json["code"] == "phone_taken"


@pytest.mark.rule("SEC-3")
def test_changing_to_a_taken_phone_is_409(ready, api, world, zhang):
    li = new_customer(world.store.id, "李四", "13900139000")
    before = row_counts()
    resp = api.as_("consultant").patch(f"customers/{li.id}", json={"phone": "138-0013-8000"})
    assert resp.status_code == 409 and resp.json["code"] == "phone_taken"
    assert row_counts() == before
    resp = api.as_("consultant").patch(f"customers/{li.id}", json={"phone": "+86 139 0013 9000"})
    assert resp.status_code == 200  # its own number, spelt differently


@pytest.mark.rule("SEC-3")
def test_national_id_is_kept_only_as_keyed_hash_and_last_four(app, api, world):
    raw = "3101 1519 8001 0112 38"
    resp = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "张三", "phone": "13800138000", "national_id": raw})
    assert resp.status_code == 201, resp.json
    assert "national_id" not in resp.json
    assert resp.json["national_id_last4"] == "1238"
    row = db.session.execute(select(Customer.__table__).where(Customer.id == resp.json["id"])).one()
    values = " ".join(str(v) for v in row._mapping.values())
    for form in (raw, ZHANG_ID, ZHANG_ID[:-4], ZHANG_ID[6:14]):
        assert form not in values
    assert row.national_id_last4 == "1238"
    assert row.national_id_hash == identity.national_id_hash(ZHANG_ID, app.config["PII_HASH_KEY"])
    events = db.session.execute(select(AuditEvent)).scalars().all()
    dumped = json.dumps([[e.before, e.after] for e in events], ensure_ascii=False)
    for form in (ZHANG_ID, ZHANG_ID[:-4], ZHANG_ID[6:14]):
        assert form not in dumped
    audit = api.as_("admin").get("audit", query_string={"entity": "customer"})
    assert ZHANG_ID not in audit.get_data(as_text=True)


@pytest.mark.rule("SEC-3")
def test_same_national_id_in_its_legacy_form_hashes_alike(app, api, world):
    one = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "甲", "phone": "13800138000", "national_id": "11010519491231002X"})
    two = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "乙", "phone": "13900139000", "national_id": "110105491231002"})
    assert one.status_code == two.status_code == 201
    hashes = db.session.execute(select(Customer.national_id_hash).order_by(Customer.id)).scalars().all()
    assert hashes[0] == hashes[1]


@pytest.mark.rule("SEC-3")
@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("national_id", ["310115198001011239", "31011519800101123", "abcdefghijklmnopqr"])
def test_invalid_national_id_is_422_with_a_field_error(ready, api, world, national_id):
    before = row_counts()
    resp = api.as_("consultant").post("customers", json={
        "store_id": world.store.id, "name": "张三", "phone": "13900139000", "national_id": national_id})
    assert resp.status_code == 422
    assert list(resp.json["fields"]) == ["national_id"]
    assert national_id not in json.dumps(resp.json)
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("phone", ["12345", "abc", "1380013800", "+86 000 0000 0000"])
def test_invalid_phone_is_422_with_a_field_error(ready, api, world, phone):
    before = row_counts()
    resp = api.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "张三", "phone": phone})
    assert resp.status_code == 422
    assert list(resp.json["fields"]) == ["phone"]
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("path, body, field", [
    ("customers", {"name": "   ", "phone": "13900139000"}, "name"),
    ("customers", {"name": "\u3000\t", "phone": "13900139000"}, "name"),  # ideographic space and a tab
    ("stores", {"code": "SH09", "name": "  ", "timezone": "Asia/Shanghai"}, "name"),
    ("staff", {"username": "newbie", "display_name": " ", "role": "agent", "password": "long-enough-1",
               "store_id": None}, "display_name"),
])
def test_text_of_only_spaces_is_a_field_error_not_a_blank_record(ready, api, world, path, body, field):
    before = row_counts()
    if path == "customers":
        body = {"store_id": world.store.id, **body}
    resp = api.as_("admin").post(path, json=body)
    assert resp.status_code == 422, resp.json
    assert list(resp.json["fields"]) == [field]
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
def test_text_is_trimmed_but_a_password_is_kept_as_typed(ready, api, world):
    resp = api.as_("admin").post("staff", json={"username": "  newbie ", "display_name": " 新人 ", "role": "agent",
                                                 "store_id": world.store.id, "password": " spaced pass "})
    assert resp.status_code == 201, resp.json
    assert resp.json["username"] == "newbie" and resp.json["display_name"] == "新人"
    assert api.anonymous.post("auth/tokens", json={"username": "newbie", "password": " spaced pass "}).status_code == 201
    assert api.anonymous.post("auth/tokens", json={"username": "newbie", "password": "spaced pass"}).status_code == 401


# ---- bad input (SEC-4) ----------------------------------------------------------------

# name, role, method, path, a valid body, a body of wrong types -> the fields it must name,
# the required fields
WRITES = [
    ("create_store", "admin", "post", "stores", {"code": "SH09", "name": "新店"},
     {"code": 123, "name": ["x"], "timezone": 5}, {"code", "name"}),
    ("update_store", "admin", "patch", "stores/{store}", {"name": "新名字"},
     {"name": 1, "active": "maybe", "code": {}}, set()),
    ("set_policy", "admin", "put", "stores/{store}/policy", {"reward_amount": 60000},
     {"reward_amount": "lots", "calling_hours_start": 9, "reward_unit": 1, "velocity_limit": 1.5}, set()),
    ("create_staff", "admin", "post", "staff",
     {"username": "newbie", "display_name": "新人", "role": "consultant", "store_id": None,
      "password": "long-enough-1"},
     {"username": 5, "display_name": None, "role": "boss", "store_id": "x", "password": 12345678},
     {"username", "display_name", "role", "store_id", "password"}),
    ("update_staff", "admin", "patch", "staff/{staff}", {"display_name": "新名"},
     {"active": "perhaps", "role": "boss", "store_id": "abc", "display_name": []}, set()),
    ("create_customer", "consultant", "post", "customers",
     {"store_id": "{store_id}", "name": "李四", "phone": "13900139000"},
     {"store_id": "one", "name": 5, "phone": 13900139000, "gender": "robot", "employer": 1,
      "occupation": "医" * 61},
     {"store_id", "name", "phone"}),
    ("update_customer", "consultant", "patch", "customers/{customer}", {"employer": "宝钢"},
     {"name": 7, "gender": "robot", "phone": [], "business": False, "occupation": 3}, set()),
    ("add_vehicle", "consultant", "post", "customers/{customer}/vehicles",
     {"model": "速腾", "colour": "白色", "transmission": "automatic"},
     {"model": 1, "colour": None, "transmission": "cvt", "vin": 5},
     {"model", "colour", "transmission"}),
    ("login", None, "post", "auth/tokens", {"username": "consultant", "password": "test-pass-1234"},
     {"username": 1, "password": ["x"]}, {"username", "password"}),
]
WRITE_IDS = [w[0] for w in WRITES]

MALFORMED = ['{"name": ', "{'name': 'x'}", "[1, 2", "{\"a\": 1}}", "nul", b"\xff\xfe{}"]


def _fill(value, world, customer):
    if isinstance(value, str):
        if value == "{store_id}":
            return world.store.id
        return value.format(store=world.store.id, staff=world["agent"].id, customer=customer.id)
    if isinstance(value, dict):
        return {k: _fill(v, world, customer) for k, v in value.items()}
    return value


def _call(api, role, method, path, **kwargs):
    bound = api.as_(role) if role else api.anonymous
    return bound._call(method, path, **kwargs)


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required", WRITES, ids=WRITE_IDS)
def test_malformed_json_is_400_and_writes_nothing(ready, world, zhang, name, role, method, path, valid,
                                                  wrong, required):
    before = row_counts()
    for body in MALFORMED:
        resp = _call(ready, role, method, _fill(path, world, zhang), data=body, content_type="application/json")
        assert resp.status_code == 400, (body, resp.json)
        assert resp.json["code"] == "malformed_json"
        assert resp.json["message"]
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required", WRITES, ids=WRITE_IDS)
def test_json_that_is_not_an_object_is_refused(ready, world, zhang, name, role, method, path, valid,
                                               wrong, required):
    before = row_counts()
    for body in ([], ["a"], "text", 42, None, True):
        resp = _call(ready, role, method, _fill(path, world, zhang), data=json.dumps(body),
                     content_type="application/json")
        assert resp.status_code in (400, 422), (body, resp.json)
        assert resp.json["code"] in ("malformed_json", "validation_error")
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required", WRITES, ids=WRITE_IDS)
def test_wrong_types_are_422_naming_each_field(ready, world, zhang, name, role, method, path, valid,
                                               wrong, required):
    before = row_counts()
    resp = _call(ready, role, method, _fill(path, world, zhang), json=wrong)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "validation_error"
    assert set(resp.json["fields"]) >= set(wrong), resp.json
    for messages in resp.json["fields"].values():
        assert messages
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required", WRITES, ids=WRITE_IDS)
def test_unknown_fields_are_422_naming_them(ready, world, zhang, name, role, method, path, valid,
                                            wrong, required):
    before = row_counts()
    body = {**_fill(valid, world, zhang), "bogus": 1, "is_admin": True}
    resp = _call(ready, role, method, _fill(path, world, zhang), json=body)
    assert resp.status_code == 422, resp.json
    assert set(resp.json["fields"]) == {"bogus", "is_admin"}
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required",
                         [w for w in WRITES if w[6]], ids=[w[0] for w in WRITES if w[6]])
def test_missing_required_fields_are_422_naming_each(ready, world, zhang, name, role, method, path, valid,
                                                     wrong, required):
    before = row_counts()
    resp = _call(ready, role, method, _fill(path, world, zhang), json={})
    assert resp.status_code == 422, resp.json
    assert set(resp.json["fields"]) == required
    # one required field left out at a time
    for field in required:
        body = {k: v for k, v in _fill(valid, world, zhang).items() if k != field}
        resp = _call(ready, role, method, _fill(path, world, zhang), json=body)
        assert resp.status_code == 422, (field, resp.json)
        assert set(resp.json["fields"]) == {field}
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("name, role, method, path, valid, wrong, required", WRITES, ids=WRITE_IDS)
def test_valid_bodies_pass(ready, world, zhang, name, role, method, path, valid, wrong, required):
    """The table's valid bodies really are valid, so the refusals above are about the fault."""
    resp = _call(ready, role, method, _fill(path, world, zhang), json=_fill(valid, world, zhang))
    assert resp.status_code in (200, 201), resp.json


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("role, method, path, body, field", [
    ("admin", "post", "stores", {"code": "SH09", "name": "新店", "timezone": "Mars/Olympus"}, "timezone"),
    ("admin", "post", "stores", {"code": "", "name": "新店"}, "code"),
    ("admin", "post", "stores", {"code": "SH09", "name": "x" * 121}, "name"),
    ("admin", "patch", "stores/{store}", {"timezone": "Asia/Nowhere"}, "timezone"),
    ("admin", "post", "staff", {"username": "a b", "display_name": "x", "role": "agent", "store_id": None,
                                "password": "long-enough-1"}, "username"),
    ("admin", "post", "staff", {"username": "shorty", "display_name": "x", "role": "agent", "store_id": None,
                                "password": "short"}, "password"),
    ("admin", "post", "staff", {"username": "nostore", "display_name": "x", "role": "agent",
                                "store_id": 999999, "password": "long-enough-1"}, "store_id"),
    ("admin", "patch", "staff/{staff}", {"store_id": 999999}, "store_id"),
    ("admin", "patch", "staff/{staff}", {"password": "short"}, "password"),
    ("admin", "post", "customers", {"store_id": 999999, "name": "x", "phone": "13900139000"}, "store_id"),
    ("consultant", "post", "customers", {"store_id": "{store_id}", "name": "", "phone": "13900139000"}, "name"),
    ("consultant", "post", "customers", {"store_id": "{store_id}", "name": "x" * 61, "phone": "13900139000"},
     "name"),
    ("consultant", "post", "customers/{customer}/vehicles",
     {"model": "速腾", "colour": "白色", "transmission": "automatic", "vin": "LFV2A21K8E412345I"}, "vin"),
    ("consultant", "post", "customers/{customer}/vehicles",
     {"model": "速腾", "colour": "白色", "transmission": "automatic", "vin": "SHORT"}, "vin"),
    ("consultant", "post", "customers/{customer}/vehicles",
     {"model": "", "colour": "白色", "transmission": "automatic"}, "model"),
])
def test_invalid_values_are_422_with_the_field(ready, world, zhang, role, method, path, body, field):
    before = row_counts()
    resp = _call(ready, role, method, _fill(path, world, zhang), json=_fill(body, world, zhang))
    assert resp.status_code == 422, resp.json
    assert field in resp.json["fields"], resp.json
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("role, method, path, body, field", [
    ("admin", "put", "stores/{store}/policy", {"reward_amount": 10**12}, "reward_amount"),
    ("admin", "put", "stores/{store}/policy", {"two_approver_threshold": 2**31}, "two_approver_threshold"),
    ("admin", "put", "stores/{store}/policy", {"consultant_penalty": 2**40}, "consultant_penalty"),
    ("admin", "put", "stores/{store}/policy", {"fen_per_point": 2**63}, "fen_per_point"),
    ("admin", "post", "customers", {"store_id": 10**20, "name": "x", "phone": "13900139000"}, "store_id"),
    ("admin", "post", "staff", {"username": "bigstore", "display_name": "x", "role": "agent",
                                "store_id": 2**63, "password": "long-enough-1"}, "store_id"),
    ("admin", "patch", "staff/{staff}", {"store_id": -(2**63) - 1}, "store_id"),
])
def test_out_of_range_numbers_are_422_not_500(ready, world, zhang, role, method, path, body, field):
    before = row_counts()
    resp = _call(ready, role, method, _fill(path, world, zhang), json=body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["fields"]
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("query", [{"store_id": 10**20}, {"page": 10**20}, {"per_page": 0}, {"page": "x"}])
def test_bad_query_parameters_are_422_not_500(ready, query):
    resp = ready.as_("admin").get("customers", query_string=query)
    assert resp.status_code in (200, 422), resp.json
    if resp.status_code == 422:
        assert set(resp.json["fields"]) <= set(query)


@pytest.mark.rule("SEC-4")
def test_text_with_nul_characters_is_refused_not_500(ready, world):
    before = row_counts()
    resp = ready.as_("consultant").post("customers", json={"store_id": world.store.id, "name": "张\x00三",
                                                           "phone": "13900139000"})
    assert resp.status_code in (201, 422), resp.json
    if resp.status_code == 422:
        assert row_counts() == before


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("role, method, path, body", [
    ("admin", "get", "stores/{missing}", None),
    ("admin", "patch", "stores/{missing}", {"name": "x"}),
    ("admin", "put", "stores/{missing}/policy", {"reward_amount": 1}),
    ("admin", "patch", "staff/{missing}", {"display_name": "x"}),
    ("admin", "get", "customers/{missing}", None),
    ("admin", "patch", "customers/{missing}", {"name": "x"}),
    ("admin", "post", "customers/{missing}/vehicles", {"model": "速腾", "colour": "白色", "transmission": "manual"}),
    ("consultant", "get", "customers/{missing}", None),
    ("admin", "get", "nothing-here", None),
])
def test_unknown_ids_are_404(ready, role, method, path, body):
    before = row_counts()
    kwargs = {"json": body} if body is not None else {}
    for missing in (999999, 2**31 - 1, 2**31, 2**63, 10**20):
        resp = _call(ready, role, method, path.format(missing=missing), **kwargs)
        assert resp.status_code == 404, (missing, resp.json)
        assert resp.json["code"].endswith("not_found")
    assert row_counts() == before


@pytest.mark.rule("SEC-4")
def test_wrong_method_is_405_json(ready):
    resp = ready.as_("admin").delete("stores")
    assert resp.status_code == 405
    assert resp.json["code"] == "method_not_allowed"


# ---- stores, staff, vehicles -------------------------------------------------------------

def test_duplicate_store_code_is_409(ready, world):
    before = row_counts()
    resp = ready.as_("admin").post("stores", json={"code": "SH01", "name": "再来一个"})
    assert resp.status_code == 409 and resp.json["code"] == "store_code_taken"
    resp = ready.as_("admin").patch(f"stores/{world.other_store.id}", json={"code": "SH01"})
    assert resp.status_code == 409 and resp.json["code"] == "store_code_taken"
    assert row_counts() == before


def test_duplicate_username_is_409_regardless_of_case(ready, world):
    before = row_counts()
    resp = ready.as_("admin").post("staff", json={"username": "Consultant", "display_name": "x", "role": "agent",
                                                  "store_id": None, "password": "long-enough-1"})
    assert resp.status_code == 409 and resp.json["code"] == "username_taken"
    assert row_counts() == before


def test_new_staff_can_log_in(ready, world):
    resp = ready.as_("admin").post("staff", json={"username": "newbie", "display_name": "新人", "role": "agent",
                                                  "store_id": world.other_store.id, "password": "long-enough-1"})
    assert resp.status_code == 201
    assert resp.json == {"id": resp.json["id"], "username": "newbie", "display_name": "新人", "role": "agent",
                         "store_id": world.other_store.id, "active": True,
                         "phone": None, "national_id_last4": None}
    login = ready.app.test_client().post("/api/v1/auth/tokens",
                                         json={"username": "newbie", "password": "long-enough-1"})
    assert login.status_code == 201
    stored = db.session.execute(select(Staff.password_hash).where(Staff.username == "newbie")).scalar_one()
    assert stored.startswith("$argon2id$") and "long-enough-1" not in stored


def test_admin_cannot_disable_themself(ready, world):
    resp = ready.as_("admin").patch(f"staff/{world['admin'].id}", json={"active": False})
    assert resp.status_code == 422 and "active" in resp.json["fields"]


def test_vehicle_is_added_and_normalised(ready, world, zhang):
    resp = ready.as_("consultant").post(f"customers/{zhang.id}/vehicles", json={
        "model": " 速腾 ", "colour": "白色", "transmission": "automatic", "plate": "沪a 12345",
        "vin": "lfv2a21k8e4123456"})
    assert resp.status_code == 201, resp.json
    assert resp.json["vin"] == "LFV2A21K8E4123456" and resp.json["plate"] == "沪A12345"
    assert resp.json["model"] == "速腾"
    customer = ready.as_("consultant").get(f"customers/{zhang.id}").json
    assert [(v["model"], v["colour"], v["transmission"]) for v in customer["vehicles"]] == [
        ("速腾", "白色", "automatic")]
    before = row_counts()
    again = ready.as_("consultant").post(f"customers/{zhang.id}/vehicles", json={
        "model": "高尔夫", "colour": "红色", "transmission": "manual", "vin": "LFV2A21K8E4123456"})
    assert again.status_code == 409 and again.json["code"] == "vin_taken"
    assert row_counts() == before


# ---- policy -----------------------------------------------------------------------------

def test_a_new_store_has_every_spec_default(ready):
    resp = ready.as_("admin").post("stores", json={"code": "SH09", "name": "新店"})
    assert resp.status_code == 201, resp.json
    assert resp.json["timezone"] == "Asia/Shanghai"
    assert resp.json["policy"] == SPEC_POLICY_DEFAULTS
    store = db.session.get(Store, resp.json["id"])
    assert {f: getattr(store.policy, f) for f in POLICY_FIELDS} == SPEC_POLICY_DEFAULTS
    assert ready.as_("consultant").get(f"stores/{resp.json['id']}").status_code == 404


def test_partial_policy_update_changes_only_those_fields(ready, world):
    resp = ready.as_("admin").put(f"stores/{world.store.id}/policy",
                                  json={"reward_amount": 80000, "velocity_limit": 3})
    assert resp.status_code == 200, resp.json
    assert resp.json == {**SPEC_POLICY_DEFAULTS, "reward_amount": 80000, "velocity_limit": 3}
    resp = ready.as_("admin").put(f"stores/{world.store.id}/policy", json={"reward_unit": "PTS",
                                                                           "reward_amount": 500})
    assert resp.json == {**SPEC_POLICY_DEFAULTS, "reward_amount": 500, "velocity_limit": 3, "reward_unit": "PTS"}
    other = ready.as_("admin").get(f"stores/{world.other_store.id}").json["policy"]
    assert other == SPEC_POLICY_DEFAULTS


def test_zero_window_with_all_day_calling_hours_is_accepted(ready, world):
    body = {"callback_delay_min_hours": 0, "callback_delay_max_hours": 0,
            "calling_hours_start": "00:00", "calling_hours_end": "23:59"}
    resp = ready.as_("admin").put(f"stores/{world.store.id}/policy", json=body)
    assert resp.status_code == 200, resp.json
    assert resp.json == {**SPEC_POLICY_DEFAULTS, **body}


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("body, field", [
    ({"calling_hours_start": "20:00", "calling_hours_end": "09:00"}, "calling_hours_end"),
    ({"calling_hours_end": "08:00"}, "calling_hours_end"),           # before the stored start 09:00
    ({"calling_hours_start": "21:00"}, "calling_hours_end"),         # after the stored end 20:00
    ({"calling_hours_start": "10:00", "calling_hours_end": "10:00"}, "calling_hours_end"),
    ({"calling_hours_start": "24:00"}, "calling_hours_start"),
    ({"calling_hours_end": "9:00"}, "calling_hours_end"),
    ({"callback_delay_min_hours": 80}, "callback_delay_max_hours"),  # above the stored max 72
    ({"callback_delay_min_hours": 10, "callback_delay_max_hours": 5}, "callback_delay_max_hours"),
    ({"callback_delay_min_hours": -1}, "callback_delay_min_hours"),
    ({"reward_amount": 0}, "reward_amount"),
    ({"reward_unit": "USD"}, "reward_unit"),
    ({"fen_per_point": 0}, "fen_per_point"),
    ({"callback_attempts": 0}, "callback_attempts"),
    ({"consultant_penalty": -5}, "consultant_penalty"),
    ({"two_approver_threshold": 0}, "two_approver_threshold"),
])
def test_inconsistent_policy_is_422(ready, world, body, field):
    before = row_counts()
    resp = ready.as_("admin").put(f"stores/{world.store.id}/policy", json=body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["fields"], resp.json
    assert row_counts() == before
    policy = ready.as_("admin").get(f"stores/{world.store.id}").json["policy"]
    assert policy == SPEC_POLICY_DEFAULTS


def test_store_rename_and_deactivate(ready, world):
    resp = ready.as_("admin").patch(f"stores/{world.store.id}", json={"name": "浦东新店", "active": False})
    assert resp.status_code == 200
    assert (resp.json["name"], resp.json["active"], resp.json["code"]) == ("浦东新店", False, "SH01")


def test_customer_update(ready, world, zhang):
    resp = ready.as_("consultant").patch(f"customers/{zhang.id}", json={
        "employer": "  上海汽车集团 ", "home_district": "浦东新区", "gender": "male", "occupation": " 工程师 "})
    assert resp.status_code == 200, resp.json
    # SEC-5: the consultant records the facts and never reads them back, not even in his own response
    assert resp.json["gender"] == "male"
    assert not {"employer", "home_district", "business", "occupation"} & set(resp.json)
    assert db.session.get(Customer, zhang.id).employer == "上海汽车集团"
    assert db.session.get(Customer, zhang.id).occupation == "工程师"
    assert db.session.execute(select(func.count(Vehicle.id))).scalar_one() == 0
