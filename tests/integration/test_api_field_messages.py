"""API error `fields` follow Accept-Language like `message` (issue 15 items 5 and 7): Chinese by
default and for zh-CN, English for en; marshmallow's own messages included, those that carry a
value (Length, Range, OneOf) with the value kept."""
from __future__ import annotations

import pytest

from tests.helpers import new_customer

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def post_customer(api, body, headers):
    return api.as_("consultant").post("customers", json=body, headers=headers)


@pytest.mark.rule("SEC-4")
def test_marshmallow_field_messages_are_chinese_under_zh_cn(api, world):
    resp = post_customer(api, {"store_id": "x", "phone": "", "gender": "other", "extra": 1}, ZH)
    assert resp.status_code == 422 and resp.json["message"] == "部分字段填写有误。"
    fields = resp.json["fields"]
    assert fields["name"] == ["缺少必填字段。"]
    assert fields["store_id"] == ["不是有效的整数。"]
    assert fields["phone"] == ["长度必须在 3 到 32 之间。"]
    assert fields["gender"][0].startswith("必须是以下之一：")
    assert fields["extra"] == ["未知字段。"]


@pytest.mark.rule("SEC-4")
def test_field_messages_are_chinese_without_an_accept_language(api, world):
    resp = post_customer(api, {"store_id": 0, "name": "张三", "phone": "13712340001"}, {})
    assert resp.status_code == 422
    assert resp.json["fields"]["store_id"] == [f"必须大于或等于 1，且小于或等于 {2**31 - 1}。"]


@pytest.mark.rule("SEC-4")
def test_field_messages_stay_english_under_en(api, world):
    resp = post_customer(api, {"store_id": "x", "phone": "", "gender": "other", "extra": 1}, EN)
    assert resp.status_code == 422 and resp.json["message"] == "Some fields are not valid."
    fields = resp.json["fields"]
    assert fields["name"] == ["Missing data for required field."]
    assert fields["store_id"] == ["Not a valid integer."]
    assert fields["phone"] == ["Length must be between 3 and 32."]
    assert fields["gender"][0].startswith("Must be one of: ")
    assert fields["extra"] == ["Unknown field."]


@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("headers, expected", [(ZH, "必须是以下之一：automatic, manual。"),
                                               (EN, "Must be one of: automatic, manual.")])
def test_a_value_in_a_message_is_kept_in_either_language(api, world, headers, expected):
    zhang = new_customer(world.store.id)
    resp = api.as_("consultant").post(f"customers/{zhang.id}/vehicles", headers=headers,
                                      json={"model": "轩逸", "colour": "白", "transmission": "cvt"})
    assert resp.status_code == 422
    assert resp.json["fields"]["transmission"] == [expected]


# One language per test: the test's app context spans its requests, and flask-babel keeps the
# first request's locale in it (each real request has its own context).
@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("headers, expected", [(ZH, "必填，1 到 160 个字符。"), (EN, "Required, 1 to 160 characters.")])
def test_domain_field_messages_follow_the_language_too(api, world, headers, expected):
    zhang = new_customer(world.store.id)
    resp = api.as_("service").post(f"customers/{zhang.id}/service-visits", headers=headers,
                                      json={"store_id": world.store.id, "amount": 100})
    assert resp.status_code == 422 and resp.json["code"] == "idempotency_key_required"
    assert resp.json["fields"] == {"Idempotency-Key": [expected]}


@pytest.mark.rule("SEC-4")
def test_nested_field_messages_are_translated(api, world):
    resp = api.as_("consultant").post("referrals", headers=ZH, json={
        "store_id": world.store.id, "referrer_id": 1, "referee_id": 2, "claim": {"referrer_name": 5}})
    assert resp.status_code == 422
    claim = resp.json["fields"]["claim"]
    assert claim["referrer_name"] == ["不是有效的字符串。"]
    assert "缺少必填字段。" in claim["referrer_phone"]
