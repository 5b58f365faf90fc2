"""Review findings of issue 15 on the points pages and API (a reviewer walked the app in Chromium):
out-of-range visit amounts, the API's cap, Chinese ledger reasons, grouped figures, lot words and
sold-out catalog items."""
from __future__ import annotations

import re

import pytest

from loyalty.errors import ValidationFailed
from loyalty.extensions import db
from loyalty.ledger.models import Transfer
from loyalty.limits import MAX_FEN
from loyalty.points import catalog
from loyalty.points import service as points
from loyalty.points.models import PointsRedemption
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


# ---- the API's cap and the ledger's words ----------------------------------------------------

def test_the_api_caps_a_visit_at_the_desks_maximum_and_documents_it(api, client, world, wang):
    api.token("service")
    before = row_counts()
    for amount in (MAX_FEN + 1, 10**12):
        resp = visit(api, wang, world.store, amount)
        assert resp.status_code == 422 and "amount" in resp.json["fields"], resp.json
    assert row_counts() == before
    with pytest.raises(ValidationFailed) as refused:  # the service says so too, whoever calls it
        points.earn_for_visit(None, wang.id, store_id=world.store.id, amount=MAX_FEN + 1, key="too-much")
    assert "amount" in refused.value.fields
    db.session.rollback()
    ok = visit(api, wang, world.store, MAX_FEN)
    assert ok.status_code == 201 and ok.json["points"] == MAX_FEN // 1000, ok.json
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["VisitIn"]
    assert schema["properties"]["amount"]["maximum"] == MAX_FEN == 1_000_000_000
    assert "10,000,000.00" in schema["properties"]["amount"]["description"]


def test_visit_and_redemption_reasons_are_chinese(api, world, wang):
    resp = visit(api, wang, world.store, 128_000)
    assert resp.status_code == 201
    assert resp.json["lot"]["reason"] == f"维修进站 {world.store.name}：¥1,280.00，累积 128 积分"
    item = catalog.create_item(None, code="WASH", name_zh="精洗一次", price=30)
    db.session.commit()
    done = api.as_("service").post(f"customers/{wang.id}/redemptions", json={"item": item.id, "quantity": 2},
                                   headers={"Idempotency-Key": "zh-1"})
    assert done.status_code == 201, done.json
    db.session.rollback()
    redemption = db.session.get(PointsRedemption, done.json["id"])
    assert db.session.get(Transfer, redemption.transfer_id).reason == "积分兑换 2 × 精洗一次（WASH），使用 60 积分"
