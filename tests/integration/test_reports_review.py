"""Review finding of issue 15: the liabilities chart labels group thousands like the page's table
(¥13,500.00); the CSV keeps plain numbers."""
from __future__ import annotations

import csv
import io

from loyalty.reports import service
from loyalty.reports.service import Liabilities, StoreLiability
from tests.web import browser_as, text


def test_liability_chart_labels_group_thousands_and_the_csv_does_not(app, world, monkeypatch):
    report = Liabilities(stores=[StoreLiability(world.store.id, "SH01", "浦东店", pending=1_350_000,
                                                awaiting=123_456_789, approved=0)])
    monkeypatch.setattr(service, "liabilities", lambda actor: report)
    finance = browser_as(app, "finance")
    page = text(finance.get("/reports/liabilities"))
    pending = page.split('data-test="chart-pending"')[1].split("</svg>")[0]
    payable = page.split('data-test="chart-payable"')[1].split("</svg>")[0]
    assert "¥13,500.00" in pending and "¥13500.00" not in pending
    assert "¥1,234,567.89" in payable
    rows = list(csv.reader(io.StringIO(finance.get("/reports/liabilities.csv").get_data().decode("utf-8-sig"))))
    assert rows[1][:3] == ["SH01", "浦东店", "13500.00"] and rows[1][-1] == "1234567.89"
