"""The service advisor's home page is the desk's work queue (issue 15 item 1): customers whose
points lapse within the warning period, each linked to their points page, and catalog items
running out; both scoped by the advisor's store."""
from __future__ import annotations

import time_machine

from loyalty.points import worklist
from tests.flows import catalog_item, visit
from tests.web import browser_as, visible_text

EARNED = "2026-01-05T02:00:00+00:00"  # its points lapse 24 months on (policy): 2028-01-05
SOON = "2027-12-20T02:00:00+00:00"  # 16 days before: inside the 30-day warning
LATER_ON = "2026-08-01T02:00:00+00:00"  # far from lapsing


def _earn(api, world, people):
    with time_machine.travel(EARNED, tick=False):
        assert visit(api, people["zhang"], world.store, 128000).status_code == 201  # ¥1,280.00: 128 points
        assert visit(api, people["other"], world.other_store, 50000, who="service_b").status_code == 201


def test_points_lapsing_soon_are_counted_in_the_advisors_store(app, api, world, people):
    _earn(api, world, people)
    lapse = people["zhang"].id
    with time_machine.travel(SOON, tick=False):
        customers, points, first = worklist.lapsing_points(world["service"])
        assert (customers, points) == (1, 128) and [item.customer_id for item in first] == [lapse]
        assert worklist.lapsing_points(world["service_b"])[:2] == (1, 50)  # the other store sees its own
    with time_machine.travel(LATER_ON, tick=False):  # nothing waits
        assert worklist.lapsing_points(world["service"])[:2] == (0, 0)


def test_catalog_items_running_out_are_counted_for_the_store(app, world):
    catalog_item("雨刮片", price=300, stock=2)
    catalog_item("机油滤芯", price=500, stock=40)
    catalog_item("洗车券", price=50)  # not counted: never runs out
    catalog_item("香薰", price=80, stock=1, store_id=world.other_store.id)  # another store's
    assert [item.name_zh for item in worklist.running_out(world["service"])] == ["雨刮片"]
    assert [item.name_zh for item in worklist.running_out(world["service_b"])] == ["香薰", "雨刮片"]


def test_the_advisors_home_shows_both_tiles_in_chinese_with_links(app, api, world, people):
    _earn(api, world, people)
    catalog_item("雨刮片", price=300, stock=2)
    with time_machine.travel(SOON, tick=False):
        browser = browser_as(app, "service")
        html = browser.get("/").get_data(as_text=True)
    shown = visible_text(html)
    assert "30 天内到期的积分" in shown and "共 128 积分" in shown and "张三：128 积分" in shown
    assert f'/customers/{people["zhang"].id}/points' in html
    assert "即将缺货或已售罄的兑换商品" in shown and "雨刮片（剩 2 件）" in shown
