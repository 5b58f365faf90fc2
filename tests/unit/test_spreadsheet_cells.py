"""The one function every export passes its cells through (OWASP CSV injection guidance)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.web.tables import csv_bytes, spreadsheet_text


@pytest.mark.parametrize("value", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1",
                                   '=HYPERLINK("http://x","点击")', "-", "+", "=", "@", "-cmd"])
def test_a_cell_that_a_spreadsheet_would_run_is_prefixed_as_text(value):
    assert spreadsheet_text(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "500.00", "-12.50", "+86", "-3", "12.5%", "", "a=b", " =1",
                                   "'=1+1", 42, -7, Decimal("-1.50"), None])
def test_plain_text_numbers_and_non_text_pass_unchanged(value):
    assert spreadsheet_text(value) == value


def test_csv_bytes_neutralises_header_and_rows():
    text = csv_bytes(["=x"], [["=1+1", "-12.50", 3]]).decode("utf-8-sig")
    assert text == "'=x\r\n'=1+1,-12.50,3\r\n"
