"""Grading callback answers (CB-5) and deciding the outcome (CB-8).

The agent records, per question, whether the callee said yes or no (`confirmed`,
None when not recorded) and what they said (`text`). The grader never guesses:
an answer it cannot place is "undecided" and goes to a manager.

Free text is normalised first: NFKC (full-width letters and digits), traditional
to simplified characters, case, accents (pinyin typed with tones), punctuation.
What was *denied* ("不是黑色捷达, 是白色速腾") is separated from what was
*asserted*; only the asserted part counts as a correction or an answer.

Car facts (model, colour, transmission) are read with the synonym tables of
verification.vocabulary (白/白色/white, 速腾/Sagitar, 自动/自动挡/AT), falling
back to pinyin (typing with the wrong character of the same sound).

Free-text facts (employer, home district, business, names) are scored 0-100
against the truth and against the other real values the plan knows (catalog,
Shanghai's districts, the business synonyms): exact or same core 100, the truth
inside the answer 95, the answer inside the truth 90 ('上海汽车' for
'上海汽车集团'), an abbreviation made of the truth's characters in order 85
('上汽', '中行', '交大'), same pinyin 98, otherwise the best of rapidfuzz ratios
on characters and on pinyin (typos, homophones). Then:

* truth score >= HIGH (85) and ahead of every other real value by MARGIN (8) -> correct
* another real value >= HIGH and ahead of the truth by MARGIN -> wrong
* truth score < LOW (50) -> wrong (garbage, or a value the grader does not know)
* otherwise -> undecided (a person decides)

An empty answer is wrong. "不知道 / 不清楚 / don't know" (a denial with no correction
included) is *unknown*: the callee could not say, which is not the same as saying
something false (the seed's rule counts answers given wrong, 若2项答错). See `outcome`.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz

from verification import vocabulary as vocab
from verification.callbacks.planning import SHANGHAI_DISTRICTS, PlannedQuestion, split_car
from verification.callbacks.traditional import to_simplified

CORRECT, WRONG, UNDECIDED, UNKNOWN = "correct", "wrong", "undecided", "unknown"
VERIFIED, FRAUDULENT, INCONCLUSIVE = "verified", "fraudulent", "inconclusive"
HIGH, MARGIN, LOW = 85.0, 8.0, 50.0


# ---- normalisation -----------------------------------------------------------------

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


@lru_cache(maxsize=65536)
def pinyin(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables; latin words pass through as words."""
    from pypinyin import Style, lazy_pinyin
    out: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors="default"):
        chunk = "".join(ch for ch in unicodedata.normalize("NFKD", chunk) if not unicodedata.combining(ch))
        out.extend(w for w in re.split(r"[^a-z0-9]+", chunk.lower()) if w)
    return tuple(out)


# ---- yes / no / don't know -----------------------------------------------------------

_DONT_KNOW = ("不知道", "不清楚", "不太清楚", "不大清楚", "不是很清楚", "不记得", "记不清", "记不得", "忘了", "忘记了",
              "不了解", "不太了解", "没问过", "不晓得", "不确定", "搞不清", "说不上来", "不好说", "没印象",
              "dont know", "don t know", "do not know", "not sure", "no idea", "unknown", "idk", "dunno",
              "not remember", "forgot")
_NEG_TOKENS = ("并不是", "不是", "不对", "没有", "不", "没", "非", "错了", "错")
_RESET_TOKENS = ("而是", "应该是", "就是", "其实是", "而且", "是")
_POS_START = ("没错", "是的", "对的", "对", "是", "有的", "有", "确实", "肯定", "当然", "没问题", "好的")
_LATIN_NEG = {"no", "not", "nope", "isnt", "isn", "wrong", "incorrect", "never", "nah"}
_LATIN_POS = {"yes", "yeah", "yep", "yup", "right", "correct", "true", "ok", "okay", "sure", "indeed"}
_LATIN_RESET = {"but", "is", "its", "it", "actually", "rather", "instead", "he", "she", "drives", "has"}
_LATIN_SKIP = {"a", "an", "the", "s"}


