"""Security review, finding 2: a masked phone cannot be recovered by searching (SEC-3).

Staff who see 138****8000 find customers by phone only with the last four digits or the whole
number; a prefix matches nothing, so `+861380`, `+8613800`, ... no longer spell the number out.
Admins see phones in full and may search by any part. `%` and `_` typed in a search match
themselves (every LIKE is escaped)."""
from __future__ import annotations

import pytest

from tests.helpers import new_customer
from tests.web import Browser, login


@pytest.fixture
def people(app, world):
    return {
        "zhang": new_customer(world.store.id, "张三", "13800138000"),
        "li": new_customer(world.store.id, "李四", "13912345678"),
        "pct": new_customer(world.store.id, "100%满意", "13611112222"),
        "under": new_customer(world.store.id, "王_五", "13533334444"),
    }


def names(resp) -> set[str]:
    assert resp.status_code == 200, resp.json
    return {c["name"] for c in resp.json["items"]}


PREFIXES = ["+861380", "+8613800", "+86138001", "+861380013", "+8613800138", "138001", "1380013800",
            "0013800", "380013", "00138000"]


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("who", ["consultant", "manager"])
def test_a_masked_searcher_cannot_walk_a_phone_digit_by_digit(api, people, who):
    for prefix in PREFIXES:
        for param in ("q", "phone"):
            resp = api.as_(who).get("customers", query_string={param: prefix})
            if param == "phone":
                assert resp.status_code == 422, (prefix, resp.json)
                assert "phone" in resp.json["fields"]
            else:
                assert names(resp) == set(), prefix


@pytest.mark.rule("SEC-3")
def test_a_masked_searcher_finds_by_last_four_digits_or_the_whole_number(api, people):
    as_ = api.as_("consultant")
    assert names(as_.get("customers", query_string={"q": "8000"})) == {"张三"}
    assert names(as_.get("customers", query_string={"phone": "5678"})) == {"李四"}
    for whole in ("13800138000", "+86 138 0013 8000", "138-0013-8000", "１３８００１３８０００"):
        assert names(as_.get("customers", query_string={"q": whole})) == {"张三"}, whole
        assert names(as_.get("customers", query_string={"phone": whole})) == {"张三"}, whole
    # four digits that are not the end of the number find nobody
    assert names(as_.get("customers", query_string={"q": "1380"})) == set()
    assert names(as_.get("customers", query_string={"q": "0013"})) == set()


@pytest.mark.rule("SEC-3")
def test_an_admin_who_sees_full_phones_may_search_any_part(api, people):
    as_ = api.as_("admin")
    assert names(as_.get("customers", query_string={"q": "+8613800"})) == {"张三"}
    assert names(as_.get("customers", query_string={"q": "1234"})) == {"李四"}
    assert names(as_.get("customers", query_string={"phone": "1380013"})) == {"张三"}


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("who", ["consultant", "admin"])
def test_like_wildcards_typed_in_a_search_match_themselves(api, people, who):
    as_ = api.as_(who)
    assert names(as_.get("customers", query_string={"q": "%"})) == {"100%满意"}
    assert names(as_.get("customers", query_string={"q": "_"})) == {"王_五"}
    assert names(as_.get("customers", query_string={"q": "%%"})) == set()
    assert names(as_.get("customers", query_string={"q": "\\"})) == set()
    assert names(as_.get("customers", query_string={"q": "张"})) == {"张三"}


@pytest.mark.rule("SEC-3")
def test_the_search_page_keeps_the_same_rules(app, people):
    browser = Browser(app)
    login(browser, "consultant")

    def found(q):
        html = browser.get("/customers", query_string={"q": q}).get_data(as_text=True)
        return {n for n in ("张三", "李四", "100%满意", "王_五") if f">{n}</a>" in html}
    for prefix in PREFIXES:
        assert found(prefix) == set(), prefix
    assert found("%") == {"100%满意"}
    assert found("8000") == {"张三"}
    assert found("138 0013 8000") == {"张三"}
    html = browser.get("/customers", query_string={"q": "8000"}).get_data(as_text=True)
    assert "138****8000" in html and "13800138000" not in html
