"""The true and the plausible false values of a fact about a party, compared canonically."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from verification import vocabulary as vocab
from verification.callbacks.planning.inputs import (
    OPEN_FACTS,
    SHANGHAI_DISTRICTS,
    Catalog,
    PartyFacts,
    join_car,
    split_car,
)
from verification.callbacks.traditional import to_simplified


@lru_cache(maxsize=65536)
def canon(fact: str, value: str) -> str:
    if fact == "model":
        return vocab.canon_model(value)
    if fact == "colour":
        return vocab.canon_colour(value)
    if fact == "transmission":
        return vocab.canon_transmission(value)
    if fact == "home_district":
        return vocab.canon_district(value)
    if fact in vocab.SPELLINGS:
        return vocab.canon_spelled(fact, value)
    if fact == "car":
        colour, model = split_car(value)
        return f"{vocab.canon_colour(colour)}|{vocab.canon_model(model)}"
    return fold_plain(value)


def fold_plain(value: str) -> str:
    return vocab.fold(to_simplified(unicodedata.normalize("NFKC", value or "")))


def dedupe(fact: str, values) -> list[str]:
    seen, out = set(), []
    for v in values:
        if not v or not str(v).strip():
            continue
        c = canon(fact, v)
        if c and c not in seen:
            seen.add(c)
            out.append(v)
    return out


def true_values(about: PartyFacts, fact: str) -> list[str]:
    """All true values of a fact (a party may have several cars)."""
    if fact in OPEN_FACTS:
        value = getattr(about, fact)
        return [value] if value and value.strip() else []
    cars = [v for v in about.vehicles if v.model and v.colour]
    if fact == "model":
        return dedupe(fact, [v.model for v in cars])
    if fact == "colour":
        return dedupe(fact, [v.colour for v in cars])
    if fact == "transmission":
        values = dedupe(fact, [v.transmission for v in about.vehicles if v.transmission])
        return values if len(values) == 1 else []  # two cars, two gearboxes: not a yes/no question
    if fact == "car":
        return dedupe(fact, [join_car(v.colour, v.model) for v in cars])
    return []


@lru_cache(maxsize=65536)
def _similar_text(a: str, b: str) -> bool:
    """Two free-text values too close to serve as truth and trap (share a core or fuzzy-match)."""
    from rapidfuzz import fuzz
    fa, fb = fold_plain(a), fold_plain(b)
    return fa in fb or fb in fa or fuzz.ratio(fa, fb) >= 60


def false_values(about: PartyFacts, fact: str, catalog: Catalog) -> list[str]:
    """Plausible wrong values for a trap: real values from the catalog, none equal to any truth."""
    truths = true_values(about, fact)
    if not truths:
        return []
    if fact == "car":
        bad_colours = {vocab.canon_colour(v.colour) for v in about.vehicles}
        bad_models = {vocab.canon_model(v.model) for v in about.vehicles}
        colours = [c for c in dedupe("colour", catalog.colours) if vocab.canon_colour(c) not in bad_colours]
        models = [m for m in dedupe("model", catalog.models) if vocab.canon_model(m) not in bad_models]
        return [join_car(c, m) for c in colours for m in models]
    pool = _pool(fact, catalog, truths)
    bad = {canon(fact, t) for t in truths}
    out = [v for v in dedupe(fact, pool) if canon(fact, v) not in bad]
    if fact in OPEN_FACTS:
        from verification.callbacks.grading import names_the_same  # grading reads this module's questions
        out = [v for v in out if not any(_similar_text(v, t) or names_the_same(fact, v, t) for t in truths)]
    return out


def _pool(fact: str, catalog: Catalog, truths: list[str]) -> tuple[str, ...]:
    pool = {"model": catalog.models, "colour": catalog.colours, "transmission": catalog.transmissions,
            "employer": catalog.employers, "home_district": catalog.districts,
            "business": catalog.businesses, "occupation": catalog.occupations}.get(fact, ())
    if not pool and truths:
        fallback = tuple(vocab.SPELLINGS.get(fact, ())) or (SHANGHAI_DISTRICTS if fact == "home_district" else ())
        known = {canon(fact, v) for v in fallback}
        if all(canon(fact, t) in known for t in truths):
            pool = fallback
    return tuple(pool)


def other_choices(about: PartyFacts, fact: str, catalog: Catalog) -> tuple[str, ...]:
    if fact not in OPEN_FACTS:
        return ()
    pool = _pool(fact, catalog, true_values(about, fact))
    bad = {canon(fact, t) for t in true_values(about, fact)}
    return tuple(v for v in dedupe(fact, pool) if canon(fact, v) not in bad)
