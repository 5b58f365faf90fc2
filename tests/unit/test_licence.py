"""Reading licence models the 行驶证 way (DEL-3). No database."""
from __future__ import annotations

import pytest

from verification.delivery.licence import MATCH, MISMATCH, MISSING, UNREADABLE, canon_model, model_verdict, read_model


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("typed, brand, code, name", [
    ("大众汽车牌SVW7141BRD(速腾)", "大众汽车", "SVW7141BRD", "速腾"),
    ("大众汽车牌SVW7141BRD（速腾）", "大众汽车", "SVW7141BRD", "速腾"),      # full-width brackets
    ("大众汽车牌ＳＶＷ７１４１ＢＲＤ（速腾）", "大众汽车", "SVW7141BRD", "速腾"),  # full-width letters too
    ("一汽-大众牌FV7146BBDBG", "一汽-大众", "FV7146BBDBG", None),
    ("一汽-大众牌 FV7146BBDBG 【速腾】", "一汽-大众", "FV7146BBDBG", "速腾"),
    ("大众汽车牌svw7141brd(速腾)", "大众汽车", "SVW7141BRD", "速腾"),        # typed in lower case
    ("FV7146BBDBG", None, "FV7146BBDBG", None),
    ("大众速腾", "大众", None, "速腾"),
    ("一汽-大众 速腾", "一汽-大众", None, "速腾"),
    ("速腾", None, None, "速腾"),
    ("Sagitar", None, None, "Sagitar"),
    ("大众", "大众", None, None),
    ("大众汽车牌", "大众汽车", None, None),
])
def test_licence_models_are_split_into_brand_code_and_common_name(typed, brand, code, name):
    read = read_model(typed)
    assert (read.brand_text, read.code, read.name) == (brand, code, name)


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("brand", ["大众汽车", "一汽-大众", "一汽大众", "上汽大众", "Volkswagen", "ＶＷ"])
def test_volkswagen_is_one_brand_however_written(brand):
    assert read_model(f"{brand}牌FV7146BBDBG").brand == "volkswagen"


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("typed, canon", [
    ("速腾", "sagitar"), ("速腾 1.4T", "sagitar"), ("速腾2019款", "sagitar"), ("一汽大众速腾 280TSI", "sagitar"),
    ("途观L", "tiguan l"), ("途观 2.0T", "tiguan"), ("高尔夫8", "golf"),
])
def test_a_trim_or_engine_after_the_name_keeps_the_model(typed, canon):
    assert canon_model(typed) == canon


def test_another_name_that_starts_like_a_known_model_is_not_that_model():
    assert canon_model("高尔夫嘉旅") != "golf"


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("licence, expected", [
    ("大众汽车牌SVW7141BRD(速腾)", MATCH),
    ("大众汽车牌SVW7141BRD（Sagitar）", MATCH),
    ("一汽-大众牌FV7146BBDBG(速腾 1.4T)", MATCH),
    ("大众汽车牌SVW7141BRD(捷达)", MISMATCH),
    ("速腾", MATCH),
    ("捷达", MISMATCH),
    ("", MISSING),
])
def test_the_model_row_compares_the_common_name(licence, expected):
    assert model_verdict(read_model(licence), "速腾", "速腾").result == expected


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("licence", ["一汽-大众牌FV7146BBDBG", "大众汽车牌SVW7141BRD", "FV7146BBDBG", "大众汽车牌",
                                     "捷达牌FV7152FBDWG"])
def test_a_bare_model_code_is_never_called_a_match(licence):
    verdict = model_verdict(read_model(licence), "速腾", "速腾")
    assert verdict.result == UNREADABLE and verdict.note == "code_only"


@pytest.mark.rule("DEL-3")
@pytest.mark.parametrize("licence", ["丰田牌TV7253HEV", "一汽丰田牌TV7164GLS(卡罗拉)", "丰田牌TV7164(速腾)"])
def test_a_licence_of_another_brand_is_a_mismatch_even_without_a_common_name(licence):
    verdict = model_verdict(read_model(licence), "速腾", "速腾")
    assert verdict.result == MISMATCH and verdict.note == "brand_differs"


def test_a_missing_side_is_missing_not_a_match():
    assert model_verdict(read_model("大众汽车牌SVW7141BRD(速腾)"), "速腾", None).result == MISSING
