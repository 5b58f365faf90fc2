"""Text people type: what counts as visible, and the characters refused outright.

A name made only of zero-width spaces (U+200B) looks empty on every screen and list, and the
bidi controls (U+202A-U+202E, U+2066-U+2069, "Trojan Source", CVE-2021-42574) make text display
in another order than it is stored: 张三\u202e0008 shows as 张三8000. One rule, used by every
input schema (loyalty.schemas.InputSchema) and by the directory services that the pages and
the CLI call, so no door lets such text in.
"""
from __future__ import annotations

import unicodedata

from loyalty.errors import field_error

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters by category that every font draws as blank space.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
NO_BIDI = "Remove the text-direction control characters."
NOT_VISIBLE = "Type visible characters, not only spaces or invisible ones."


def is_visible(text: str) -> bool:
    """Whether `text` holds at least one character a reader can see: a letter, digit,
    punctuation or symbol (not a format or control character, separator, lone mark or blank)."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_LETTERS for ch in text)


def text_problem(text: str) -> str | None:
    """What is wrong with a non-empty piece of typed text, or None."""
    if any(ch in BIDI_CONTROLS for ch in text):
        return NO_BIDI
    if text and not is_visible(text):
        return NOT_VISIBLE
    return None


def visible_text(value: str | None, field: str) -> str:
    """A required text field: trimmed, refused (field error on `field`) when it shows nothing
    or carries bidi controls."""
    text = (value or "").strip()
    problem = text_problem(text) if text else NOT_VISIBLE
    if problem:
        raise field_error(field, problem)
    return text