def dont_know(text: str) -> bool:
    n = normalise(text)
    spaced = re.sub(r"[^a-z ]", " ", n.replace("'", " "))
    return any(p in compact(n) or p in spaced for p in _DONT_KNOW)


def stance(text: str | None) -> bool | None:
    """True for a clear yes, False for a clear no, None otherwise (looks at how the answer starts)."""
    n = normalise(text)
    if not n:
        return None
    first = n.split(" ", 1)[0]
    if re.fullmatch(r"[a-z]+", first):
        if first in _LATIN_NEG:
            return False
        if first in _LATIN_POS:
            return True
    c = compact(n)
    if c[:1] in ("嗯", "恩"):  # 'mm-hmm' alone is a yes; '嗯... 那个...' is nothing yet
        rest = c.lstrip("嗯恩")
        return True if not rest else stance(rest)
    if c.startswith("没错") or c.startswith("不错"):
        return True
    if c.startswith(_NEG_TOKENS):
        return False
    if c.startswith(_POS_START):
        return True
    if "不是" in c or "不对" in c:
        return False
    return None


def _is_han_char(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def asserted(text: str | None) -> str:
    """The normalised text without what it denies: '不是黑色捷达, 是白色速腾' -> '白色速腾'.

    Reading left to right, a negation (不是, 不, 没有, not, no...) starts a denied
    stretch that lasts until a separator or an affirming '是' / 'but'."""
    n = normalise(text, breaks=True)
    out: list[str] = []
    negated = False
    i = 0
    while i < len(n):
        ch = n[i]
        if ch == "|":
            negated = False
            out.append(" ")
            i += 1
            continue
        if ch == " ":
            # a separator resets, except inside a run of latin words ('not a black jetta')
            prev_latin = i > 0 and n[i - 1].isascii() and n[i - 1].isalpha()
            next_latin = i + 1 < len(n) and n[i + 1].isascii() and n[i + 1].isalpha()
            if not (prev_latin and next_latin):
                negated = False
            out.append(" ")
            i += 1
            continue
        if ch.isascii() and ch.isalpha():
            m = re.match(r"[a-z]+", n[i:])
            word = m.group(0)
            # a latin word inside Chinese ('搞IT的', '开SUV') is a word of that phrase, not English grammar
            in_chinese = (i > 0 and _is_han_char(n[i - 1])) or (i + len(word) < len(n) and
                                                                _is_han_char(n[i + len(word)]))
            if in_chinese:
                out.append(" " if negated else word)
            elif word in _LATIN_SKIP:
                out.append(" ")
            elif word in _LATIN_NEG:
                negated = True
                out.append(" ")
            elif word in _LATIN_POS or word in _LATIN_RESET:
                negated = False
                out.append(" ")
            else:
                out.append(" " if negated else word)
            i += len(word)
            continue
        if n.startswith(("没错", "不错"), i):
            negated = False
            out.append(" ")
            i += 2
            continue
        for tok in _NEG_TOKENS:
            if n.startswith(tok, i):
                negated = True
                out.append(" ")
                i += len(tok)
                break
        else:
            for tok in _RESET_TOKENS:
                if n.startswith(tok, i):
                    negated = False
                    out.append(" ")
                    i += len(tok)
                    break
            else:
                out.append(" " if negated else ch)
                i += 1
    return re.sub(r" +", " ", "".join(out)).strip()


# ---- car facts: mentions of values -------------------------------------------------------

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


# ---- free-text facts: scores -----------------------------------------------------------

_FILLERS = ("我记得", "我知道", "记得", "应该", "好像", "大概", "可能", "估计", "听说", "据说", "似乎", "差不多",
            "他家住在", "她家住在", "他家在", "她家在", "家住在", "住在", "家住", "家在", "住", "家里", "老家", "他在", "她在",
            "在家", "他是", "她是", "他们", "他", "她", "就在", "是在", "在", "上班", "工作", "干活", "打工", "做事",
            "那边", "那里", "那儿", "这边", "一带", "附近", "里面", "的", "吧", "呢", "啊", "呀", "哦", "嗯", "了",
            "吗", "老板", "生意", "是", "就", "里", "我", "那个", "这个")
_WHO = re.compile(r"[\u3400-\u9fff]{1,2}(先生|女士|小姐)")
_GENERIC = {"上海", "中国", "公司", "集团", "银行", "医院", "学校", "大学", "工厂", "厂", "单位", "政府", "国企",
            "外企", "私企", "企业", "机关", "事业单位", "上市公司", "科技公司", "公务员", "老师", "医生", "上海市",
            "浦东", "分公司", "研究所", "中学", "小学", "做生意", "生意", "开店", "自己", "个体", "上班族",
            "company", "bank", "hospital", "school", "factory"}
_SPELLING_TABLES = vocab.SPELLING_INDEX
# words too vague to name anyone's employer or business, per fact ('医生' is no employer, but an occupation)
_GENERIC_FOR = {"occupation": frozenset({"上海", "中国", "公司", "单位", "上班族", "企业", "自己", "company"})}
_CORE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "上海分公司", "分公司", "公司", "集团", "支行", "分行",
                  "总部", "研究所", "研究院")


