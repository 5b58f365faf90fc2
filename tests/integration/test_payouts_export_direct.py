"""Direct payout exports through one door (issue 16): the page and the API cover the same default
period (the last DEFAULT_DAYS days without from/to), an XLSX above the direct bound is refused with
nothing written (background exports are CSV only), and every direct download is audited: who, the
format and the filters as applied (LED-6, SEC-1)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from loyalty import clock
from loyalty.audit.models import AuditEvent
from loyalty.extensions import db
from loyalty.payouts import export
from loyalty.payouts.models import Payout, PayoutExport
from loyalty.settings import settings
from tests.flows import new_referee, payout_of, post, read_csv, verified_referral
from tests.helpers import count_rows
from tests.web import browser_as, text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def one_old(two_payouts):
    """The first payout requested DEFAULT_DAYS + 1 days ago; `since` a day before it."""
    old = clock.now() - timedelta(days=export.DEFAULT_DAYS + 1)
    db.session.get(Payout, two_payouts[0]["id"]).requested_at = old
    db.session.commit()
    return {"old": str(two_payouts[0]["id"]), "new": str(two_payouts[1]["id"]),
            "since": (old - timedelta(days=1)).date().isoformat()}


def csv_ids(resp) -> set[str]:
    return {r[0] for r in read_csv(resp)[1:] if r and r[0].isdigit()}


def xlsx_rows(resp) -> list[tuple]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == XLSX and "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data()
    assert int(resp.headers["Content-Length"]) == len(body)
    return list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))


def xlsx_ids(resp) -> set[str]:
    return {str(r[0]) for r in xlsx_rows(resp)[1:] if isinstance(r[0], int)}


def direct_events() -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(
        AuditEvent.entity == "payout_export", AuditEvent.entity_id == "direct").order_by(AuditEvent.id)).scalars())


@pytest.mark.rule("LED-6")
def test_the_page_exports_the_last_90_days_unless_a_period_is_given(app, one_old):
    browser = browser_as(app, "finance")
    page = text(browser.get("/payouts"))
    assert "未选日期时，导出 CSV 和 XLSX 只含最近90天内申请的发放" in page
    assert "所选期间" in text(browser.get(f"/payouts?from={one_old['since']}"))
    assert csv_ids(browser.get("/payouts/export.csv")) == {one_old["new"]}
    assert xlsx_ids(browser.get("/payouts/export.xlsx")) == {one_old["new"]}
    both = {one_old["old"], one_old["new"]}
    assert csv_ids(browser.get(f"/payouts/export.csv?from={one_old['since']}")) == both
    assert xlsx_ids(browser.get(f"/payouts/export.xlsx?from={one_old['since']}")) == both


@pytest.mark.rule("LED-6")
def test_the_api_xlsx_exports_the_last_90_days_with_the_csvs_totals(api, one_old):
    rows = xlsx_rows(api.as_("finance").get("payouts/export.xlsx"))
    assert {str(r[0]) for r in rows[1:] if isinstance(r[0], int)} == {one_old["new"]}
    total = next(r for r in rows if r[0] == "合计")
    books = next(r for r in rows if r[0] == "账本")
    assert round(total[6] * 100) == 50000 == round(books[6] * 100)  # the old one's reward is left out of both
    since = xlsx_ids(api.as_("finance").get(f"payouts/export.xlsx?from={one_old['since']}"))
    assert since == {one_old["old"], one_old["new"]}


@pytest.mark.rule("LED-6")
def test_the_xlsx_keeps_money_exact_and_formatted_and_its_header_bold(api, two_payouts):
    resp = api.as_("finance").get("payouts/export.xlsx?status=paid")
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    assert all(cell.font.b for cell in sheet[1])
    reward = sheet.cell(row=2, column=7)
    assert reward.value == 500 and reward.number_format == "#,##0.00"
    paid = next(row for row in sheet.iter_rows() if row[0].value == "已支付")
    assert paid[8].value == 500 and paid[8].number_format == "#,##0.00"
    assert sheet.column_dimensions["C"].width == 22


@pytest.mark.rule("LED-6")
def test_an_xlsx_above_the_direct_bound_is_refused_and_nothing_is_written(app, api, two_payouts, monkeypatch):
    monkeypatch.setattr(settings, "export_direct_max_rows", 1)
    before = count_rows(AuditEvent)
    resp = api.as_("finance").get("payouts/export.xlsx")
    assert resp.status_code == 409 and resp.json["code"] == "export_too_large"
    assert "请缩短期间" in resp.json["message"]
    assert count_rows(PayoutExport) == 0 and count_rows(AuditEvent) == before
    browser = browser_as(app, "finance")
    before = count_rows(AuditEvent)
    page = browser.get("/payouts/export.xlsx?status=all")
    assert page.status_code == 409
    assert "无法直接导出 Excel：请缩短期间，或使用“导出（后台）”导出 CSV" in text(page)
    assert count_rows(PayoutExport) == 0 and count_rows(AuditEvent) == before
    assert xlsx_ids(api.as_("finance").get("payouts/export.xlsx?status=paid")) == {str(two_payouts[0]["id"])}


def test_a_page_csv_above_the_bound_queues_the_same_90_days(app, one_old, monkeypatch):
    """The page's CSV above the bound asks for the background export of what it would have sent:
    the last 90 days without from/to (as the API does), not every payout."""
    monkeypatch.setattr(settings, "export_direct_max_rows", 0)
    resp = browser_as(app, "finance").get("/payouts/export.csv")
    assert resp.status_code == 302
    job = db.session.execute(select(PayoutExport)).scalar_one()
    assert job.filters.get("recent") is True and job.filters["date_from"]
    assert direct_events() == []  # the job's own events tell its story ("requested" ...)


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("door", ["api", "page"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_direct_export_is_audited_with_who_the_format_and_the_filters(app, api, world, two_payouts, door, fmt):
    client = api.as_("finance") if door == "api" else browser_as(app, "finance")
    prefix = "payouts" if door == "api" else "/payouts"
    start = clock.now()
    resp = client.get(f"{prefix}/export.{fmt}?status=paid")
    csv_ids(resp) if fmt == "csv" else xlsx_ids(resp)  # read whole, as a client would
    resp = client.get(f"{prefix}/export.{fmt}?store_id={world.store.id}&from=2026-01-01&to=2026-01-31")
    resp.get_data()
    first, second = direct_events()
    finance = world["finance"]
    assert (first.actor_id, first.action, second.actor_id) == (finance.id, "downloaded", finance.id)
    assert first.after["format"] == second.after["format"] == fmt
    assert first.after["default_period"] is True and second.after["default_period"] is False
    applied = first.after["filters"]
    assert applied["status"] == "paid" and "date_to" not in applied
    since = datetime.fromisoformat(applied["date_from"])  # the request's now, less DEFAULT_DAYS days
    assert timedelta(0) <= since - (start - timedelta(days=export.DEFAULT_DAYS)) < timedelta(minutes=5)
    assert second.after["filters"]["store_id"] == world.store.id
    assert second.after["filters"]["date_from"].startswith("2026-01-01T00:00:00+08")
    assert second.after["filters"]["date_to"].startswith("2026-02-01T00:00:00+08")


def test_a_refused_direct_export_writes_no_audit_event(api, world):
    resp = api.as_("manager").get("payouts/export.xlsx")
    assert resp.status_code == 403 and direct_events() == []
