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


# ---- the points page: grouped figures, lot words, full-width colons, sold-out items -----------

def _select_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="item".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_points_are_grouped_on_the_page_and_lots_read_as_points(app, api, world, wang):
    assert visit(api, wang, world.store, MAX_FEN).status_code == 201  # 1,000,000 points at ¥10 a point
    desk = browser_as(app, "service")
    page = text(desk.get(f"/customers/{wang.id}/points"))
    assert re.search(r'data-test="points-available">1,000,000<', page)
    assert "积分余额：" in page and "积分余额:" not in page
    assert "1000000" not in page.replace("1000000000", "")  # every figure of points grouped
    lots = page.split('data-test="points-lots"')[1]
    assert "有效" in lots and "启用" not in lots
    assert "+1,000,000" in page.split('data-test="points-entries"')[1]
    hidden = _hidden(page, "visit-form")
    done = desk.post(f"/customers/{wang.id}/points/visits", data={**hidden, "amount": "12,345,670"})
    assert done.status_code == 422  # above the maximum: the page says so, nothing more
    hidden = _hidden(text(desk.get(f"/customers/{wang.id}/points")), "visit-form")
    done = desk.post(f"/customers/{wang.id}/points/visits", data={**hidden, "amount": "9,999,990"})
    assert "累积 999,999 积分" in text(desk.get(done.location))


def test_a_sold_out_item_is_not_offered_and_the_home_tile_says_sold_out(app, api, world, wang):
    catalog.create_item(None, code="GONE", name_zh="香薰", price=80, stock=0)
    catalog.create_item(None, code="WIPER", name_zh="雨刮片", price=300, stock=2)
    db.session.commit()
    visit(api, wang, world.store, 100_000)
    desk = browser_as(app, "service")
    page = text(desk.get(f"/customers/{wang.id}/points"))
    assert _select_options(page) == ["雨刮片"]
    offer = page.split('data-test="catalog-offer"')[1].split("</table>")[0]
    assert "香薰" in offer and "已售罄" in offer
    home = text(desk.get("/"))
    assert "香薰（已售罄）" in home and "剩 0 件" not in home and "雨刮片（剩 2 件）" in home
    assert "即将缺货或已售罄的兑换商品" in home


def test_when_everything_is_sold_out_the_desk_says_so(app, api, world, wang):
    catalog.create_item(None, code="GONE", name_zh="香薰", price=80, stock=0)
    db.session.commit()
    page = text(browser_as(app, "service").get(f"/customers/{wang.id}/points"))
    assert 'data-test="redeem-form"' not in page and "兑换目录中的商品已全部售罄。" in page
