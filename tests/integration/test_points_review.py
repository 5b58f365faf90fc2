"""Review findings of issue 15 on the points pages and API (a reviewer walked the app in Chromium):
out-of-range visit amounts, the API's cap, Chinese ledger reasons, grouped figures, lot words and
sold-out catalog items."""
from __future__ import annotations

import re

import pytest

from loyalty.extensions import db
from loyalty.limits import MAX_FEN
from loyalty.points import catalog
from tests.flows import visit
from tests.helpers import new_customer, row_counts
from tests.web import browser_as, text


@pytest.fixture
def wang(app, world):
    return new_customer(world.store.id, name="王五", phone="13900139000")


def _hidden(html: str, test: str) -> dict:
    form = re.search(rf'<form[^>]*data-test="{test}".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input[^>]*name="(csrf_token|key)"[^>]*value="([^"]+)"', form))


@pytest.mark.parametrize("amount, message", [
    ("0", "请输入大于 0 的金额。"),
    ("0.00", "请输入大于 0 的金额。"),
    ("10000000.01", "金额不能超过 ¥10,000,000.00。"),
    ("999999999999", "金额不能超过 ¥10,000,000.00。"),
])
def test_a_visit_amount_out_of_range_is_422_at_its_field_and_writes_nothing(app, world, wang, amount, message):
    desk = browser_as(app, "service")
    hidden = _hidden(text(desk.get(f"/customers/{wang.id}/points")), "visit-form")
    before = row_counts()
    resp = desk.post(f"/customers/{wang.id}/points/visits", data={**hidden, "amount": amount})
    html = text(resp)
    assert resp.status_code == 422 and 'data-test="error-amount"' in html, html[:300]
    assert message in html.split('data-test="error-amount"')[1][:200]
    assert row_counts() == before
    assert desk.post(f"/customers/{wang.id}/points/visits",
                     data={**hidden, "amount": "10,000,000.00"}).status_code == 302
