"""Yuan on screen, integer fen in storage: exact decimal-string parsing, never float."""
from __future__ import annotations

import re
import unicodedata

_YUAN = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,2}))?$")
_WHOLE = re.compile(r"^[0-9]{1,12}$")


class BadAmount(ValueError):
    """The text is not an amount of yuan with at most 2 decimals."""


def _ascii(text: str | None) -> str:
    """Full-width input from a Chinese IME ('１２．５０', '，', '￥') as ASCII; other scripts' digits stay out."""
    return unicodedata.normalize("NFKC", text or "").strip()


def yuan_to_fen(text: str | None) -> int:
    """'500' or '500.00' → 50000; '0.5' → 50; '1,234.5' → 123450; '1.234' is refused."""
    cleaned = _ascii(text).replace(",", "").removeprefix("¥").strip()
    match = _YUAN.match(cleaned)
    if match is None:
        raise BadAmount(text)
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def fen_to_yuan(fen: int | None) -> str:
    """50000 → '500.00'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_to_yuan_grouped(fen: int | None) -> str:
    """For reading on a page: 450000 → '4,500.00' (thousands grouped; exports keep fen_to_yuan)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def whole_number(text: str | None) -> int:
    """Points are whole: '300' → 300."""
    cleaned = _ascii(text).replace(",", "")
    if not _WHOLE.match(cleaned):
        raise BadAmount(text)
    return int(cleaned)
