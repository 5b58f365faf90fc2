"""Security review, finding 6: inputs that answered 500 now get a 4xx with field errors and
change nothing (SEC-4).

- A 2 KB body of 1,000 nested `[` exhausted Python's parser on every JSON endpoint.
- Dates in year 1 (`from=0001-01-01`, `delivered_at: 0001-01-01T00:00:00+08:00`) reached the
  database and failed there: the payout list and exports, the fraud and timeliness reports
  (API and pages) and the delivery check."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.ledger.models import Transfer
from tests.flows import LICENCE, VEHICLE, register
from tests.helpers import count_rows
from tests.web import Browser, csrf_of, login
from verification.referrals.models import Referral

DEEP = "[" * 1000


def json_endpoints(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            found.append((method, path))
    return found


@pytest.mark.rule("SEC-4")
def test_deeply_nested_json_is_400_malformed_on_every_json_endpoint(app, api, world):
    endpoints = json_endpoints(app)
    assert len(endpoints) >= 20 and ("POST", "/api/v1/auth/tokens") in endpoints
    api.token("admin")
    events, transfers = count_rows(AuditEvent), count_rows(Transfer)
    for method, path in endpoints:
        for who in (api.as_("admin"), api.anonymous):
            resp = who._call(method.lower(), path, data=DEEP, content_type="application/json",
                             headers={"Idempotency-Key": "deep"})
            assert resp.status_code == 400, (method, path, resp.status_code)
            assert resp.json["code"] == "malformed_json" and resp.json["fields"], (method, path)
    assert count_rows(AuditEvent) == events and count_rows(Transfer) == transfers


@pytest.mark.rule("SEC-4")
def test_ordinary_nesting_still_parses(api, world):
    resp = api.anonymous.post("auth/tokens", data='{"username": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", '
                                                  '"password": "x"}', content_type="application/json")
    assert resp.status_code == 401  # brackets inside strings do not count
    body = {"answers": [{"question_id": "q", "confirmed": True}]}
    assert api.as_("agent").post("callbacks/1/answers", json=body).status_code == 404


YEAR_ONE = ["0001-01-01", "1969-12-31", "3000-01-01", "9999-12-31"]


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("path", ["payouts", "payouts/export.csv", "payouts/export.xlsx", "reports/fraud",
                                  "reports/fraud.csv", "reports/timeliness", "reports/timeliness.csv"])
@pytest.mark.parametrize("param", ["from", "to"])
def test_a_date_out_of_range_is_a_422_naming_the_field(api, world, path, param):
    for day in YEAR_ONE:
        resp = api.as_("finance").get(path, query_string={param: day})
        assert resp.status_code == 422, (path, param, day, resp.status_code)
        assert list(resp.json["fields"]) == [param], resp.json
    assert api.as_("finance").get(path, query_string={param: "2026-11-01"}).status_code == 200


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("path", ["/payouts", "/payouts/export.csv", "/payouts/export.xlsx", "/reports/fraud",
                                  "/reports/fraud.csv", "/reports/timeliness", "/reports/timeliness.csv"])
def test_the_pages_refuse_a_date_out_of_range_naming_the_field(app, world, path):
    browser = Browser(app)
    login(browser, "finance")
    for day in ("0001-01-01", "9999-12-31"):
        resp = browser.get(path, query_string={"from": day})
        assert resp.status_code == 422, (path, day, resp.status_code)
        html = resp.get_data(as_text=True)
        assert "from" in html and "1970-01-01" in html
    assert browser.get(path, query_string={"from": "2026-11-01", "to": ""}).status_code == 200
    assert browser.get(path, query_string={"from": "", "to": ""}).status_code == 200


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("delivered_at", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00Z",
                                          "9999-12-31T23:59:59-08:00"])
def test_a_delivery_in_year_one_is_a_422_on_delivered_at_and_writes_nothing(api, world, people, delivered_at):
    t0 = people["zhang"].created_at
    with time_machine.travel(t0, tick=False):
        rid = register(api, world, people).json["id"]
        assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 200
    events, transfers = count_rows(AuditEvent), count_rows(Transfer)
    status = db.session.get(Referral, rid).status
    with time_machine.travel(t0 + timedelta(days=1), tick=False):
        resp = api.as_("manager2").post(f"referrals/{rid}/delivery", json={
            "delivered_at": delivered_at, "vehicle": VEHICLE, "licence": LICENCE})
    assert resp.status_code == 422, resp.json
    assert "delivered_at" in resp.json["fields"]
    assert count_rows(AuditEvent) == events and count_rows(Transfer) == transfers
    db.session.expire_all()
    referral = db.session.get(Referral, rid)
    assert referral.status == status and referral.delivered_at is None


@pytest.mark.rule("SEC-4")
def test_a_delivery_page_in_year_one_is_refused_not_a_500(app, api, world, people):
    """The delivery page's form is the delivery developer's; whatever it lets through, a date the
    database cannot hold is a 422 and nothing is written."""
    t0 = people["zhang"].created_at
    with time_machine.travel(t0, tick=False):
        rid = register(api, world, people).json["id"]
        assert api.as_("manager").post(f"referrals/{rid}/acknowledge").status_code == 200
    browser = Browser(app)
    login(browser, "manager2")
    path = f"/referrals/{rid}/delivery"
    events, transfers = count_rows(AuditEvent), count_rows(Transfer)
    resp = browser.post(path, data={
        "csrf_token": csrf_of(browser, path), "delivered_at": "0001-01-01T00:00", "vehicle_model": "高尔夫",
        "vehicle_colour": "红色", "vehicle_transmission": "manual", "licence_owner_name": "张三",
        "licence_plate": "沪A12345", "licence_model": "速腾"})
    assert resp.status_code == 422
    assert count_rows(AuditEvent) == events and count_rows(Transfer) == transfers
