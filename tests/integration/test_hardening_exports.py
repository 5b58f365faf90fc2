"""Security review, finding 3: no export hands a spreadsheet a live formula (OWASP CSV injection).

A customer named `=HYPERLINK(...)`, a payment reference `+cmd|...` or a staff name `@SUM(...)`
must reach the payout CSV and XLSX and the report CSVs as text, never as a formula."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from loyalty.directory import service as directory
from loyalty.extensions import db
from tests.flows import answer, claim, delivered_referral, payout_of, plan_of, post, truthful
from verification.referrals.models import Referral

LINK = '=HYPERLINK("http://evil.example/x","点击")'
CMD = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
CODE = "=SH01"
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def poisoned(api, world, people, due_at_once, monkeypatch):
    """A verified referral whose referrer renamed himself to a formula before the payout was
    requested, paid with a formula as its reference; the approver's and store's names too."""
    rid = delivered_referral(api, world, people, "referee", monkeypatch)
    directory.update_customer(None, people["zhang"].id, {"name": LINK})
    directory.update_staff(None, world["finance"].id, {"display_name": SUM})
    directory.update_store(None, world.store.id, {"name": MINUS, "code": CODE})
    db.session.commit()
    call = claim(api).json
    assert answer(api, call["id"], [truthful(q) for q in plan_of(rid).questions]).status_code == 200
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "verified"
    payout = payout_of(api, rid)
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "a1").status_code == 200
    assert post(api, "finance", f"payouts/{payout['id']}/paid", "p1", method="bank_transfer",
                external_reference=CMD).status_code == 200
    return payout


def csv_cells(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"), newline="")))
    return [cell for row in rows for cell in row]


def assert_inert(cells: list[str], *originals: str) -> None:
    for cell in cells:
        assert not cell.startswith(DANGEROUS_START) or _is_number(cell), cell
    for original in originals:
        assert "'" + original in cells, (original, cells)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.mark.rule("LED-6")
def test_payout_csv_cells_cannot_start_a_formula(api, poisoned):
    assert_inert(csv_cells(api.as_("finance").get("payouts/export.csv")), LINK, CMD, SUM)


@pytest.mark.rule("LED-6")
def test_payout_xlsx_holds_those_values_as_text_not_formulas(api, poisoned):
    resp = api.as_("finance").get("payouts/export.xlsx")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    seen = {}
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                seen[cell.value] = cell.data_type
    for original in (LINK, CMD, SUM):
        assert seen.get("'" + original) == "s", (original, seen)
    # money stays numeric
    body = [r for r in sheet.iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
    assert round(body[0][6] * 100) == 50000


@pytest.mark.rule("SEC-4")
def test_a_control_character_in_a_name_still_exports_to_xlsx(api, world, poisoned):
    """XML (so XLSX) cannot carry most control characters; a store named with one (the API took it,
    as the schema probe found) exports with U+FFFD in its place instead of a 500."""
    directory.update_store(None, world.store.id, {"name": "浦东\x07店\x1b"})
    db.session.commit()
    resp = api.as_("finance").get("payouts/export.xlsx")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cells = [c for row in load_workbook(io.BytesIO(resp.get_data())).active.iter_rows(values_only=True)
             for c in row if isinstance(c, str)]
    assert any("浦东\ufffd店\ufffd" in c for c in cells), cells


@pytest.mark.rule("LED-9")
def test_report_csvs_cannot_start_a_formula(api, world, poisoned):
    directory.update_staff(None, world["consultant"].id, {"display_name": LINK})
    db.session.commit()
    fraud = csv_cells(api.as_("finance").get("reports/fraud.csv?by=consultant"))
    assert_inert(fraud, LINK)
    label = f"{CODE} {MINUS}"
    assert_inert(csv_cells(api.as_("finance").get("reports/fraud.csv?by=store")), label, CODE)
    assert_inert(csv_cells(api.as_("finance").get("reports/timeliness.csv")), label)
    assert_inert(csv_cells(api.as_("finance").get("reports/liabilities.csv")), CODE, MINUS)
