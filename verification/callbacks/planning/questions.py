"""CB-3: what the callee is asked, drawn with `secrets` (a CSPRNG: nobody predicts a plan, CB-4).

Question selection (tuned with bench/verification_power.py):

* 4 questions when the party has at least 4 usable facts (a car's model and
  colour count as two), else 3; never two questions on the same fact (a "car"
  statement uses both model and colour).
* At least one open question (employer, home district, business, occupation), one trap
  (a wrong value the callee must deny *and* correct) and one true statement
  (so that "no" to everything fails); the rest is drawn by weight.
* Each (kind, fact) has a weight: how hard it is to guess for someone who does
  not know the party, times how reliably a real acquaintance knows it. Facts the
  claim disclosed (the referrer's model and colour) are worth almost nothing
  against a coached fake and get a small weight; transmission (two values, two
  thirds automatic) is a weak fact and is only used when nothing else fills the
  plan: a fake guesses it right half the time, while a real friend does not know
  it about one time in three (bench: 27 % of genuine answers wrong, 45 % of fakes'),
  so it flagged real referrals without stopping fakes. A friend's business is
  known less often still (35 % of genuine answers wrong) but fakes almost never
  guess it: asked mostly when employer or district is missing. The occupation (职业, on
  the purchase form) is weighted like the employer: a friend knows it as well, and it is
  the hidden fact that a coached fake, who knows the referrer's car from the claim, cannot
  read anywhere (bench: coached fakes passing fell from about 5 % to about 2 % with it).
  Whole plans are enumerated and one is drawn with probability proportional to
  the product of its questions' weights, then shuffled.
* False values come from the catalog (what the group really sells, or the
  districts/employers/businesses on record) and are never canonically equal to
  any true value of the party (all their cars are considered).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache, lru_cache

from verification.callbacks.planning.inputs import (
    CAR_FACTS,
    OPEN_FACTS,
    Catalog,
    NotEnoughFacts,
    PartyFacts,
    PlannedQuestion,
    Template,
)
from verification.callbacks.planning.script import display, who
from verification.callbacks.planning.templates import DEFAULT_TEMPLATES
from verification.callbacks.planning.values import false_values, other_choices, true_values

# (kind, fact) -> weight; a question on a disclosed fact is multiplied by DISCLOSED_FACTOR.
WEIGHTS: dict[tuple[str, str], float] = {
    ("open", "employer"): 1.0, ("open", "home_district"): 1.0, ("open", "business"): 0.08,
    ("open", "occupation"): 1.0,
    ("trap", "employer"): 0.6, ("trap", "home_district"): 0.6, ("trap", "business"): 0.06,
    ("trap", "occupation"): 0.6,
    ("truth", "employer"): 0.6, ("truth", "home_district"): 0.6, ("truth", "business"): 0.06,
    ("truth", "occupation"): 0.6,
    ("trap", "car"): 1.0, ("trap", "model"): 0.8, ("trap", "colour"): 0.8, ("trap", "transmission"): 0.005,
    ("truth", "car"): 1.0, ("truth", "model"): 0.8, ("truth", "colour"): 0.8, ("truth", "transmission"): 0.005,
}
DISCLOSED_FACTOR = 0.1
# A plan with two true statements lets a caller who says "yes" to everything pass on one lucky
# guess; one true statement and the rest traps / open questions is the strong mix.
SECOND_TRUTH_FACTOR = 0.1
# With two cars, a true statement names one of them, and a friend who only knows the other one
# would deny it; traps are safe (their false value fits neither car).
MULTI_CAR_TRUTH_FACTOR = 0.2
UNKNOWN_FACT_WEIGHT = 0.3  # facts of custom templates this module does not know


@cache
def _uses(fact: str) -> frozenset[str]:
    return frozenset(("model", "colour")) if fact == "car" else frozenset((fact,))


def _weight(kind: str, fact: str, disclosed: frozenset[str], cars: int = 1) -> float:
    w = WEIGHTS.get((kind, fact), UNKNOWN_FACT_WEIGHT)
    if _uses(fact) & disclosed:
        w *= DISCLOSED_FACTOR
    if kind == "truth" and cars > 1 and fact in CAR_FACTS:
        w *= MULTI_CAR_TRUTH_FACTOR
    return w


def _choice(seq):
    return seq[secrets.randbelow(len(seq))]


def _weighted_index(weights: list[float]) -> int:
    scale = 1_000_000
    ints = [max(1, round(w * scale)) for w in weights]
    pick = secrets.randbelow(sum(ints))
    for i, w in enumerate(ints):
        if pick < w:
            return i
        pick -= w
    return len(ints) - 1  # pragma: no cover


def _fill(template: str, who_text: str, value: str | None) -> str:
    return template.replace("{who}", who_text).replace("{value}", value or "")


@dataclass(frozen=True)
class Candidates:
    """Every plan of questions the facts about a party allow, with its drawing weight."""
    about: PartyFacts
    plans: tuple[tuple[tuple[str, str], ...], ...]
    weights: tuple[float, ...]
    paired: frozenset[str]
    open_templates: dict
    stmt_templates: dict
    falses: dict


def candidate_plans(about: PartyFacts, *, disclosed: frozenset[str] = frozenset(), catalog: Catalog,
                    templates: tuple[Template, ...] = DEFAULT_TEMPLATES, count: int | None = None) -> Candidates:
    """The plans of 3-4 questions about `about` and their weights (CB-3); NotEnoughFacts if none."""
    if count is not None and count not in (3, 4):
        raise ValueError("count must be 3 or 4")
    disclosed = frozenset(disclosed or ())
    open_templates: dict[str, list[Template]] = {}
    stmt_templates: dict[str, list[Template]] = {}
    for t in templates:
        if t.kind == "open":
            open_templates.setdefault(t.fact, []).append(t)
        elif t.kind == "statement":
            stmt_templates.setdefault(t.fact, []).append(t)

    # every (kind, fact) that can be asked about this party
    options: list[tuple[str, str]] = []
    falses: dict[str, list[str]] = {}
    for fact in open_templates:
        if fact in OPEN_FACTS and true_values(about, fact):
            options.append(("open", fact))
    for fact in stmt_templates:
        if not true_values(about, fact):
            continue
        options.append(("truth", fact))
        falses[fact] = false_values(about, fact, catalog)
        if falses[fact]:
            options.append(("trap", fact))

    facts_available = {f for _, f in options}
    units = set().union(*(_uses(f) for f in facts_available)) if facts_available else set()
    n = count or (4 if len(units) >= 4 else 3)

    options_key = tuple(sorted(options))
    paired = paired_open_facts(about, disclosed)
    plans = _plans(options_key, n, paired)
    if not plans and count is None and n == 4:
        n = 3
        plans = _plans(options_key, n, paired)
    if not plans:
        raise NotEnoughFacts(f"cannot form {n} questions about {about.name!r}: the store holds too few facts "
                             f"(available: {sorted(facts_available) or 'none'})")
    weights = tuple(_plan_weight(p, disclosed, len(about.vehicles)) for p in plans)
    return Candidates(about, tuple(plans), weights, paired, open_templates, stmt_templates, falses)


def pick_plan(candidates: Candidates, allowed: list[int] | None = None) -> tuple[tuple[str, str], ...]:
    """One plan drawn with `secrets`, in proportion to its weight (among `allowed` indexes if given)."""
    indexes = list(range(len(candidates.plans))) if allowed is None else allowed
    chosen = indexes[_weighted_index([candidates.weights[i] for i in indexes])]
    return candidates.plans[chosen]


def instantiate(candidates: Candidates, plan, catalog: Catalog) -> list[PlannedQuestion]:
    """The questions of a plan, shuffled, with truths, false values and texts drawn with `secrets`."""
    about = candidates.about
    plan = list(plan)
    secrets.SystemRandom().shuffle(plan)
    plan = _open_before_statement(plan, candidates.paired)
    who_zh, who_en = who(about, "zh"), who(about, "en")
    out: list[PlannedQuestion] = []
    for i, (kind, fact) in enumerate(plan, start=1):
        truths = true_values(about, fact)
        true_value = _choice(truths)
        alternatives = tuple(t for t in truths if t != true_value)
        if kind == "open":
            template = _choice(candidates.open_templates[fact])
            asked = None
        else:
            template = _choice(candidates.stmt_templates[fact])
            asked = _choice(candidates.falses[fact]) if kind == "trap" else true_value
        out.append(PlannedQuestion(
            key=f"q{i}", template_code=template.code, kind=kind, fact=fact, true_value=true_value,
            asked_value=asked,
            text_zh=_fill(template.text_zh, who_zh, display(fact, asked, "zh") if asked else None),
            text_en=_fill(template.text_en, who_en, display(fact, asked, "en") if asked else None),
            alternatives=alternatives, choices=other_choices(about, fact, catalog)))
    return out


def draw_questions(about: PartyFacts, *, disclosed: frozenset[str] = frozenset(), catalog: Catalog,
                   templates: tuple[Template, ...] = DEFAULT_TEMPLATES, count: int | None = None
                   ) -> list[PlannedQuestion]:
    """3-4 questions about `about` (the party *not* on the phone), drawn with `secrets` (CB-3)."""
    candidates = candidate_plans(about, disclosed=disclosed, catalog=catalog, templates=templates, count=count)
    return instantiate(candidates, pick_plan(candidates), catalog)


def paired_open_facts(about: PartyFacts, disclosed: frozenset[str]) -> frozenset[str]:
    """Open facts that may be asked twice (open, then as a statement) in one call.

    When a fake can be told the party's car (the claim, the sale, the delivery check) and the store
    holds fewer than two facts he cannot be told (a fact the referral's own staff recorded counts as
    told, CB-10), a coached fake knows or can guess everything but one fact: asking that one fact in
    two forms makes a lucky guess count once, not let him through (bench/verification_power.py
    measures it). Pairing two hidden facts would flag real friends who miss one of them twice; such
    plans are left weak and a passing verdict goes to a manager instead (CB-11).
    """
    hidden = frozenset(f for f in OPEN_FACTS if true_values(about, f) and f not in disclosed)
    if len(hidden) < 2 and disclosed & {"model", "colour"}:
        return hidden
    return frozenset()


def _open_before_statement(plan: list[tuple[str, str]], paired: frozenset[str]) -> list[tuple[str, str]]:
    """A statement must not read out the answer to the open question on the same fact."""
    for fact in paired:
        spots = [i for i, (_, f) in enumerate(plan) if f == fact]
        if len(spots) == 2:
            first, second = spots
            if plan[second][0] == "open":
                plan[first], plan[second] = plan[second], plan[first]
    return plan


@lru_cache(maxsize=4096)
def _plans(options: tuple[tuple[str, str], ...], n: int,
           paired: frozenset[str] = frozenset()) -> list[tuple[tuple[str, str], ...]]:
    """All sets of n questions on disjoint facts, the strongest mix of kinds the facts allow.

    Wanted: >= 1 open, >= 1 trap, >= 1 truth. When no plan has all three, the
    requirement is relaxed (truth first, then trap, then open) rather than failing,
    as long as n questions can be formed at all.
    """
    candidates = []

    def extend(start: int, chosen: tuple, used: frozenset) -> None:
        if len(chosen) == n:
            candidates.append(chosen)
            return
        for i in range(start, len(options)):
            kind, fact = options[i]
            uses = frozenset({"open:" + fact}) if kind == "open" and fact in paired else _uses(fact)
            if not uses & used:
                extend(i + 1, chosen + (options[i],), used | uses)

    extend(0, (), frozenset())
    for needed in (("open", "trap", "truth"), ("open", "trap"), ("open", "truth"), ("trap", "truth"),
                   ("open",), ("trap",), ()):
        found = [c for c in candidates if all(any(k == kind for k, _ in c) for kind in needed)]
        if found:
            return found
    return []


def _plan_weight(plan, disclosed: frozenset[str], cars: int = 1) -> float:
    w = 1.0
    for kind, fact in plan:
        w *= _weight(kind, fact, disclosed, cars)
    if sum(1 for kind, _ in plan if kind == "truth") >= 2:
        w *= SECOND_TRUTH_FACTOR
    return w
