"""Reports: fraud, rejection and verification rates by consultant and store with penalties (LED-9);
reward liabilities by store; callback timeliness; the pages with their SVG charts and CSVs."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine

from tests.flows import (
    LICENCE,
    T0,
    VEHICLE,
    answer,
    claim,
    clueless,
    delivered_referral,
    new_referee,
    plan_of,
    register,
    verified_referral,
)
from tests.web import Browser, compile_catalogs, login, text


@pytest.fixture
def three_outcomes(api, world, people, due_at_once, monkeypatch):
    """In store SH01, by the consultant: one verified, one rejected at the delivery check, one fake."""
    verified = verified_referral(api, world, people, monkeypatch)
    people["r"] = new_referee(world, "赵六", "13512345670")
    with time_machine.travel(T0, tick=False):
        rejected = register(api, world, people, referee="r").json["id"]
        api.as_("manager").post(f"referrals/{rejected}/acknowledge")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        resp = api.as_("manager2").post(f"referrals/{rejected}/delivery", json={
            "delivered_at": (T0 + timedelta(hours=1)).isoformat(), "vehicle": VEHICLE,
            "licence": {**LICENCE, "owner_name": "王五"}})
    assert resp.json["status"] == "rejected", resp.json
    people["f"] = new_referee(world, "钱七", "13512345671")
    fake = delivered_referral(api, world, people, "referee", monkeypatch, referee="f")
    call = claim(api).json
    answer(api, call["id"], [clueless(q) for q in plan_of(fake).questions])
    return verified, rejected, fake


@pytest.mark.rule("LED-9")
def test_fraud_rejection_and_verification_rates_by_store_with_penalties(api, world, three_outcomes):
    resp = api.as_("manager").get("reports/fraud?by=store")
    assert resp.status_code == 200, resp.json
    [row] = resp.json["items"]
    assert row["key"] == world.store.id and row["store_code"] == "SH01"
    assert (row["registered"], row["decided"], row["verified"], row["fraudulent"], row["rejected"]) == (3, 3, 1, 1, 1)
    assert row["verification_rate"] == row["fraud_rate"] == row["rejection_rate"] == pytest.approx(0.3333)
    assert row["penalties"] == 20000
    assert api.as_("manager_b").get("reports/fraud?by=store").json["items"] == []  # another store's manager
    assert api.as_("manager").get("reports/fraud?by=store&from=2099-01-01").json["items"] == []
    assert api.as_("consultant").get("reports/fraud?by=store").status_code == 403
    assert api.as_("manager").get("reports/fraud?by=nobody").status_code == 422


@pytest.mark.rule("LED-9")
def test_fraud_rates_by_consultant_name_the_registering_consultant(api, world, three_outcomes):
    [row] = api.as_("finance").get("reports/fraud?by=consultant&from=2026-11-01&to=2026-11-30").json["items"]
    assert row["key"] == world["consultant"].id and row["label"] == "Consultant"
    assert (row["fraudulent"], row["penalties"]) == (1, 20000)
    raw = api.as_("finance").get("reports/fraud.csv?by=consultant").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "销售顾问" and "核实率" in rows[0] and rows[1][-1] == "200.00"


@pytest.mark.rule("LED-6")
def test_reward_liabilities_pending_and_payable_by_store(api, world, people, due_at_once, monkeypatch):
    verified_referral(api, world, people, monkeypatch)  # payable: awaiting approval
    people["n"] = new_referee(world, "王小二", "13512345679")
    delivered_referral(api, world, people, "referee", monkeypatch, referee="n")  # pending: awaiting the callback
    report = api.as_("finance").get("reports/liabilities").json
    rows = {r["code"]: r for r in report["items"]}
    assert (rows["SH01"]["pending"], rows["SH01"]["payable"], rows["SH01"]["awaiting_approval"]) == (50000, 50000, 50000)
    assert rows["SH02"]["pending"] == rows["SH02"]["payable"] == 0
    assert report["ledger_payable"] == report["totals"]["payable"] == 50000
    assert [r["code"] for r in api.as_("manager_b").get("reports/liabilities").json["items"]] == ["SH02"]
    raw = api.as_("finance").get("reports/liabilities.csv").get_data().decode("utf-8-sig")
    assert "SH01" in raw and "500.00" in raw


@pytest.mark.rule("CB-9")
def test_callback_timeliness_from_delivery_to_verdict(api, world, people, due_at_once, monkeypatch):
    verified_referral(api, world, people, monkeypatch)  # delivered T0+1h, verdict at T0+2h05
    [row] = api.as_("manager").get("reports/timeliness").json["items"]
    assert (row["store_code"], row["decided"], row["attempts"], row["first_call_share"]) == ("SH01", 1, 1, 1.0)
    assert row["median_hours"] == row["max_hours"] == 1.1
    raw = api.as_("manager").get("reports/timeliness.csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbf") and b"SH01" in raw


@pytest.mark.rule("LED-9")
def test_the_report_pages_show_charts_and_csv_links_in_chinese(app, api, world, three_outcomes):
    compile_catalogs()
    browser = Browser(app)
    assert login(browser, "manager").status_code == 302
    page = text(browser.get("/reports/fraud?by=store"))
    assert "<svg" in page and 'data-test="chart-verification"' in page and "核实率" in page
    assert 'data-label="SH01 浦东店"' in page and "33.3%" in page
    assert "/reports/fraud.csv" in page
    for path in ("/reports/timeliness", "/reports/liabilities"):
        body = text(browser.get(path))
        assert "<svg" in body and ".csv" in body
    # our own scripts only (base.html loads /static/js/once.js since 6d3eae4), none inline, no CDN
    assert "cdn" not in page.lower() and "<script>" not in page
    assert all(src.startswith("/static/") for src in re.findall(r'<script[^>]*src="([^"]+)"', page))
    assert Browser(app).get("/reports/fraud").status_code == 302  # login first
