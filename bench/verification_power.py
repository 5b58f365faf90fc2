"""How well does the callback catch fakes, insiders included, without flagging real acquaintances?

Simulates referrals against the service's own planning (verification.callbacks.strength.choose_call:
callee drawn, plan strength against the referral's own staff, the other party or a manager's
confirmation when the plan is weak), grading and outcome, with synthetic referrer/referee pairs drawn
like the demo data (loyalty/demo.py: its models, colours, employers, districts, businesses,
occupations and their frequencies).

Who recorded what (CB-10): the new customer's record is typed by the registering consultant at the
desk in 85 % of referrals (else it came from the service desk or an import); the old customer's
record was typed by the same consultant in 10 % (he sold him his car), by the acknowledging or the
checking manager in 3 % each. The planner weighs facts recorded by the referral's staff like facts
the claim disclosed, and estimates per call the chance that a callee coached by the staff passes.

Callees:
1. genuine acquaintances with realistic recall: they sometimes do not know the business or the
   gearbox, say '上汽' for '上海汽车集团' and '浦东' for '浦东新区', the agent mistypes now and then,
   and now and then they are simply wrong;
2. coached fakes, who know what the claim disclosed (the referrer's name, model and colour) and guess
   everything else from the demo frequencies;
3. strangers, who guess everything;
4. a coached pair, both told both cars;
5. insiders: a fake coached by one member of the referral's own staff with exactly what that member's
   role can read or that member recorded: the registering consultant (both cars' model and colour:
   the claim and the car he sold; every fact of a record he typed), the acknowledging manager (the
   claim; records he typed), the checking manager (the referrer's vehicle on record, gearbox
   included, seen in the delivery check; records he typed). Both directions: the callee may be the
   new or the old customer.

Fakes are tried with five answering strategies (consistent: believe one guess per fact and answer
accordingly; yes-man: say yes to every statement they cannot check; denier: say no and "correct" with
a guess; dodger: "don't know" to all they would have to guess; dodge-one: "don't know" once, guess
the rest); a kind's figure is the worst of the five.

A call is simulated the way the service runs it: "don't know" is not a wrong answer on the first
call; a call that fails only with the "don't know"s hands over to the other party, asked about the
first, and that call decides with "don't know" counted as wrong. A "verified" verdict on a weak plan
(estimated insider pass above the 5 % limit) is held for a manager: it is counted as "held", not as
a pass.

Run:  .venv/bin/python bench/verification_power.py [referrals-per-kind] [--catalog lead|full|both]
Targets: insider-coached pass <= 5 %, coached <= 5 %, strangers <= 1 %, genuine flagged fraudulent
<= 2 %, review (any undecided answer) <= 10 %; also printed: the share held for a manager (the
managers' extra work on genuine referrals) and the estimate against what insiders really achieve.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verification import vocabulary as vocab  # noqa: E402
from verification.callbacks import grading, planning, strength  # noqa: E402
from verification.callbacks.planning import Catalog, PartyFacts, VehicleFacts  # noqa: E402

try:  # the demo's own lists (importing loyalty.demo needs no database)
    from loyalty.demo import BUSINESSES, COLOURS, DISTRICTS, EMPLOYERS, GIVEN, MODELS, OCCUPATIONS, SURNAMES
except Exception:  # pragma: no cover - keep the bench runnable on its own
    raise

RNG = random.Random(20261125)  # the simulated people; the plans themselves use `secrets`

# how people really name the demo employers (colloquial forms a friend would use)
EMPLOYER_SAYINGS = {
    "上海汽车集团": ["上海汽车集团", "上汽", "上汽集团", "上海汽车", "在上汽上班", "上汽那边"],
    "中国银行浦东支行": ["中国银行浦东支行", "中国银行", "中行", "在中国银行上班", "中国银行浦东"],
    "华为上海研究所": ["华为上海研究所", "华为", "华为研究所", "在华为上班"],
    "浦东新区人民医院": ["浦东新区人民医院", "浦东人民医院", "人民医院", "浦东新区人民医院上班"],
    "上海交通大学": ["上海交通大学", "交大", "上海交大", "交通大学"],
    "中国移动上海公司": ["中国移动上海公司", "中国移动", "移动公司", "在移动上班"],
    "宝钢集团": ["宝钢集团", "宝钢", "在宝钢"],
    "东方航空": ["东方航空", "东航", "东方航空公司"],
    "联合利华中国": ["联合利华中国", "联合利华", "在联合利华"],
    "平安保险上海分公司": ["平安保险上海分公司", "平安保险", "中国平安", "平安"],
    "上海地铁运营公司": ["上海地铁运营公司", "地铁公司", "上海地铁", "地铁运营"],
    "张江高科": ["张江高科", "张江高科技"],
    "自由职业": ["自由职业", "自由职业者", "自由职业吧"],
    "上海市第一中学": ["上海市第一中学", "市一中", "第一中学", "上海一中"],
    "京东物流上海分公司": ["京东物流上海分公司", "京东物流", "京东"],
}
# How often the agent did not get a callee's correction down. It was 2 % until the service refused
# a "no" without what the customer said (service.record_answers, WRITE_IT_DOWN): the agent now has
# to ask again and write it. A callee who has no correction is modelled by what he knows, not here.
MISSED_CORRECTION = 0.0
# The occupation (职业) is on the purchase form; the demo fills it for 90 % of customers. A friend
# knows what the other does for a living about as well as where he works (employer: 94 %).
OCCUPATION_ON_RECORD = 0.9
OCCUPATION_RECALL = 0.94
TYPO_POOL = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"


# ---- parties --------------------------------------------------------------------------

def make_party() -> PartyFacts:
    name = RNG.choice(SURNAMES) + "".join(RNG.choice(GIVEN) for _ in range(RNG.choice((1, 2))))
    cars = tuple(VehicleFacts(model=RNG.choice(MODELS), colour=RNG.choice(COLOURS),
                              transmission=RNG.choice(["automatic", "automatic", "manual"]))
                 for _ in range(1 if RNG.random() < 0.85 else 2))
    return PartyFacts(name=name, gender=RNG.choice(["male", "female"]),
                      employer=RNG.choice(EMPLOYERS) if RNG.random() < 0.8 else None,
                      home_district=RNG.choice(DISTRICTS),
                      business=RNG.choice(BUSINESSES) if RNG.random() < 0.35 else None, vehicles=cars,
                      occupation=RNG.choice(OCCUPATIONS) if RNG.random() < OCCUPATION_ON_RECORD else None)


def guess(fact: str, exclude: str | None = None) -> str:
    """A value drawn from the demo frequencies (what a fake would guess)."""
    pool = {"employer": EMPLOYERS, "home_district": DISTRICTS, "business": BUSINESSES, "occupation": OCCUPATIONS,
            "model": MODELS,
            "colour": COLOURS, "transmission": ["automatic", "automatic", "manual"]}[fact]
    canon = planning.canon
    choices = [v for v in pool if exclude is None or canon(fact, v) != canon(fact, exclude)]
    return RNG.choice(choices)


# ---- beliefs: what the callee thinks is true about the other party -------------------------

class Belief:
    """fact -> value (None: does not know). Cars: list of dicts with colour/model/transmission."""

    def __init__(self, facts: dict, cars: list[dict], careful: bool, knows_car: bool = True):
        self.facts = facts
        self.cars = cars
        self.careful = careful  # genuine people say 'not sure'; fakes guess (or dodge, see one_call)
        self.knows_car = knows_car
        self.told: frozenset[str] = frozenset()  # what a fake was told (the rest he guesses)


def genuine_belief(p: PartyFacts) -> Belief:
    def recall(value, know, wrong, fact):
        if value is None:
            return None
        r = RNG.random()
        if r < wrong:
            return guess(fact, exclude=value)
        return value if r < know else None
    facts = {"employer": recall(p.employer, 0.94, 0.02, "employer"),
             "home_district": recall(p.home_district, 0.96, 0.015, "home_district"),
             "business": recall(p.business, 0.70, 0.05, "business"),
             "occupation": recall(p.occupation, OCCUPATION_RECALL, 0.02, "occupation")}
    cars = []
    for i, v in enumerate(p.vehicles):
        if i > 0 and RNG.random() > 0.6:
            continue  # does not know about the second car
        cars.append({"model": recall(v.model, 0.98, 0.01, "model"),
                     "colour": recall(v.colour, 0.97, 0.015, "colour"),
                     "transmission": recall(v.transmission, 0.70, 0.02, "transmission")})
    return Belief(facts, cars, careful=True)


# ---- how things are said ---------------------------------------------------------------------

def say(fact: str, value: str) -> str:
    if fact == "employer":
        return RNG.choice(EMPLOYER_SAYINGS.get(value, [value]))
    if fact == "home_district":
        short = vocab.canon_district(value)
        return RNG.choice([value, value, short, short, f"在{short}那边", f"住{short}", f"上海{short}"])
    if fact == "business":
        canon = vocab.canon_business(value)
        spoken = [s for s in vocab.BUSINESSES.get(canon, (value,)) if not s.isascii()]
        s = RNG.choice(spoken)
        return s + ("的" if RNG.random() < 0.3 else "")
    if fact == "occupation":
        spoken = [s for s in vocab.OCCUPATIONS.get(vocab.canon_occupation(value), (value,)) if not s.isascii()]
        return RNG.choice(spoken) + ("的" if RNG.random() < 0.2 else "")
    if fact == "model":
        canon = vocab.canon_model(value)
        r = RNG.random()
        if r < 0.1 and canon in vocab.MODELS:
            return canon.title()
        return ("大众" + value) if r < 0.15 else value
    if fact == "colour":
        base = value.rstrip("色")
        return RNG.choice([value, value, base + "的", base, vocab.canon_colour(value)])
    if fact == "transmission":
        return RNG.choice({"automatic": ["自动挡", "自动", "自动档", "AT"],
                           "manual": ["手动挡", "手动", "手动档"]}[value])
    return value


def _homophones() -> dict[str, list[str]]:
    from pypinyin import lazy_pinyin
    pool = set(TYPO_POOL + "".join(EMPLOYERS + DISTRICTS + BUSINESSES + MODELS + COLOURS) + GIVEN + SURNAMES)
    pool |= set("汽气器骑起启企期其奇区曲去趣驱取腾滕藤疼誊达答打大搭杭航行项巷交教焦郊浇骄胶")
    by_sound: dict[str, list[str]] = {}
    for ch in sorted(pool):
        if "\u4e00" <= ch <= "\u9fff":
            by_sound.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return {ch: [o for o in group if o != ch] for group in by_sound.values() for ch in group}


HOMOPHONES = _homophones()


def typo(text: str, rate: float) -> str:
    """The agent mistypes now and then: mostly the wrong character of the same sound (pinyin
    input), sometimes a dropped or a stray character."""
    if not text or RNG.random() >= rate:
        return text
    i = RNG.randrange(len(text))
    r = RNG.random()
    if r < 0.6 and HOMOPHONES.get(text[i]):
        return text[:i] + RNG.choice(HOMOPHONES[text[i]]) + text[i + 1:]
    if r < 0.8 and len(text) > 3:
        return text[:i] + text[i + 1:]
    return text[:i] + RNG.choice(TYPO_POOL) + text[i + 1:]


def car_matches(car: dict, fact: str, asked: str) -> bool | None:
    canon = planning.canon
    if fact == "car":
        colour, model = planning.split_car(asked)
        if car["colour"] is None or car["model"] is None:
            return None
        return canon("colour", car["colour"]) == canon("colour", colour) and \
            canon("model", car["model"]) == canon("model", model)
    if car[fact] is None:
        return None
    return canon(fact, car[fact]) == canon(fact, asked)


def correction(fact: str, belief_car: dict | None, belief_value: str | None) -> str:
    if fact == "car":
        parts = RNG.choice([("colour", "model"), ("colour", "model"), ("colour",), ("model",),
                            ("colour", "transmission", "model")])
        bits = [say(k, belief_car[k]) for k in parts if belief_car.get(k)]
        return "".join(bits)
    if fact in ("model", "colour", "transmission"):
        return say(fact, belief_car[fact])
    return say(fact, belief_value)


# ---- answering ---------------------------------------------------------------------------------

def answer(q: planning.PlannedQuestion, belief: Belief, strategy: str) -> tuple[bool | None, str]:
    """(confirmed, text) as the agent records them. The callee sees the question, not its kind."""
    noise = 0.04
    if q.kind == "open":
        value = belief.facts.get(q.fact)
        if value is None:
            if belief.careful and RNG.random() < 0.7:
                return None, RNG.choice(["不清楚", "不太清楚", "这个不知道", "没问过"])
            value = guess(q.fact)
        return None, typo(say(q.fact, value), noise)

    fact, asked = q.fact, q.asked_value
    if fact in ("model", "colour", "transmission", "car"):
        verdicts = [car_matches(c, fact, asked) for c in belief.cars]
        known = [c for c, v in zip(belief.cars, verdicts) if v is not None]
        if any(v is True for v in verdicts):
            says_yes = True
        elif known:
            says_yes = False
        else:
            says_yes = None
        best_car = known[0] if known else None
        value = None
    else:
        value = belief.facts.get(fact)
        says_yes = None if value is None else planning.canon(fact, value) == planning.canon(fact, asked)
        best_car = None

    if says_yes is None:  # cannot tell
        if belief.careful:
            r = RNG.random()
            if r < 0.4:
                return None, "不太清楚"
            if r < 0.7:
                return True, "应该是吧"
        # guess: a belief from the frequencies
        if fact in ("model", "colour", "transmission", "car"):
            best_car = {k: (v if v is not None else guess(k)) for k, v in
                        (belief.cars[0] if belief.cars else {"model": None, "colour": None,
                                                             "transmission": None}).items()}
            says_yes = car_matches(best_car, fact, asked)
        else:
            value = guess(fact)
            says_yes = planning.canon(fact, value) == planning.canon(fact, asked)

    if not belief.careful and strategy == "yes":
        says_yes = True
    elif not belief.careful and strategy == "no" and says_yes:
        # deny anyway and "correct" with some other guess
        says_yes = False
        if fact in ("model", "colour", "transmission"):
            best_car = dict(best_car or {})
            best_car[fact] = guess(fact, exclude=asked)
        elif fact == "car":
            colour, model = planning.split_car(asked)
            best_car = {"colour": guess("colour", exclude=colour), "model": guess("model", exclude=model),
                        "transmission": guess("transmission")}
        else:
            value = guess(fact, exclude=asked)

    recorded_by_button = RNG.random() < 0.92
    if says_yes:
        text = RNG.choice(["", "", "是的", "对", "没错"])
        return (True, text) if recorded_by_button else (None, text or "是的")
    if belief.careful and RNG.random() < MISSED_CORRECTION:
        fix = ""  # the agent did not get a correction down
    else:
        fix = typo(correction(fact, best_car, value), noise)
    lead = RNG.choice(["不是, ", "不对, ", "不是的, 是", "", "没有, 他开的是" if fact in ("model", "car") else "不是, "])
    return (False, lead + fix) if recorded_by_button else (None, "不是, " + fix)


# ---- the simulation -------------------------------------------------------------------------------

LIMIT = 0.05  # the store policy's default insider_pass_limit_bp, 500
REFEREE_TYPED_BY_REGISTRANT = 0.85
REFERRER_TYPED_BY = (("registrant", 0.10), ("acknowledger", 0.03), ("checker", 0.03))
SHOWROOM_CARS = frozenset({"model", "colour"})
CHECKED_VEHICLE = frozenset({"model", "colour", "transmission"})
EVERYTHING = frozenset({"employer", "home_district", "business", "occupation", "model", "colour",
                        "transmission", "car"})
INSIDERS = ("registrant", "acknowledger", "checker")


def typed_by() -> dict[str, str | None]:
    """Who typed each party's record: one of the referral's staff, or someone else (None)."""
    r, who = RNG.random(), None
    for role, share in REFERRER_TYPED_BY:
        if r < share:
            who = role
            break
        r -= share
    return {"referee": "registrant" if RNG.random() < REFEREE_TYPED_BY_REGISTRANT else None, "referrer": who}


def planner_known(about: str, typed: dict) -> frozenset[str]:
    """What the service counts as known to the referral's staff of the party asked about
    (verification.callbacks.facts.insider_known)."""
    shown = CHECKED_VEHICLE if about == "referrer" else SHOWROOM_CARS
    return shown | (EVERYTHING if typed[about] is not None else frozenset())


def fake_knows(kind: str, about: str, typed: dict) -> frozenset[str]:
    """What a fake of this kind was told of the party he is asked about."""
    if kind == "stranger":
        return frozenset()
    if kind == "coached":
        return SHOWROOM_CARS if about == "referrer" else frozenset()
    if kind == "pair":
        return SHOWROOM_CARS
    role = kind.split(":", 1)[1]
    seen = {"registrant": SHOWROOM_CARS, "acknowledger": SHOWROOM_CARS if about == "referrer" else frozenset(),
            "checker": CHECKED_VEHICLE if about == "referrer" else frozenset()}[role]
    return seen | (EVERYTHING if typed[about] == role else frozenset())


def told_belief(p: PartyFacts, told: frozenset[str]) -> Belief:
    """A fake's belief: what he was told is true, the rest is guessed from the frequencies."""
    facts = {f: (getattr(p, f) if f in told and getattr(p, f) else guess(f))
             for f in ("employer", "home_district", "business", "occupation")}
    first = p.vehicles[0]
    car = {k: (getattr(first, k) if k in told else guess(k)) for k in ("model", "colour", "transmission")}
    belief = Belief(facts, [car], careful=False, knows_car=bool(told & SHOWROOM_CARS))
    belief.told = told
    return belief


