"""Traditional -> simplified Chinese for what callers and agents type (张三 for 張三, 速腾 for 速騰).

OpenCC's t2s conversion (opencc, pinned in setup.cfg): phrase-aware, and it covers every character,
where the hand-made table it replaces covered 268 and left 後來, 頭髮, 一隻, 乾洗, 瀋陽 unconverted.
"""
from __future__ import annotations

import opencc

_T2S = opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """'張三 銀色 自動擋' -> '张三 银色 自动挡'; simplified text is left as it is."""
    return _T2S.convert(text) if text else text
