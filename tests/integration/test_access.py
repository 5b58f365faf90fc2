"""Who may reach what (SEC-2): roles per endpoint, and store scoping."""
from __future__ import annotations

import re

import pytest

from loyalty.auth.access import PUBLIC, ROLES, audience_of
from loyalty.directory.models import Customer
from tests.helpers import count_rows, new_customer

# The SH01 staff member who speaks for each role (finance and admin are group-level).
AS_ROLE = {"consultant": "consultant", "manager": "manager", "agent": "agent",
           "finance": "finance", "service": "service", "admin": "admin"}
SHOWROOM = {"consultant", "manager", "admin"}
READERS = SHOWROOM | {"service"}  # the service desk finds and reads customers, changes none
EVERYONE = set(ROLES)

# method, path ({store}, {staff}, {customer} filled in), audience
ENDPOINTS = [
    ("POST", "stores", {"admin"}),
    ("GET", "stores", EVERYONE),
    ("GET", "stores/{store}", EVERYONE),
    ("PATCH", "stores/{store}", {"admin"}),
    ("PUT", "stores/{store}/policy", {"admin"}),
    ("POST", "staff", {"admin"}),
    ("GET", "staff", {"admin", "manager"}),
    ("PATCH", "staff/{staff}", {"admin"}),
    ("POST", "customers", SHOWROOM),
    ("GET", "customers", READERS),
    ("GET", "customers/{customer}", READERS),
    ("POST", "customers/{customer}/service-visits", {"service", "admin"}),
    ("POST", "customers/{customer}/redemptions", {"service", "admin"}),
    ("GET", "customers/{customer}/points", {"service", "manager", "admin"}),
    ("POST", "catalog-items", {"admin"}),
    ("GET", "catalog-items", {"service", "admin"}),
    ("PATCH", "customers/{customer}", SHOWROOM),
    ("POST", "customers/{customer}/vehicles", SHOWROOM),
    ("GET", "audit", {"admin"}),
    ("GET", "audit/verify", {"admin"}),
]


@pytest.fixture
def zhang(world):
    return new_customer(world.store.id, "张三", "13800138000")


@pytest.fixture
def wang(world):
    """A customer of the other store (SH02)."""
    return new_customer(world.other_store.id, "王五", "13700137000")


