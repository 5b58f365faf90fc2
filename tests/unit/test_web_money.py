"""Yuan typed on pages become integer fen by exact decimal-string parsing, never float."""
from __future__ import annotations

import pytest

from loyalty.web.money import BadAmount, fen_to_yuan, fen_to_yuan_grouped, whole_number, yuan_to_fen


@pytest.mark.rule("LED-1")
@pytest.mark.parametrize("text, fen", [
    ("500", 50000), ("500.00", 50000), ("500.0", 50000), ("0.5", 50), ("0.01", 1), (" 1,234.56 ", 123456),
    ("¥20", 2000), ("0.29", 29), ("1.15", 115), ("１２．５", 1250), ("￥8", 800), ("999999999999.99", 99999999999999),
])
def test_yuan_text_becomes_integer_fen(text, fen):
    result = yuan_to_fen(text)
    assert result == fen and type(result) is int


@pytest.mark.parametrize("text", ["", " ", "1.234", "-5", "+5", "1e3", "abc", "5.", ".5", "1.2.3", "NaN", "١٢", "12 34"])
def test_anything_else_is_refused(text):
    with pytest.raises(BadAmount):
        yuan_to_fen(text)


@pytest.mark.parametrize("fen, text", [(50000, "500.00"), (1, "0.01"), (0, "0.00"), (123456, "1234.56"),
                                       (-250, "-2.50"), (None, "")])
def test_fen_is_shown_as_yuan(fen, text):
    assert fen_to_yuan(fen) == text


def test_round_trip():
    for fen in (0, 1, 9, 10, 99, 100, 101, 12345, 200000):
        assert yuan_to_fen(fen_to_yuan(fen)) == fen


def test_points_are_whole_numbers():
    assert whole_number(" 300 ") == 300
    for bad in ("3.5", "-1", "", "x"):
        with pytest.raises(BadAmount):
            whole_number(bad)


@pytest.mark.parametrize("fen, text", [(450000, "4,500.00"), (50000, "500.00"), (123456789, "1,234,567.89"),
                                       (-1234500, "-12,345.00"), (0, "0.00"), (None, "")])
def test_pages_show_yuan_with_thousands_separators(fen, text):
    """issue 15: ¥4,500.00 on pages; the grouped text still parses back to the same fen."""
    assert fen_to_yuan_grouped(fen) == text
    if fen is not None:
        assert yuan_to_fen(text.lstrip("-")) == abs(fen)


def test_the_yuan_filter_groups_thousands(app):
    from flask import render_template_string
    with app.test_request_context():
        assert render_template_string("¥{{ 450000|yuan }}") == "¥4,500.00"
