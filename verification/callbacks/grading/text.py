"""Free text normalised before it is read: NFKC (full-width letters and digits), traditional to
simplified characters, case, accents (pinyin typed with tones), punctuation; and its pinyin."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from verification.callbacks.traditional import to_simplified

_SEPARATORS = re.compile(r"[\s,，。.;；!！?？、:：/\\|()（）\[\]【】\"'“”‘’~～…—\-_]+")


_BREAKS = re.compile(r"[,，。.;；!！?？、:：/\\|…]+|或者|还是|也许")


def normalise(text: str | None, *, breaks: bool = False) -> str:
    """NFKC, simplified characters, lower case, no accents; punctuation becomes one space
    (with `breaks`, clause breaks such as commas become ' | ')."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text)
    if breaks:
        text = _BREAKS.sub(" | ", text)
    return re.sub(r" +", " ", _SEPARATORS.sub(" ", text) if not breaks else
                  re.sub(r"[^\S ]+|[\s\-_()（）\[\]【】\"'“”‘’~～—]+", " ", text)).strip()


def clauses(text: str | None) -> list[str]:
    """'上汽，或者中行' -> ['上汽', '中行']."""
    return [c.strip() for c in normalise(text, breaks=True).split("|") if c.strip()]


def compact(text: str) -> str:
    """No spaces at all (Chinese does not use them; '上 汽' == '上汽')."""
    return text.replace(" ", "")


# Shanghai names whose reading pypinyin gets wrong (行 is háng in 闵行, 长 is cháng in 长宁).
_READINGS = {"闵行": ("min", "hang"), "高行": ("gao", "hang"), "杨行": ("yang", "hang"), "庙行": ("miao", "hang"),
             "殷行": ("yin", "hang"), "庄行": ("zhuang", "hang"), "长宁": ("chang", "ning"),
             "长桥": ("chang", "qiao"), "长风": ("chang", "feng"), "长白": ("chang", "bai"),
             "长海": ("chang", "hai")}
_READING_WORDS = re.compile("|".join(_READINGS))


@lru_cache(maxsize=65536)
def pinyin(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables; latin words pass through as words."""
    out: list[str] = []
    at = 0
    for m in [*_READING_WORDS.finditer(text), None]:
        chunk_text = text[at: m.start() if m else len(text)]
        for chunk in lazy_pinyin(chunk_text, style=Style.NORMAL, v_to_u=True, errors="default") if chunk_text else ():
            chunk = "".join(ch for ch in unicodedata.normalize("NFKD", chunk) if not unicodedata.combining(ch))
            out.extend(w for w in re.split(r"[^a-z0-9]+", chunk.lower()) if w)
        if m:
            out.extend(_READINGS[m.group(0)])
            at = m.end()
    return tuple(out)