def _strip_fillers(text: str, known: dict[str, str] | None = None) -> str:
    """Cut filler words off both ends; stop early at a spelling in `known` ('他是老板' -> '老板')."""
    c = compact(text)
    c = _WHO.sub("", c)
    changed = True
    while changed and c:
        changed = False
        for f in _FILLERS:
            if known and c in known:
                return c
            if c.startswith(f):
                c, changed = c[len(f):], True
            if c.endswith(f) and c and not (known and c in known):
                c, changed = c[: -len(f)], True
    return c


def _core(text: str) -> str:
    for suffix in _CORE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


_GENERIC_PARTS = re.compile("|".join(sorted(("上海市", "上海", "中国", "有限公司", "分公司", "公司", "集团", "保险",
                                              "有限", "股份"), key=len, reverse=True)))


def _degeneric(text: str) -> str:
    return _GENERIC_PARTS.sub("", text)


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


@lru_cache(maxsize=65536)
def _prepare(fact: str, value: str) -> str:
    table = _SPELLING_TABLES.get(fact)
    if table:  # '做生意的', '他是老板', '开车的': a known spelling wins before fillers are cut off it
        found = _strip_fillers(normalise(value), table)
        if found in table:
            return table[found]
    c = _strip_fillers(normalise(value))
    if fact == "home_district":
        for prefix in ("上海市", "上海"):
            if c.startswith(prefix) and len(c) > len(prefix) + 1:
                c = c[len(prefix):]
        c = vocab.canon_district(c)
    elif fact in _SPELLING_TABLES:
        c = vocab.canon_spelled(fact, c)
    return c


@lru_cache(maxsize=65536)
def score(fact: str, answer: str, value: str) -> float:
    """How well an answer names a value, 0-100 (see the module docstring)."""
    a, v = _prepare(fact, answer), _prepare(fact, value)
    if not a or not v:
        return 0.0
    if a == v or _core(a) == _core(v):
        return 100.0
    best = 0.0
    table = vocab.SPELLINGS.get(fact)
    if table:
        spellings = [normalise(s).replace(" ", "") for s in table.get(v, ())]
        if any(len(s) >= 2 and _has_spelling(a, s) for s in spellings):
            best = 95.0
    if len(v) >= 2 and v in a:
        best = max(best, 95.0)
    elif len(a) >= 2 and a in v:
        best = max(best, 90.0)
    elif len(a) >= 2 and _is_subsequence(a, v):
        best = max(best, 85.0)
    ga, gv = _degeneric(a), _degeneric(v)
    if len(ga) >= 2 and len(gv) >= 2 and (ga in gv or gv in ga):
        best = max(best, 88.0)  # '中国平安' ~ '平安保险上海分公司' once '中国', '上海', '公司' are set aside
    elif len(ga) >= 2 and _is_subsequence(ga, gv):
        best = max(best, 85.0)
    pa, pv = pinyin(a), pinyin(v)
    if pa and pv:
        ja, jv = "".join(pa), "".join(pv)
        if ja == jv:
            best = max(best, 98.0)
        elif len(pa) >= 2 and _is_subsequence_seq(pa, pv):
            best = max(best, 85.0 if pa[0] == pv[0] else 80.0)
        best = max(best, fuzz.ratio(ja, jv))
    best = max(best, fuzz.ratio(a, v))
    if len(a) > len(v) + 1:
        best = max(best, 0.95 * fuzz.partial_ratio(v, a))
    return float(best)


