"""Car facts (model, colour, transmission) named in an answer, read with the synonym tables of
verification.vocabulary (白/白色/white, 速腾/Sagitar, 自动/自动挡/AT), falling back to pinyin (typing
with the wrong character of the same sound)."""
from __future__ import annotations

import re
from functools import lru_cache

from verification import vocabulary as vocab
from verification.callbacks.grading.grades import CORRECT, WRONG
from verification.callbacks.grading.text import compact, normalise, pinyin
from verification.callbacks.planning import PlannedQuestion, split_car


def _spelling_table(table: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    pairs = {(normalise(s), canon) for canon, spellings in table.items() for s in (canon, *spellings)}
    return sorted(((s, c) for s, c in pairs if s), key=lambda p: -len(p[0]))


_TABLES = {
    "model": _spelling_table(vocab.MODELS),
    "colour": _spelling_table(vocab.COLOURS),
    "transmission": _spelling_table(vocab.TRANSMISSIONS),
}
_CANON = {"model": vocab.canon_model, "colour": vocab.canon_colour, "transmission": vocab.canon_transmission}


@lru_cache(maxsize=4096)
def _pattern(spelling: str) -> re.Pattern:
    parts = [re.escape(ch) for ch in spelling.replace(" ", "")]
    if spelling.isascii():
        return re.compile(r"(?<![a-z0-9])" + r"\s*".join(parts) + r"(?![a-z0-9])")
    return re.compile(r"\s*".join(parts))


def mentions(text: str, fact: str) -> set[str]:
    """Canonical values of a car fact named in (already normalised) text, longest spelling first."""
    found: set[str] = set()
    taken = [False] * len(text)
    for spelling, canon in _TABLES[fact]:
        for m in _pattern(spelling).finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            for k in range(m.start(), m.end()):
                taken[k] = True
            found.add(canon)
    if not found:
        found |= _pinyin_mentions(text, fact)
    return found


def _pinyin_mentions(text: str, fact: str) -> set[str]:
    """'速滕' (same sound as 速腾): match the pinyin of the text against Chinese spellings of >= 2 characters."""
    syllables = pinyin(compact(text))
    if not syllables:
        return set()
    joined = " " + " ".join(syllables) + " "
    found = set()
    for spelling, canon in _TABLES[fact]:
        if len(spelling) >= 2 and re.search(r"[\u3400-\u9fff]", spelling):
            if " " + " ".join(pinyin(spelling)) + " " in joined:
                found.add(canon)
    return found


def _car_truths(q: PlannedQuestion) -> list[tuple[str, str]]:
    """(colour, model) canonical pairs the party really has, when known (car questions)."""
    pairs = []
    for value in (q.true_value, *q.alternatives):
        colour, model = split_car(value)
        pairs.append((vocab.canon_colour(colour), vocab.canon_model(model)))
    return pairs


def _true_set(q: PlannedQuestion, fact: str) -> set[str]:
    return {_CANON[fact](v) for v in (q.true_value, *q.alternatives)}


def _grade_car_claim(q: PlannedQuestion, text: str) -> str | None:
    """Grade what the text asserts about a car fact; None when it asserts nothing recognisable."""
    if q.fact == "car":
        colours, models = mentions(text, "colour"), mentions(text, "model")
        if not colours and not models:
            return None
        pairs = _car_truths(q)
        ok_colours = {c for c, _ in pairs}
        ok_models = {m for _, m in pairs}
        if not colours <= ok_colours or not models <= ok_models:
            return WRONG
        if colours and models and not any(c in colours and m in models for c, m in pairs):
            return WRONG  # the colour of one car with the model of another
        return CORRECT
    said = mentions(text, q.fact)
    if not said:
        return None
    return CORRECT if said <= _true_set(q, q.fact) else WRONG
