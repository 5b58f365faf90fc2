"""Callback planning (CB-1..CB-3): who is called, when, and what they are asked.

Pure functions, no database: the service hands in facts about the parties and
stores what comes back. Every random choice uses `secrets` (a CSPRNG), so nobody
who has seen earlier plans can predict the next one (CB-4).

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

import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from pypinyin import lazy_pinyin

from verification import vocabulary as vocab

ROLES = ("referee", "referrer")
OPEN_FACTS = ("employer", "home_district", "business", "occupation")
CAR_FACTS = ("model", "colour", "transmission", "car")
# Fallback false values when the catalog lists no districts / businesses: used only when the
# party's own value is one of them (a Shanghai district is then swapped for another one).
SHANGHAI_DISTRICTS = ("浦东新区", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
                      "宝山区", "嘉定区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区")
KINDS = ("open", "trap", "truth")


class NotEnoughFacts(ValueError):
    """The store does not hold enough facts about the party to ask 3 questions."""


# ---- inputs ------------------------------------------------------------------------

@dataclass(frozen=True)
class VehicleFacts:
    model: str
    colour: str
    transmission: str  # "automatic" | "manual"
    plate: str | None = None


@dataclass(frozen=True)
class PartyFacts:
    name: str
    gender: str | None
    employer: str | None
    home_district: str | None
    business: str | None
    vehicles: tuple[VehicleFacts, ...] = ()
    occupation: str | None = None


@dataclass(frozen=True)
class Catalog:
    """Values the group really deals in: plausible false values for traps.

    `employers`, `districts` and `businesses` are optional (e.g. the distinct values
    on record); without them traps use the car facts only, and the grader has fewer
    "other real values" to recognise.
    """
    models: tuple[str, ...]
    colours: tuple[str, ...]
    transmissions: tuple[str, ...] = ("automatic", "manual")
    employers: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    businesses: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    code: str
    kind: str  # "open" | "statement"
    fact: str
    text_zh: str
    text_en: str


DEFAULT_TEMPLATES: tuple[Template, ...] = (
    # the seed's open questions: 请问张先生的工作单位(或家庭住址、做什么生意)?
    Template("open_employer", "open", "employer", "请问{who}的工作单位是哪里?", "Where does {who} work?"),
    Template("open_home_district", "open", "home_district", "请问{who}的家庭住址在哪个区?",
             "Which district does {who} live in?"),
    Template("open_business", "open", "business", "请问{who}是做什么生意的?", "What business is {who} in?"),
    # what a friend knows best after where someone lives: what they do for a living (职业)
    Template("open_occupation", "open", "occupation", "请问{who}是做什么工作的?", "What does {who} do for a living?"),
    # the seed's statement: 张先生是有一辆黑颜色的捷达轿车吗?
    Template("stmt_car", "statement", "car", "{who}是有一辆{value}轿车吗?", "{who} has a {value}, right?"),
    Template("stmt_model", "statement", "model", "{who}开的车是{value}吗?", "{who} drives a {value}, right?"),
    Template("stmt_colour", "statement", "colour", "{who}的车是{value}的吗?", "{who}'s car is {value}, right?"),
    Template("stmt_transmission", "statement", "transmission", "{who}的车是{value}的吗?",
             "{who}'s car is a {value}, right?"),
    Template("stmt_employer", "statement", "employer", "{who}是在{value}上班吗?", "{who} works at {value}, right?"),
    Template("stmt_home_district", "statement", "home_district", "{who}家是住在{value}吗?",
             "{who} lives in {value}, right?"),
    Template("stmt_business", "statement", "business", "{who}是{value}的吗?",
             "{who}'s business is {value}, right?"),
    Template("stmt_occupation", "statement", "occupation", "{who}的职业是{value}吗?",
             "{who} works as {value}, right?"),
)

# ---- weights (see the module docstring and bench/verification_power.py) -----------

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


# ---- CB-1: who is called -------------------------------------------------------------

def draw_callee() -> str:
    """'referee' (the new customer) or 'referrer' (the old customer), 50/50 from a CSPRNG."""
    return ROLES[secrets.randbelow(2)]


# ---- CB-2: when ------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def _to_us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _parse_hhmm(text: str) -> int:
    """'09:00' -> microseconds after local midnight; '24:00' allowed as an end."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", text or "")
    if not m:
        raise ValueError(f"calling hour must be HH:MM, got {text!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if mi > 59 or s > 59 or h > 24 or (h == 24 and (mi or s)):
        raise ValueError(f"calling hour out of range: {text!r}")
    return ((h * 60 + mi) * 60 + s) * 1_000_000


def _offset_us(zone: ZoneInfo, us: int) -> int:
    return _from_us(us).astimezone(zone).utcoffset() // _US


def _segments(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[lo, hi) cut where the zone's UTC offset changes: (start, end, offset) in microseconds."""
    step = _HOUR_US // 2
    out = []
    start, off = lo, _offset_us(zone, lo)
    t = lo
    while t < hi:
        nxt = min(t + step, hi)
        noff = _offset_us(zone, nxt) if nxt < hi else off
        if noff != off:
            a, b = t, nxt  # offset(a) == off, offset(b) != off: find the first instant with the new offset
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_us(zone, mid) == off:
                    a = mid
                else:
                    b = mid
            out.append((start, b, off))
            start, off = b, _offset_us(zone, b)
            t = b
            continue
        t = nxt
    out.append((start, hi, off))
    return [s for s in out if s[0] < s[1]]


def _local_ranges(start_us: int, end_us: int) -> list[tuple[int, int]]:
    """Calling hours as ranges of local time-of-day; an overnight window wraps midnight."""
    if start_us == end_us:
        raise ValueError("calling hours start and end are equal")
    if start_us < end_us:
        return [(start_us, end_us)]
    return [(start_us, _DAY_US), (0, end_us)]


def calling_intervals(lo: int, hi: int, tz: str, start: str, end: str) -> list[tuple[int, int]]:
    """The calling-hours instants in [lo, hi) (UTC microseconds) as sorted disjoint intervals."""
    zone = ZoneInfo(tz)
    ranges = _local_ranges(_parse_hhmm(start), _parse_hhmm(end))
    out: list[tuple[int, int]] = []
    for seg_lo, seg_hi, off in _segments(zone, lo, hi):
        # within a segment local = utc + off exactly, so each local day's hours map to one UTC range
        first_day = (seg_lo + off) // _DAY_US
        last_day = (seg_hi + off) // _DAY_US
        for day in range(first_day - 1, last_day + 1):
            for r_lo, r_hi in ranges:
                a = day * _DAY_US + r_lo - off
                b = day * _DAY_US + r_hi - off
                a, b = max(a, seg_lo), min(b, seg_hi)
                if a < b:
                    out.append((a, b))
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def in_calling_hours(instant: datetime, tz: str, start: str, end: str) -> bool:
    local = instant.astimezone(ZoneInfo(tz))
    tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
    return any(lo <= tod < hi for lo, hi in _local_ranges(_parse_hhmm(start), _parse_hhmm(end)))


def next_opening(at: datetime, tz: str, start: str, end: str) -> datetime:
    """The first calling-hours instant at or after `at` (aware UTC)."""
    lo = _to_us(at)
    for span_days in (3, 10, 40):
        found = calling_intervals(lo, lo + span_days * _DAY_US, tz, start, end)
        if found:
            return _from_us(found[0][0])
    raise ValueError("no calling hours found within 40 days")


def due_time(after: datetime, min_hours: int, max_hours: int, tz: str = "Asia/Shanghai",
             start: str = "09:00", end: str = "20:00") -> datetime:
    """A uniformly random calling-hours instant in [after+min_hours, after+max_hours] (CB-2).

    Calling hours are [start, end) of each local day in `tz` (DST handled: instants
    are checked by their local wall time). When the window holds no calling-hours
    instant the callback is due at the first opening at or after the window's end.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    if min_hours < 0 or max_hours < min_hours:
        raise ValueError("need 0 <= min_hours <= max_hours")
    lo = _to_us(after.astimezone(timezone.utc)) + min_hours * _HOUR_US
    hi = _to_us(after.astimezone(timezone.utc)) + max_hours * _HOUR_US
    intervals = calling_intervals(lo, hi, tz, start, end)
    total = sum(b - a for a, b in intervals)
    if total > 0:
        pick = secrets.randbelow(total)
        for a, b in intervals:
            if pick < b - a:
                return _from_us(a + pick)
            pick -= b - a
    return next_opening(_from_us(lo), tz, start, end)  # nothing inside: the first opening from here on


# ---- display helpers ---------------------------------------------------------------

_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯",
                      "长孙", "宇文", "司徒", "司空", "端木", "西门", "南宫", "独孤", "呼延")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _is_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def _surname(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return name
    if _is_han(name[0]):
        return name[:2] if name[:2] in _COMPOUND_SURNAMES else name[0]
    parts = name.split()
    return parts[-1] if len(parts) > 1 else name


def _pinyin(text: str) -> str:
    return " ".join(p.capitalize() for p in lazy_pinyin(text))


def _romanised(text: str) -> str:
    """'欧阳' -> 'Ouyang', '速腾' -> 'Suteng'."""
    return "".join(_pinyin(text).split()).capitalize() if _is_han(text) else text


def name_en(name: str) -> str:
    """'张三' -> 'Zhang San', '欧阳娜娜' -> 'Ouyang Nana'; latin names unchanged."""
    if not _is_han(name):
        return name
    surname = _surname(name)
    given = name[len(surname):]
    return f"{_romanised(surname)} {_romanised(given)}".strip()


def who(party: PartyFacts, lang: str = "zh") -> str:
    """张先生 / 李女士 / 张三 (gender unknown); English Mr Zhang / Ms Li / Zhang San."""
    if lang == "zh":
        if party.gender == "male":
            return _surname(party.name) + "先生"
        if party.gender == "female":
            return _surname(party.name) + "女士"
        return party.name
    if party.gender in ("male", "female"):
        title = "Mr" if party.gender == "male" else "Ms"
        return f"{title} {_romanised(_surname(party.name))}"
    return name_en(party.name)


def _full_with_title(party: PartyFacts, lang: str) -> str:
    """张三先生 / Mr Zhang San."""
    if lang == "zh":
        return party.name + {"male": "先生", "female": "女士"}.get(party.gender or "", "")
    return {"male": "Mr ", "female": "Ms "}.get(party.gender or "", "") + name_en(party.name)


def _display(fact: str, value: str, lang: str) -> str:
    """How a value is read out: '自动挡' / 'automatic', '白色' / 'white', '速腾' / 'Sagitar'."""
    if fact == "transmission":
        canon = vocab.canon_transmission(value)
        if lang == "zh":
            return {"automatic": "自动挡", "manual": "手动挡"}.get(canon, value)
        return {"automatic": "automatic", "manual": "manual"}.get(canon, value)
    if fact == "colour":
        canon = vocab.canon_colour(value)
        if lang == "zh":
            if not _is_han(value) and canon in vocab.COLOURS:
                return vocab.COLOURS[canon][1]
            return value
        return canon if canon in vocab.COLOURS else (_romanised(value) if _is_han(value) else value)
    if fact == "model":
        canon = vocab.canon_model(value)
        if lang == "zh":
            if not _is_han(value) and canon in vocab.MODELS and _is_han(vocab.MODELS[canon][0]):
                return vocab.MODELS[canon][0]
            return value
        if canon in vocab.MODELS:
            return "ID.4" if canon == "id.4" else " ".join(w.upper() if len(w) == 1 else w.capitalize()
                                                           for w in canon.split())
        return _romanised(value) if _is_han(value) else value
    if fact == "car":
        colour, model = split_car(value)
        if lang == "zh":
            return _display("colour", colour, "zh") + _display("model", model, "zh")
        return f"{_display('colour', colour, 'en')} {_display('model', model, 'en')}"
    return value


def join_car(colour: str, model: str) -> str:
    """A car value as stored in a question: colour, one space, model ('白色 速腾')."""
    return f"{colour.strip()} {model.strip()}"


def split_car(value: str) -> tuple[str, str]:
    colour, _, model = (value or "").strip().partition(" ")
    return colour, model.strip()


# ---- CB-3: what ------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedQuestion:
    key: str
    template_code: str
    kind: str  # "open" | "trap" | "truth"
    fact: str
    true_value: str
    asked_value: str | None
    text_zh: str
    text_en: str
    # other true values of the same fact (the party's other cars): a correction naming one is right
    alternatives: tuple[str, ...] = ()
    # other real values of the fact (catalog): an answer naming one of these is a clear "wrong"
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["alternatives"] = list(self.alternatives)
        data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "PlannedQuestion":
        return cls(key=data["key"], template_code=data["template_code"], kind=data["kind"], fact=data["fact"],
                   true_value=data["true_value"], asked_value=data.get("asked_value"),
                   text_zh=data["text_zh"], text_en=data["text_en"],
                   alternatives=tuple(data.get("alternatives") or ()), choices=tuple(data.get("choices") or ()))


@lru_cache(maxsize=65536)
def _canon(fact: str, value: str) -> str:
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
    return _fold_plain(value)


def _fold_plain(value: str) -> str:
    from verification.callbacks.traditional import to_simplified
    return vocab.fold(to_simplified(unicodedata.normalize("NFKC", value or "")))


def _dedupe(fact: str, values) -> list[str]:
    seen, out = set(), []
    for v in values:
        if not v or not str(v).strip():
            continue
        c = _canon(fact, v)
        if c and c not in seen:
            seen.add(c)
            out.append(v)
    return out


def _true_values(about: PartyFacts, fact: str) -> list[str]:
    """All true values of a fact (a party may have several cars)."""
    if fact in OPEN_FACTS:
        value = getattr(about, fact)
        return [value] if value and value.strip() else []
    cars = [v for v in about.vehicles if v.model and v.colour]
    if fact == "model":
        return _dedupe(fact, [v.model for v in cars])
    if fact == "colour":
        return _dedupe(fact, [v.colour for v in cars])
    if fact == "transmission":
        values = _dedupe(fact, [v.transmission for v in about.vehicles if v.transmission])
        return values if len(values) == 1 else []  # two cars, two gearboxes: not a yes/no question
    if fact == "car":
        return _dedupe(fact, [join_car(v.colour, v.model) for v in cars])
    return []


@lru_cache(maxsize=65536)
def _similar_text(a: str, b: str) -> bool:
    """Two free-text values too close to serve as truth and trap (share a core or fuzzy-match)."""
    from rapidfuzz import fuzz
    fa, fb = _fold_plain(a), _fold_plain(b)
    return fa in fb or fb in fa or fuzz.ratio(fa, fb) >= 60


def _false_values(about: PartyFacts, fact: str, catalog: Catalog) -> list[str]:
    """Plausible wrong values for a trap: real values from the catalog, none equal to any truth."""
    truths = _true_values(about, fact)
    if not truths:
        return []
    if fact == "car":
        bad_colours = {vocab.canon_colour(v.colour) for v in about.vehicles}
        bad_models = {vocab.canon_model(v.model) for v in about.vehicles}
        colours = [c for c in _dedupe("colour", catalog.colours) if vocab.canon_colour(c) not in bad_colours]
        models = [m for m in _dedupe("model", catalog.models) if vocab.canon_model(m) not in bad_models]
        return [join_car(c, m) for c in colours for m in models]
    pool = _pool(fact, catalog, truths)
    bad = {_canon(fact, t) for t in truths}
    out = [v for v in _dedupe(fact, pool) if _canon(fact, v) not in bad]
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
        known = {_canon(fact, v) for v in fallback}
        if all(_canon(fact, t) in known for t in truths):
            pool = fallback
    return tuple(pool)


def _choices(about: PartyFacts, fact: str, catalog: Catalog) -> tuple[str, ...]:
    if fact not in OPEN_FACTS:
        return ()
    pool = _pool(fact, catalog, _true_values(about, fact))
    bad = {_canon(fact, t) for t in _true_values(about, fact)}
    return tuple(v for v in _dedupe(fact, pool) if _canon(fact, v) not in bad)


@lru_cache(maxsize=None)
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
        if fact in OPEN_FACTS and _true_values(about, fact):
            options.append(("open", fact))
    for fact in stmt_templates:
        if not _true_values(about, fact):
            continue
        options.append(("truth", fact))
        falses[fact] = _false_values(about, fact, catalog)
        if falses[fact]:
            options.append(("trap", fact))

    facts_available = {f for _, f in options}
    units = set().union(*(_uses(f) for f in facts_available)) if facts_available else set()
    n = count or (4 if len(units) >= 4 else 3)

    options_key = tuple(sorted(options))
    paired = _paired_open_facts(about, disclosed)
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
        truths = _true_values(about, fact)
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
            text_zh=_fill(template.text_zh, who_zh, _display(fact, asked, "zh") if asked else None),
            text_en=_fill(template.text_en, who_en, _display(fact, asked, "en") if asked else None),
            alternatives=alternatives, choices=_choices(about, fact, catalog)))
    return out


def draw_questions(about: PartyFacts, *, disclosed: frozenset[str] = frozenset(), catalog: Catalog,
                   templates: tuple[Template, ...] = DEFAULT_TEMPLATES, count: int | None = None
                   ) -> list[PlannedQuestion]:
    """3-4 questions about `about` (the party *not* on the phone), drawn with `secrets` (CB-3)."""
    candidates = candidate_plans(about, disclosed=disclosed, catalog=catalog, templates=templates, count=count)
    return instantiate(candidates, pick_plan(candidates), catalog)


def _paired_open_facts(about: PartyFacts, disclosed: frozenset[str]) -> frozenset[str]:
    """Open facts that may be asked twice (open, then as a statement) in one call.

    When a fake can be told the party's car (the claim, the sale, the delivery check) and the store
    holds fewer than two facts he cannot be told (a fact the referral's own staff recorded counts as
    told, CB-10), a coached fake knows or can guess everything but one fact: asking that one fact in
    two forms makes a lucky guess count once, not let him through (bench/verification_power.py
    measures it). Pairing two hidden facts would flag real friends who miss one of them twice; such
    plans are left weak and a passing verdict goes to a manager instead (CB-11).
    """
    hidden = frozenset(f for f in OPEN_FACTS if _true_values(about, f) and f not in disclosed)
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


# ---- the script ---------------------------------------------------------------------------

def _pronoun(party: PartyFacts, lang: str) -> str:
    if lang == "zh":
        return {"male": "他", "female": "她"}.get(party.gender or "", who(party, "zh"))
    return {"male": "him", "female": "her"}.get(party.gender or "", "them")


def greeting(callee_role: str, callee: PartyFacts, other: PartyFacts, lang: str = "zh", *,
             new_car: str | None = None) -> str:
    """The seed's opening: thanks, the gift, why we ask, and the invitation to refer friends.

    To the new customer (referee) about the old one; the mirror version to the old
    customer (referrer) about the new one. `new_car` (e.g. '红色高尔夫') is read out
    only to the buyer himself, never to the referrer (it is a fact we may ask about).
    """
    if callee_role not in ROLES:
        raise ValueError(f"callee_role must be one of {ROLES}")
    hello_zh, hello_en = who(callee, "zh"), who(callee, "en")
    if lang == "zh":
        if callee_role == "referee":
            car = f"{new_car}" if new_car else ""
            return (f"{hello_zh}您好! 您是在您朋友{_full_with_title(other, 'zh')}介绍下购买了新车{car}。"
                    f"我们为了感谢{who(other, 'zh')}, 有份礼品送给{_pronoun(other, 'zh')}, "
                    f"现在向您核对一下{who(other, 'zh')}的信息。"
                    f"同时欢迎您也介绍朋友到店购车, 若购车成功我们也会有礼品赠送。")
        return (f"{hello_zh}您好! 感谢您介绍您的朋友{_full_with_title(other, 'zh')}到我店购车。"
                f"为了感谢您, 我们有份礼品送给您, 现在向您核对一下{who(other, 'zh')}的信息。"
                f"同时欢迎您继续介绍朋友到店购车, 若购车成功我们还会有礼品赠送。")
    if callee_role == "referee":
        car = f" ({new_car})" if new_car else ""
        return (f"Hello {hello_en}! You bought your new car{car} on the recommendation of your friend "
                f"{_full_with_title(other, 'en')}. To thank {who(other, 'en')} we have a gift for "
                f"{_pronoun(other, 'en')}, and we would like to check a few details about {who(other, 'en')} "
                f"with you. You are welcome to recommend friends to us too: if they buy a car, "
                f"there is a gift for you as well.")
    return (f"Hello {hello_en}! Thank you for recommending your friend {_full_with_title(other, 'en')} "
            f"to our store. To thank you we have a gift for you, and we would like to check a few details "
            f"about {who(other, 'en')} with you. Please keep recommending friends: if they buy a car, "
            f"there is another gift for you.")