def _path(template, world, customer):
    return template.format(store=world.store.id, staff=world["agent"].id, customer=customer.id)


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("method, template, audience", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_each_endpoint_refuses_roles_outside_its_audience(api, world, zhang, method, template, audience):
    path = _path(template, world, zhang)
    anonymous = api.anonymous._call(method.lower(), path, json={})
    assert anonymous.status_code == 401, (method, path)
    assert anonymous.json["code"] == "unauthorized"
    for role, username in AS_ROLE.items():
        resp = api.as_(username)._call(method.lower(), path, json={})
        if role in audience:
            assert resp.status_code not in (401, 403), (role, method, path, resp.json)
        else:
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            assert resp.json["code"] == "role_forbidden"


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("username, method, path", [
    ("consultant", "post", "stores"),
    ("consultant", "put", "stores/{store}/policy"),
    ("consultant", "post", "staff"),
    ("consultant", "get", "audit"),
    ("manager", "put", "stores/{store}/policy"),
    ("agent", "get", "customers"),
    ("finance", "get", "customers"),
    ("finance", "post", "customers"),
])
def test_refused_requests_write_nothing(api, world, zhang, username, method, path):
    from tests.helpers import row_counts
    body = {"code": "SH09", "name": "x", "username": "evil", "display_name": "x", "role": "admin",
            "store_id": None, "password": "long-enough-1", "reward_amount": 1}
    bound = api.as_(username)
    before = row_counts()
    body = {k: v for k, v in body.items()} if method != "put" else {"reward_amount": 1}
    resp = bound._call(method, _path(path, world, zhang), json=body)
    assert resp.status_code == 403
    assert row_counts() == before


@pytest.mark.rule("SEC-2")
def test_every_registered_endpoint_declares_an_audience(app):
    """A view without @allow(...) is refused to everyone; this makes the omission fail loudly."""
    missing = sorted(rule.endpoint for rule in app.url_map.iter_rules() if audience_of(rule.endpoint) is None)
    assert missing == []


def _example_url(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)


@pytest.mark.rule("SEC-2")
def test_every_api_endpoint_refuses_anonymous_callers(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or PUBLIC in (audience_of(rule.endpoint) or ()):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(_example_url(rule), method=method, json={})
            assert resp.status_code == 401, (method, rule.rule, resp.status_code)
            assert resp.json["code"] == "unauthorized"
            checked += 1
    assert checked >= len(ENDPOINTS)


@pytest.mark.rule("SEC-2")
def test_every_page_sends_anonymous_visitors_to_login(app, client):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "GET" not in rule.methods:
            continue
        if PUBLIC in (audience_of(rule.endpoint) or ()):
            continue
        resp = client.get(_example_url(rule))
        assert resp.status_code == 302, (rule.rule, resp.status_code)
        assert "/login" in resp.headers["Location"]


@pytest.mark.rule("SEC-2")
def test_public_endpoints_are_only_the_expected_ones(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") and PUBLIC in (audience_of(rule.endpoint) or ())}
    assert public == {"auth.issue_token", "api-docs.openapi_json", "apidocs.docs"}


# ---- store scoping ------------------------------------------------------------------

@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("username", ["consultant", "manager"])
def test_store_staff_cannot_read_or_change_another_stores_customer(api, world, zhang, wang, username):
    from tests.helpers import row_counts
    bound = api.as_(username)
    before = row_counts()
    assert bound.get(f"customers/{wang.id}").status_code == 404
    resp = bound.patch(f"customers/{wang.id}", json={"name": "改名"})
    assert resp.status_code == 404
    assert resp.json["code"] == "customer_not_found"
    resp = bound.post(f"customers/{wang.id}/vehicles",
                      json={"model": "速腾", "colour": "白色", "transmission": "automatic"})
    assert resp.status_code == 404
    resp = bound.post("customers", json={"store_id": world.other_store.id, "name": "赵六",
                                         "phone": "13600136000"})
    assert resp.status_code in (403, 404)
    assert row_counts() == before
    # their own store works
    assert bound.get(f"customers/{zhang.id}").status_code == 200


@pytest.mark.rule("SEC-2")
def test_store_staff_get_the_same_answer_for_other_and_missing_ids(api, world, wang):
    bound = api.as_("consultant")
    other = bound.get(f"customers/{wang.id}")
    missing = bound.get("customers/999999")
    assert (other.status_code, other.json["code"]) == (missing.status_code, missing.json["code"])
    other = bound.post("customers", json={"store_id": world.other_store.id, "name": "赵六", "phone": "13600136000"})
    missing = bound.post("customers", json={"store_id": 999999, "name": "赵六", "phone": "13600136000"})
    assert (other.status_code, other.json["code"]) == (missing.status_code, missing.json["code"])


@pytest.mark.rule("SEC-2")
def test_listing_customers_only_shows_the_own_store(api, world, zhang, wang):
    resp = api.as_("consultant").get("customers")
    assert resp.status_code == 200
    assert [c["id"] for c in resp.json["items"]] == [zhang.id]
    assert resp.json["total"] == 1
    # asking for the other store by filter or by phone finds nothing
    resp = api.as_("consultant").get(f"customers?store_id={world.other_store.id}")
    assert resp.json["items"] == [] and resp.json["total"] == 0
    resp = api.as_("consultant").get("customers?phone=13700137000")
    assert resp.json["items"] == []
    resp = api.as_("consultant").get("customers?q=王")
    assert resp.json["items"] == []
    resp = api.as_("consultant_b").get("customers")
    assert [c["id"] for c in resp.json["items"]] == [wang.id]


@pytest.mark.rule("SEC-2")
def test_admin_sees_every_store_and_customer(api, world, zhang, wang):
    resp = api.as_("admin").get("customers")
    assert {c["id"] for c in resp.json["items"]} == {zhang.id, wang.id}
    assert api.as_("admin").get(f"customers/{wang.id}").status_code == 200
    resp = api.as_("admin").post(f"customers/{wang.id}/vehicles",
                                 json={"model": "高尔夫", "colour": "红色", "transmission": "manual"})
    assert resp.status_code == 201


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("username", ["admin", "finance", "finance2"])
def test_group_level_staff_see_both_stores(api, world, username):
    resp = api.as_(username).get("stores")
    assert resp.status_code == 200
    assert {s["code"] for s in resp.json["items"]} == {"SH01", "SH02"}
    assert api.as_(username).get(f"stores/{world.other_store.id}").status_code == 200


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("username, own, other", [
    ("consultant", "SH01", "other_store"), ("agent", "SH01", "other_store"),
    ("manager_b", "SH02", "store"), ("agent_b", "SH02", "store"),
])
def test_store_staff_see_only_their_store(api, world, username, own, other):
    resp = api.as_(username).get("stores")
    assert [s["code"] for s in resp.json["items"]] == [own]
    resp = api.as_(username).get(f"stores/{getattr(world, other).id}")
    assert resp.status_code == 404


@pytest.mark.rule("SEC-2")
def test_manager_lists_only_staff_of_their_store(api, world):
    resp = api.as_("manager").get("staff")
    assert resp.status_code == 200
    names = {s["username"] for s in resp.json["items"]}
    assert names == {"consultant", "manager", "manager2", "agent", "service"}
    resp = api.as_("admin").get("staff")
    assert {s["username"] for s in resp.json["items"]} >= names | {"consultant_b", "finance", "admin"}


def test_scoping_applies_to_the_service_layer_too(app, world, wang):
    """Services enforce scoping themselves, so a page or a job calling them is held to it."""
    from loyalty.directory import service
    from loyalty.errors import NotFound
    with pytest.raises(NotFound):
        service.get_customer(world["consultant"], wang.id)
    with pytest.raises(NotFound):
        service.update_customer(world["consultant"], wang.id, {"name": "x"})
    items, total = service.list_customers(world["consultant"])
    assert total == 0 and items == []
    assert count_rows(Customer) == 1