def knows(q: planning.PlannedQuestion, belief: Belief) -> bool:
    """Whether a fake really knows the answer, rather than guessing it."""
    told = belief.told
    return (frozenset(("model", "colour")) if q.fact == "car" else frozenset((q.fact,))) <= told


def one_call(questions, about: PartyFacts, told: frozenset[str], kind: str, strategy: str, final: bool,
             stats: Counter):
    belief = genuine_belief(about) if kind == "genuine" else told_belief(about, told)
    dodged = 0
    grades = []
    for q in questions:
        if kind != "genuine" and strategy in ("dodge", "dodge1") and not knows(q, belief) and \
                (strategy == "dodge" or dodged == 0):
            dodged += 1  # "don't know" instead of a guess
            confirmed, text = None, RNG.choice(["不知道", "不清楚", "这个不太清楚"])
        else:
            confirmed, text = answer(q, belief, "consistent" if strategy.startswith("dodge") else strategy)
        grades.append(grading.grade(q, confirmed=confirmed, text=text))
    for q, g in zip(questions, grades):
        stats[f"{q.kind}:{q.fact}:{g}"] += 1
    stats["n_questions_%d" % len(questions)] += 1
    return grading.outcome(grades, len(questions), final=final), grades


def simulate(kind: str, n: int, catalog: Catalog, freq: strength.Frequencies, strategy: str = "consistent") -> dict:
    """n referrals planned as the service plans them; the chosen party is called; if he could not say
    ("don't know": inconclusive), the other party is called about the first and that call decides."""
    stats: Counter = Counter()
    by_side: Counter = Counter()
    estimate_sum = 0.0
    for _ in range(n):
        parties = {"referrer": make_party(), "referee": make_party()}
        typed = typed_by()
        # about[callee] = (facts of the party asked about, what the staff know of it)
        about = {callee: (parties[strength.other_party(callee)],
                          planner_known(strength.other_party(callee), typed)) for callee in parties}
        try:
            choice = strength.choose_call(planning.draw_callee(), about, catalog=catalog, freq=freq, limit=LIMIT)
        except planning.NotEnoughFacts:
            stats["n"] += 1
            stats["not_enough_facts"] += 1
            continue
        callee, plan = choice.party, choice.plan
        estimate_sum += plan.insider_pass
        undecided = False
        for sequence in (0, 1):
            subject = strength.other_party(callee)
            told = fake_knows(kind, subject, typed) if kind != "genuine" else frozenset()
            verdict, grades = one_call(plan.questions, parties[subject], told, kind, strategy, sequence == 1, stats)
            undecided = undecided or "undecided" in grades
            if verdict != grading.INCONCLUSIVE or sequence == 1:
                break
            stats["second_call"] += 1
            callee = subject  # the other party, asked about the first (facts.py: as registered)
            try:
                plan = strength.draw_strong(parties[strength.other_party(callee)],
                                            known=planner_known(strength.other_party(callee), typed),
                                            catalog=catalog, freq=freq, limit=LIMIT)
            except planning.NotEnoughFacts:
                verdict = grading.outcome(grades, len(grades), final=True)
                break
        if verdict == grading.VERIFIED and not plan.strong:
            verdict = "held"  # a manager confirms before the reward is released
        stats["n"] += 1
        stats[verdict or "pending"] += 1
        stats["any_undecided"] += undecided
        stats["weak_plan"] += not choice.plan.strong
        by_side[(choice.party, verdict or "pending")] += 1
        by_side[(choice.party, "n")] += 1
    stats["by_side"] = by_side
    stats["estimate_sum"] = estimate_sum
    return stats


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:5.2f} %" if b else "  n/a"