def _has_spelling(text: str, spelling: str) -> bool:
    """`spelling` in `text`; a latin one as a whole word ('做it的' has 'it', 'waiter' has not)."""
    if not spelling.isascii():
        return spelling in text
    return re.search(rf"(?<![a-z]){re.escape(spelling)}(?![a-z])", text) is not None


def _is_subsequence_seq(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(s in it for s in short)


def _others(q: PlannedQuestion) -> list[str]:
    truths = {_prepare(q.fact, t) for t in (q.true_value, *q.alternatives)}
    pool = list(q.choices)
    if q.asked_value and q.kind == "trap":
        pool.append(q.asked_value)
    if q.fact == "home_district":
        pool.extend(SHANGHAI_DISTRICTS)
    else:
        pool.extend(vocab.SPELLINGS.get(q.fact, ()))
    return [o for o in dict.fromkeys(pool) if _prepare(q.fact, o) not in truths]


def grade_text(q: PlannedQuestion, text: str) -> str:
    """Grade a free-text answer (or correction) against the truth of a free-text fact."""
    if not compact(normalise(text)) or not _prepare(q.fact, text):
        return WRONG
    if dont_know(text) and len(_without_dont_know(text, q.fact)) < 2:
        return WRONG
    answer = _without_dont_know(text, q.fact) if dont_know(text) else text
    # the whole answer and each of its clauses ('在上汽工作, 做会计'): the best reading counts
    parts = [answer] + [c for c in clauses(answer) if _prepare(q.fact, c)]
    generic = frozenset() if q.fact == "home_district" else _GENERIC_FOR.get(q.fact, _GENERIC)
    parts = [c for c in parts if _prepare(q.fact, c) not in generic]
    if not parts:
        return UNDECIDED  # only generic words ('在上海', '公司'): could be anyone's
    truths = (q.true_value, *q.alternatives)
    others = _others(q)
    truth = max(score(q.fact, c, t) for c in parts for t in truths)
    other = max((score(q.fact, c, o) for c in parts for o in others), default=0.0)
    if truth >= HIGH and truth - other >= MARGIN:
        return CORRECT
    if other >= HIGH and other - truth >= MARGIN:
        return WRONG
    if truth < LOW:
        return WRONG
    return UNDECIDED


def _without_dont_know(text: str, fact: str | None = None) -> str:
    return _strip_fillers(_dk_rest(text), _SPELLING_TABLES.get(fact))


# ---- grading -------------------------------------------------------------------------------

_YES_WORDS = re.compile(r"^(?:(?:没错|对的|是的|对|嗯|恩|有的|确实|肯定|当然|没问题|好的|有)\s*)+")


def _is_car_fact(fact: str) -> bool:
    return fact in ("model", "colour", "transmission", "car")


def _claim(q: PlannedQuestion, text: str) -> str | None:
    """Grade what the text asserts (after removing what it denies); None if it asserts nothing."""
    said = _YES_WORDS.sub("", asserted(text)).strip()
    if not _strip_fillers(said, _SPELLING_TABLES.get(q.fact)):  # '老板' is a filler, and an occupation
        return None
    if _is_car_fact(q.fact):
        result = _grade_car_claim(q, said)
        if result is not None:
            return result
        if dont_know(text):
            return None
        # names another car fact, or something unreadable: a person decides
        return UNDECIDED
    if dont_know(said):
        return None
    return grade_text(q, said)


# what may stand beside "don't know" without saying anything: a bare no, pronouns, particles
_DK_NOISE = re.compile("|".join(sorted((
    "并不是", "不是", "不对", "没有", "并不", "不", "没", "我", "也", "真", "的", "了", "啊", "呀", "呢", "吧", "哦", "嗯",
    "恩", "这个", "那个", "他", "她", "就", "还", "都", "具体", "实在", "其实", "确实", "抱歉", "对不起", "sorry",
    "really", "actually", "im", "i"), key=len, reverse=True)))
_DENIAL = re.compile(r"不是|不对|没有|并不|^不|^没|^no|^not")


def _dk_rest(text: str) -> str:
    """The compact text without its "don't know" phrases."""
    c = compact(normalise(text))
    for p in _DONT_KNOW:
        c = c.replace(p.replace(" ", ""), "")
    return c


def only_dont_know(text: str | None) -> bool:
    """'不知道', '不太清楚', '不是, 我不知道', "I don't know": the callee could not say, and said nothing
    else ('不太清楚, 应该是白的' names a colour, '对, 不太清楚' is a yes: those are graded as said)."""
    return bool(text) and dont_know(text) and not _DK_NOISE.sub("", _dk_rest(text))


def grade(question: PlannedQuestion, *, confirmed: bool | None, text: str | None) -> str:
    """'correct' | 'wrong' | 'undecided' | 'unknown' for one answer (CB-5)."""
    q = question
    text = text or ""
    if confirmed is not True and only_dont_know(text):
        if q.kind == "truth" and (confirmed is False or _DENIAL.search(_dk_rest(text))):
            return WRONG  # a true statement denied ('不是, 不清楚'): a no is a no
        return UNKNOWN  # a trap denied without the correction, or nothing known: the callee could not say
    if q.kind == "open":
        return grade_text(q, text)

    if confirmed is None:
        # no yes/no recorded: a value the text asserts decides (naming the truth confirms a true
        # statement and corrects a trap; naming anything else is wrong), else a clear yes or no
        claim = _claim(q, text)
        if claim in (CORRECT, WRONG):
            return claim
        said = stance(text)
        if said is True:
            return CORRECT if q.kind == "truth" else WRONG
        if said is False and (q.kind == "truth" or claim is None):
            return WRONG
        return UNDECIDED

    if q.kind == "truth":
        return CORRECT if confirmed else WRONG

    # a trap
    if confirmed:
        return WRONG
    claim = _claim(q, text)
    if claim is None:
        return WRONG  # denied without a correction (a bare "don't know" is unknown, above)
    return claim


def outcome(grades: list[str | None], total: int, *, final: bool = True) -> str | None:
    """The call's verdict as soon as it is certain (CB-8), or None while reviews could change it.

    * 'fraudulent': 2 or more answers wrong;
    * 'verified': fewer than 2 answers can still turn out wrong or unknown;
    * 'inconclusive' (only when not `final`): not 2 wrong, but with the "don't know"s
      the callee failed to verify the relationship: the other party is called (as when
      nobody answers, CB-9), and that last call decides, counting "don't know" as wrong.

    Why: a real acquaintance does not know one fact in twenty or so and says so; counting
    that as a wrong answer flagged about 3 % of genuine referrals as fraud
    (bench/verification_power.py). A fake who says "don't know" gains nothing: the other
    party is asked instead, and on that call "don't know" is wrong.
    """
    given = [g for g in grades if g is not None]
    wrong = sum(1 for g in given if g == WRONG)
    unknown = sum(1 for g in given if g == UNKNOWN)
    undecided = sum(1 for g in given if g == UNDECIDED)
    unanswered = max(0, total - len(given))
    if final:
        wrong, unknown = wrong + unknown, 0
    if wrong >= 2:
        return FRAUDULENT
    if wrong + unknown + undecided + unanswered < 2:
        return VERIFIED
    if wrong + unknown >= 2 and wrong + undecided + unanswered < 2:
        return INCONCLUSIVE  # 2 with the unknowns already, and no review can make it 2 wrong
    return None
