"""Verification strength (CB-11): how likely a callee coached by the referral's own staff passes.

Pure functions, no database. The commonest fake is a consultant with a friend: the friend knows
whatever the referral's own staff (the registering consultant, the acknowledging, reviewing and
checking managers) could read or recorded. For a planned call the estimate is the chance that a
callee who knows exactly those facts, and guesses everything else, ends the call with fewer than
two wrong answers (CB-8).

* A question on a fact the insider knows is answered right.
* Anything else is guessed. A guess hits the truth with the truth's share among the values on
  record (the same frequencies a fake would guess from; Laplace-smoothed, so a value nobody else
  has still has a small chance). That is `guess` below.
* Statements need a yes or a no first. The insider does not know which statements are traps, so
  he follows one policy for all of them: say yes with probability y (y in 0, 1/4, ... 1) and deny
  with a guessed correction otherwise; or believe one guess per fact and answer by it ("consistent",
  which answers an open question and a statement on the same fact alike, right or wrong together).
  The estimate is the best of these policies.
* "Don't know" is not a way to pass: it hands the call over to the other party (CB-9).

`bench/verification_power.py` checks the estimate against simulated insiders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping

from verification.callbacks import planning

YES_RATES = (0.0, 0.25, 0.5, 0.75, 1.0)
# A weak plan is drawn among those within this much of the strongest one.
NEAR_BEST = 0.02
# How many values of a fact a fake could plausibly pick from, whatever few the records hold: the
# guess chance of a value is its share on record, smoothed towards 1 / this (a store with three
# customers on record does not make an employer easy to guess).
PLAUSIBLE_VALUES = {"employer": 50, "home_district": 16, "business": 30, "occupation": 30, "model": 20,
                    "colour": 10, "transmission": 2}


@dataclass(frozen=True)
class Frequencies:
    """fact -> canonical value -> how many customers (or vehicles) on record have it."""
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Iterable[str]]) -> Frequencies:
        """From plain lists of values (a value listed twice counts twice)."""
        return cls.counted({fact: ((value, 1) for value in raw) for fact, raw in values.items()})

    @classmethod
    def counted(cls, values: Mapping[str, Iterable[tuple[str, int]]]) -> Frequencies:
        """From (value, how many) pairs per fact, e.g. a GROUP BY."""
        counts: dict[str, dict[str, int]] = {}
        for fact, pairs in values.items():
            table = counts.setdefault(fact, {})
            for value, n in pairs:
                if value and str(value).strip():
                    canon = planning.canon(fact, value)
                    table[canon] = table.get(canon, 0) + n
        return cls(counts)

    def share(self, fact: str, value: str) -> float:
        """The chance that a guess drawn like the values on record is `value` (smoothed)."""
        if fact == "car":
            colour, model = planning.split_car(value)
            return self.share("colour", colour) * self.share("model", model)
        table = self.counts.get(fact, {})
        total, distinct = sum(table.values()), len(table)
        spread = max(PLAUSIBLE_VALUES.get(fact, 20), distinct + 1)
        return (table.get(planning.canon(fact, value), 0) + 1) / (total + spread)


def guess_chance(fact: str, truths, freq: Frequencies) -> float:
    """The chance a guess names the truth (the best of the truths when the party has several cars)."""
    return round(min(1.0, max(freq.share(fact, t) for t in truths)), 6)


def guess(question: planning.PlannedQuestion, freq: Frequencies) -> float:
    return guess_chance(question.fact, (question.true_value, *question.alternatives), freq)


def _units(questions: list[planning.PlannedQuestion], known: frozenset[str]) -> list[list]:
    """Questions grouped by the fact they use (a paired open question and statement share one)."""
    groups: dict[frozenset, list] = {}
    for q in questions:
        uses = _uses(q.fact)
        if uses <= known:
            continue  # answered right: costs the insider nothing
        groups.setdefault(uses, []).append(q)
    return list(groups.values())


def _pass_chance(wrong_dists: list[list[float]]) -> float:
    """P(fewer than two wrong) from each unit's distribution of wrong answers (0, 1, 2 ...)."""
    dist = [1.0, 0.0, 0.0]  # dist[k]: chance of k wrong so far, k capped at 2
    for unit in wrong_dists:
        nxt = [0.0, 0.0, 0.0]
        for k, p in enumerate(dist):
            if p:
                for w, q in enumerate(unit):
                    nxt[min(k + w, 2)] += p * q
        dist = nxt
    return dist[0] + dist[1]


def _policy_unit(kinds: tuple[str, ...], g: float, y: float | None) -> list[float]:
    """Distribution of wrong answers in one unit under a policy (y: yes-rate; None: consistent)."""
    if y is None:  # one believed value for the fact: all right, or all wrong
        dist = [0.0] * (len(kinds) + 1)
        dist[0], dist[len(kinds)] = g, 1 - g
        return dist
    dist = [1.0]
    for kind in kinds:
        right = g if kind == "open" else (y if kind == "truth" else (1 - y) * g)
        nxt = [0.0] * (len(dist) + 1)
        for k, p in enumerate(dist):
            nxt[k] += p * right
            nxt[k + 1] += p * (1 - right)
        dist = nxt
    return dist