KINDS = ("coached", "stranger", "pair", "insider:registrant", "insider:acknowledger", "insider:checker")
TARGETS = {"coached": 0.05, "stranger": 0.01, "insider:registrant": 0.05, "insider:acknowledger": 0.05,
           "insider:checker": 0.05}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=3000, help="referrals per kind of callee and strategy")
    ap.add_argument("--catalog", choices=["lead", "full", "both"], default="full",
                    help="lead: models and colours only; full: also the employers, districts, businesses "
                         "and occupations on record (what the service passes)")
    ap.add_argument("--detail", action="store_true", help="grades per question kind and fact")
    ap.add_argument("--limit", type=float, default=5.0,
                    help="the store's insider-pass limit in percent (policy insider_pass_limit_bp / 100)")
    args = ap.parse_args()
    global LIMIT
    LIMIT = args.limit / 100
    catalogs = {"lead": Catalog(models=tuple(MODELS), colours=tuple(COLOURS)),
                "full": Catalog(models=tuple(MODELS), colours=tuple(COLOURS), employers=tuple(EMPLOYERS),
                                districts=tuple(DISTRICTS), businesses=tuple(BUSINESSES),
                                occupations=tuple(OCCUPATIONS))}
    freq = strength.Frequencies.of({"employer": EMPLOYERS, "home_district": DISTRICTS, "business": BUSINESSES,
                                    "occupation": OCCUPATIONS, "model": MODELS, "colour": COLOURS,
                                    "transmission": ["automatic", "automatic", "manual"]})
    names = ["lead", "full"] if args.catalog == "both" else [args.catalog]
    ok = True
    for name in names:
        catalog = catalogs[name]
        started = time.time()
        print(f"\n=== catalog: {name}  ({args.n} referrals per kind of callee and strategy; "
              f"insider-pass limit {args.limit:g} %) ===")
        genuine = simulate("genuine", args.n, catalog, freq)
        g_n = genuine["n"]
        print(f"genuine   verified {pct(genuine['verified'], g_n)}  held for a manager {pct(genuine['held'], g_n)}"
              f"  fraudulent {pct(genuine['fraudulent'], g_n)}  pending review {pct(genuine['pending'], g_n)}"
              f"  any undecided {pct(genuine['any_undecided'], g_n)}"
              f"  other party called {pct(genuine['second_call'], g_n)}"
              f"  weak plans {pct(genuine['weak_plan'], g_n)}  too few facts {pct(genuine['not_enough_facts'], g_n)}")
        worst = {}
        for kind in KINDS:
            rates = {}
            for strategy in ("consistent", "yes", "no", "dodge", "dodge1"):
                s = simulate(kind, args.n, catalog, freq, strategy)
                rates[strategy] = s
                side = s["by_side"]
                print(f"{kind:<21} {strategy:<10} pass {pct(s['verified'], s['n'])}  held {pct(s['held'], s['n'])}"
                      f"  fraudulent {pct(s['fraudulent'], s['n'])}  pending {pct(s['pending'], s['n'])}"
                      f"  [new customer called: pass {pct(side[('referee', 'verified')], side[('referee', 'n')])};"
                      f" old customer called: pass {pct(side[('referrer', 'verified')], side[('referrer', 'n')])}]")
            worst[kind] = max(rates.values(), key=lambda s: s["verified"] / s["n"])
        if args.detail:
            for label, s in (("genuine", genuine), ("coached (worst)", worst["coached"])):
                print(f"-- {label}: grades by question")
                keys = sorted({k.rsplit(":", 1)[0] for k in s if isinstance(k, str) and k.count(":") == 2})
                for k in keys:
                    c, w, u, k_ = (s[f"{k}:{g}"] for g in ("correct", "wrong", "undecided", "unknown"))
                    n_ = c + w + u + k_
                    print(f"   {k:<28} n={n_:6d}  correct {pct(c, n_)}  wrong {pct(w, n_)}"
                          f"  undecided {pct(u, n_)}  don't know {pct(k_, n_)}")
        passes = {kind: worst[kind]["verified"] / worst[kind]["n"] for kind in KINDS}
        flagged = genuine["fraudulent"] / g_n
        review = genuine["any_undecided"] / g_n
        calls = genuine["n_questions_3"] + genuine["n_questions_4"]
        print(f"questions per call (genuine run): 3 -> {pct(genuine['n_questions_3'], calls)}, "
              f"4 -> {pct(genuine['n_questions_4'], calls)}")
        for kind in KINDS:
            w = worst[kind]
            planned = w["n"] - w["not_enough_facts"]
            print(f"  {kind:<21} worst pass {100 * passes[kind]:5.2f} %  held for a manager "
                  f"{pct(w['held'], w['n'])}  (pass or held {pct(w['verified'] + w['held'], w['n'])};"
                  f" mean estimated insider pass of its plans {100 * w['estimate_sum'] / max(planned, 1):5.2f} %)")
        print("summary  insider pass (worst role) %.2f %% (<= 5)  coached %.2f %% (<= 5)  stranger %.2f %% (<= 1)"
              "  genuine fraudulent %.2f %% (<= 2)  genuine review %.2f %% (<= 10)  genuine held %.2f %%   [%.0f s]"
              % (100 * max(passes[k] for k in KINDS if k.startswith("insider")), 100 * passes["coached"],
                 100 * passes["stranger"], 100 * flagged, 100 * review, 100 * genuine["held"] / g_n,
                 time.time() - started))
        met = all(passes[k] <= t for k, t in TARGETS.items()) and flagged <= 0.02 and review <= 0.10
        print("beyond the targets: a coached pair (both told both cars) passes %.2f %%" % (100 * passes["pair"]))
        print("targets met" if met else "TARGETS NOT MET")
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
