"""The OpenAPI document is truthful enough for Schemathesis (issue 14): every status an operation
can answer is listed, there is no catch-all `default`, a required body is required, and a file
download says its media type once."""
from __future__ import annotations

import pytest

from loyalty.audit.models import AuditEvent
from tests.helpers import count_rows, new_customer


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


@pytest.mark.rule("SEC-4")
def test_every_operation_lists_its_error_statuses_and_none_is_a_catch_all(client):
    doc = client.get("/api/v1/openapi.json").json
    operations = list(_operations(doc))
    assert len(operations) >= 60
    for method, path, operation in operations:
        codes = set(operation["responses"])
        assert "default" not in codes, (method, path)
        assert any(c.startswith("2") for c in codes), (method, path)
        if path != "/api/v1/auth/tokens":
            assert "401" in codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if "requestBody" in operation:
            assert "422" in codes, (method, path)
        for code, response in operation["responses"].items():
            if "$ref" in response:
                response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            if code[0] in "45":
                assert "content" in response, (method, path, code, response)
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    login = doc["paths"]["/api/v1/auth/tokens"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(login)
    assert "403" in doc["paths"]["/api/v1/ledger/transfers"]["post"]["responses"]


@pytest.mark.rule("LED-3")
def test_money_moving_operations_declare_their_idempotency_key(client):
    doc = client.get("/api/v1/openapi.json").json
    approve = doc["paths"]["/api/v1/payouts/{payout_id}/approve"]["post"]
    header = next(p for p in approve["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    unwind = doc["paths"]["/api/v1/referrals/{referral_id}/unwind"]["post"]
    header = next(p for p in unwind["parameters"] if p["in"] == "header")
    assert header["required"] is False  # SPEC makes the key optional there


@pytest.mark.rule("SEC-4")
def test_downloads_document_their_media_type(client):
    doc = client.get("/api/v1/openapi.json").json
    ok = doc["paths"]["/api/v1/payouts/export.csv"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/csv"]
    ok = doc["paths"]["/api/v1/payouts/export.xlsx"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]


@pytest.mark.rule("SEC-4")
def test_a_csv_download_names_its_charset_once(api):
    resp = api.as_("admin").get("reports/liabilities.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.rule("SEC-4")
def test_a_missing_required_body_is_422_and_changes_nothing(api, world):
    customer = new_customer(world.store.id)
    api.token("admin"), api.token("consultant")  # logging in is audited too
    events = count_rows(AuditEvent)
    for method, path in (("patch", f"customers/{customer.id}"), ("put", f"stores/{world.store.id}/policy"),
                         ("patch", f"stores/{world.store.id}"), ("post", "referrals")):
        who = api.as_("admin") if path != "referrals" else api.as_("consultant")
        resp = who._call(method, path, headers={"Accept-Language": "en"})  # fields follow the language
        assert resp.status_code == 422, (method, path, resp.status_code)
        assert resp.json["code"] == "body_required" and resp.json["fields"] == {"_schema": ["A JSON body is required."]}
    assert count_rows(AuditEvent) == events
    # an empty object is a body: a PATCH that changes nothing is still fine
    assert api.as_("admin").patch(f"customers/{customer.id}", json={}).status_code == 200


@pytest.mark.rule("SEC-4")
def test_a_missing_body_is_refused_after_authentication(api, world):
    resp = api.anonymous._call("patch", f"stores/{world.store.id}")
    assert resp.status_code == 401
