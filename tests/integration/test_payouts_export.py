"""The payout export opens in a spreadsheet with Chinese intact, and its totals equal the ledger's (LED-6)."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.flows import balances, new_referee, payout_of, post, read_csv, verified_referral


def footer(rows, label):
    return next(r for r in rows if r and r[0] == label)


def fen(text) -> int:
    return int((Decimal(str(text)) * 100).to_integral_value())


@pytest.mark.rule("LED-6")
def test_the_csv_keeps_chinese_and_its_totals_equal_the_ledger(api, world, people, two_payouts):
    first, second = two_payouts
    rows = read_csv(api.as_("finance").get("payouts/export.csv"))
    header = rows[0]
    assert header[:3] == ["奖励发放", "推荐", "门店"] and "收款人姓名" in header
    body = {r[0]: r for r in rows[1:] if r and r[0].isdigit()}
    assert set(body) == {str(first["id"]), str(second["id"])}
    paid = body[str(first["id"])]
    assert "张三" in paid and "微信支付" in paid and "微信-4200001" in paid and "已支付" in paid
    assert "浦东店" in paid[2] and paid[6] == "500.00"
    total, paid_row, books = footer(rows, "合计"), footer(rows, "已支付"), footer(rows, "账本")
    assert fen(total[6]) == 100000 == fen(books[6])  # the rewards the ledger posted for these payouts
    clearing = balances(api, f"store:{world.store.id}")["cash_clearing"]["posted"]
    assert fen(paid_row[8]) == fen(books[8]) == -clearing == 50000
    awaiting = read_csv(api.as_("finance").get("payouts/export.csv?status=awaiting_approval"))
    payable = balances(api, f"customer:{people['zhang'].id}")["reward_payable"]["posted"]
    assert fen(footer(awaiting, "合计")[6]) == payable == 50000


@pytest.mark.rule("LED-6")
def test_the_xlsx_reads_back_with_chinese_and_reconciles(api, world, two_payouts):
    first, _ = two_payouts
    resp = api.as_("finance").get("payouts/export.xlsx?status=paid")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["奖励发放", "推荐", "门店"]
    assert rows[1][0] == first["id"] and rows[1][4] == "张三" and rows[1][12] == "微信支付"
    assert round(rows[1][6] * 100) == 50000
    books = next(r for r in rows if r[0] == "账本")
    clearing = balances(api, f"store:{world.store.id}")["cash_clearing"]["posted"]
    assert round(books[8] * 100) == -clearing == 50000


@pytest.mark.rule("LED-6")
def test_the_export_filters_by_store_and_date(api, world, two_payouts):
    def ids(query):
        rows = read_csv(api.as_("finance").get(f"payouts/export.csv{query}"))
        return [r[0] for r in rows[1:] if r and r[0].isdigit()]
    assert len(ids("")) == 2
    assert ids(f"?store_id={world.other_store.id}") == []
    assert ids("?from=2099-01-01") == [] and len(ids("?to=2099-01-01")) == 2
    assert api.as_("manager").get("payouts/export.csv").status_code == 403


def test_the_csv_streams_the_last_90_days_unless_a_period_is_given(api, two_payouts):
    """Issue 16: the CSV is a generator response (constant memory); without from/to it holds the
    payouts requested in the last 90 days, an older one only when a period asks for it."""
    from datetime import timedelta

    from loyalty import clock
    from loyalty.extensions import db
    from loyalty.payouts import export
    from loyalty.payouts.models import Payout
    first, second = two_payouts
    resp = api.as_("finance").get("payouts/export.csv")
    assert resp.is_streamed and "Content-Length" not in resp.headers
    assert {r[0] for r in read_csv(resp)[1:] if r and r[0].isdigit()} == {str(first["id"]), str(second["id"])}
    old = clock.now() - timedelta(days=export.DEFAULT_DAYS + 1)
    db.session.get(Payout, first["id"]).requested_at = old
    db.session.commit()
    rows = read_csv(api.as_("finance").get("payouts/export.csv"))
    assert {r[0] for r in rows[1:] if r and r[0].isdigit()} == {str(second["id"])}
    assert fen(footer(rows, "合计")[6]) == 50000 == fen(footer(rows, "账本")[6])
    since = (old - timedelta(days=1)).date().isoformat()
    again = read_csv(api.as_("finance").get(f"payouts/export.csv?from={since}"))
    assert {r[0] for r in again[1:] if r and r[0].isdigit()} == {str(first["id"]), str(second["id"])}