@lru_cache(maxsize=65536)
def _chance(signature: tuple[tuple[tuple[str, ...], float], ...]) -> float:
    return max(_pass_chance([_policy_unit(kinds, g, y) for kinds, g in signature]) for y in (*YES_RATES, None))


def insider_pass(questions, known: Iterable[str], freq: Frequencies) -> float:
    """The estimated chance that a callee who knows the `known` facts passes these questions."""
    units = _units(list(questions), frozenset(known))
    return _chance(tuple(sorted((tuple(sorted(q.kind for q in unit)), guess(unit[0], freq))
                                for unit in units)))


def to_bp(chance: float) -> int:
    """A chance in basis points (1 bp = 0.01 %), rounded up so a limit is never met by rounding."""
    return min(10000, max(0, -int(-chance * 10000 // 1)))


def _uses(fact: str) -> frozenset[str]:
    return frozenset(("model", "colour")) if fact == "car" else frozenset((fact,))


def plan_chance(plan, known: frozenset[str], guesses: dict[str, float]) -> float:
    """`insider_pass` of a plan of (kind, fact) pairs, from each fact's guess chance."""
    units: dict[frozenset, list[str]] = {}
    g_of: dict[frozenset, float] = {}
    for kind, fact in plan:
        uses = _uses(fact)
        if uses <= known:
            continue
        units.setdefault(uses, []).append(kind)
        g_of[uses] = guesses[fact]
    return _chance(tuple(sorted((tuple(sorted(kinds)), g_of[uses]) for uses, kinds in units.items())))


@dataclass(frozen=True)
class StrongPlan:
    questions: list[planning.PlannedQuestion]
    insider_pass: float
    strong: bool  # within the limit


def draw_strong(about: planning.PartyFacts, *, known: frozenset[str], catalog: planning.Catalog,
                freq: Frequencies, limit: float,
                templates: tuple[planning.Template, ...] = planning.DEFAULT_TEMPLATES) -> StrongPlan:
    """Draw a plan about `about` among those an insider passes with at most `limit` (CB-11).

    Facts the insider knows are weighed like disclosed ones. When no plan is that strong, the plan
    is drawn among the strongest the facts allow and marked weak: the caller then tries the other
    party or asks a manager to confirm a passing verdict.
    """
    candidates = planning.candidate_plans(about, disclosed=known, catalog=catalog, templates=templates)
    facts = {fact for plan in candidates.plans for _, fact in plan}
    guesses = {fact: guess_chance(fact, planning.true_values(about, fact), freq) for fact in facts}
    chances = [plan_chance(plan, known, guesses) for plan in candidates.plans]
    strong = [i for i, chance in enumerate(chances) if chance <= limit]
    if not strong:  # the best the facts allow, still drawn at random among the near-best
        best = min(chances)
        strong = [i for i, chance in enumerate(chances) if chance <= best + NEAR_BEST]
    plan = planning.pick_plan(candidates, strong)
    questions = planning.instantiate(candidates, plan, catalog)
    chance = insider_pass(questions, known, freq)
    return StrongPlan(questions, chance, chance <= limit)


@dataclass(frozen=True)
class CallChoice:
    party: str                # who is called: "referee" or "referrer"
    plan: StrongPlan          # the questions, about the other party
    known: frozenset[str]     # what the referral's own staff know of the party asked about
    fallback: str | None      # why the drawn callee is not the one called, if he is not


def other_party(party: str) -> str:
    return "referrer" if party == "referee" else "referee"


def choose_call(drawn: str, about: dict, *, catalog: planning.Catalog, freq: Frequencies, limit: float,
                templates: tuple[planning.Template, ...] = planning.DEFAULT_TEMPLATES) -> CallChoice:
    """Whom to call and what to ask (CB-1, CB-3, CB-11).

    `about[party]` is (facts, known): what the store holds of the party asked about when `party` is
    called, and what the referral's staff know of it. The drawn callee is called when a strong plan
    about the other party exists; else the other party is called if a strong plan about the first
    exists; else the stronger of the two weak plans is used (its passing verdict waits for a manager).
    NotEnoughFacts when neither party can be asked.
    """
    drafts: dict[str, StrongPlan] = {}
    for party in (drawn, other_party(drawn)):
        facts, known = about[party]
        try:
            drafts[party] = draw_strong(facts, known=known, catalog=catalog, freq=freq, limit=limit,
                                        templates=templates)
        except planning.NotEnoughFacts:
            continue
        if drafts[party].strong:
            break
    if not drafts:
        raise planning.NotEnoughFacts("neither party can be asked 3 questions")
    strong = [party for party, plan in drafts.items() if plan.strong]
    party = strong[0] if strong else min(drafts, key=lambda p: drafts[p].insider_pass)
    fallback = None
    if party != drawn:
        fallback = ("too few facts about the other party" if drawn not in drafts
                    else "the plan about the other party was too weak")
    return CallChoice(party, drafts[party], frozenset(about[party][1]), fallback)
