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

Free-text facts (employer, home district, business, occupation, names) are open-ended: the truth
is whatever was recorded ('中国银行上海分行', '物流运输', '保险代理人') and a friend names it his way
('中行', '搞运输', '卖保险的'). An answer is read several ways: the words as said, with filler words
cut off one by one (never into a name: '阿里' keeps its 里), and the cores of colloquial frames
('搞X', '做X的', '卖X的', '开X的', '在X上班', 'X那边'). The known values of verification.vocabulary
(the spelling tables of businesses and occupations, well-known employers such as 中行 / 交大 / B站,
the places inside each district such as 张江 and the districts merged away such as 闸北) tell what
an answer names. Each reading is scored 0-100 against the truth and against the other real values
the plan knows (catalog, the trap's false value, Shanghai's districts, the known values): exact or
same core 100, same pinyin 98, the value inside the answer 95, the same known value said another
way 92 ('大夫' for '外科医生', '张江' for '浦东新区'), a leading part of the value 92 ('中国银行'),
another part 90, a known value the truth only names in passing 86 ('上汽' for '上汽通用'), an
abbreviation of its characters in order 85 ('上汽', '华师大'), otherwise the best of rapidfuzz ratios
on characters and on pinyin (typos, homophones) once a shared '上海' / '中国' in front is set aside.
An answer that is a known value another value is not scores 30 against it ('中行' is not
'中国工商银行'). Another value that only says less than the truth ('中国银行' when the truth is
'中国银行上海分行') is not counted as another value, and one of the same known kind as the truth
('中学教师' when the truth is '小学老师') counts only by what the answer says beyond that kind.
Then:

* truth score >= HIGH (85) and ahead of every other real value by MARGIN (8) -> correct
* another real value >= HIGH and ahead of the truth by MARGIN -> wrong
* truth score < LOW (50) -> wrong (garbage, or a value the grader does not know)
* otherwise -> undecided (a person decides)
* two clauses naming different values ('上汽, 或者中行') -> undecided
* an answer made only of words that could name anyone's ('在上海', '公司', '白领') -> undecided

An abbreviation, a part or a paraphrase of the truth is never wrong: when the scores above say
wrong, an answer naming the truth's known value, or a part of the truth that says more than what
kind of place it is ('华山医院', not '人民医院'), or an abbreviation of it naming nothing else, goes
to a person instead.

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


# Shanghai names whose reading pypinyin gets wrong (行 is háng in 闵行, 长 is cháng in 长宁).
_READINGS = {"闵行": ("min", "hang"), "高行": ("gao", "hang"), "杨行": ("yang", "hang"), "庙行": ("miao", "hang"),
             "殷行": ("yin", "hang"), "庄行": ("zhuang", "hang"), "长宁": ("chang", "ning"),
             "长桥": ("chang", "qiao"), "长风": ("chang", "feng"), "长白": ("chang", "bai"),
             "长海": ("chang", "hai")}
_READING_WORDS = re.compile("|".join(_READINGS))


@lru_cache(maxsize=65536)
def pinyin(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables; latin words pass through as words."""
    from pypinyin import Style, lazy_pinyin
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


# ---- free-text facts: readings, known values, scores ---------------------------------------

_FILLERS = ("我记得", "我知道", "记得", "应该", "好像", "大概", "可能", "估计", "听说", "据说", "似乎", "差不多",
            "他家住在", "她家住在", "他家在", "她家在", "家住在", "住在", "家住", "家在", "住", "家里", "老家", "他在", "她在",
            "在家", "他是", "她是", "他们", "他", "她", "就在", "是在", "在", "上班", "工作", "干活", "打工", "做事",
            "那边", "那里", "那儿", "这边", "一带", "附近", "里面", "的", "吧", "呢", "啊", "呀", "哦", "嗯", "了",
            "吗", "老板", "生意", "是", "就", "里", "我", "那个", "这个")
_WHO = re.compile(r"[\u3400-\u9fff]{1,2}(先生|女士|小姐)")
# Colloquial frames around what someone does or where ('搞运输', '卖保险的', '开了家饭店', '在张江上班',
# '做IT这一行'): their core is read as well as the words as said.
_FRAME_HEADS = ("从事", "开了一家", "开了家", "开了一个", "开了个", "开一家", "开家", "开个", "自己", "搞", "做", "干",
                "跑", "卖", "开", "当", "在", "是")
_FRAME_TAILS = ("这一行", "这行", "这一块", "这块", "那块", "行业", "方面", "相关", "之类的", "之类", "什么的", "生意",
                "的工作", "工作", "上班", "那边", "的")
_GENERIC = {"上海", "中国", "公司", "集团", "银行", "医院", "学校", "大学", "工厂", "厂", "单位", "政府", "国企",
            "外企", "私企", "企业", "机关", "事业单位", "上市公司", "科技公司", "公务员", "老师", "医生", "上海市",
            "浦东", "分公司", "研究所", "中学", "小学", "做生意", "生意", "开店", "自己", "个体", "上班族", "打工",
            "上班", "工作", "做事", "干活", "外地", "本地", "市区", "郊区",
            "company", "bank", "hospital", "school", "factory"}
# words too vague to name anyone's employer or business, per fact ('医生' is no employer, but an occupation)
_GENERIC_FOR = {
    "occupation": frozenset({"上海", "中国", "公司", "单位", "上班族", "企业", "自己", "company", "白领", "职员",
                             "公司职员", "员工", "普通员工", "打工", "上班", "工作", "做事", "干活", "经理", "管理",
                             "领导", "干部", "公司上班", "国企", "外企", "私企", "上班的", "打工的",
                             # where, not what: '在医院上班' may be a doctor, a nurse or the cashier
                             "医院", "学校", "大学", "中学", "小学", "幼儿园", "工厂", "厂里", "工地", "商场",
                             "超市", "饭店", "酒店", "宾馆", "物业", "研究所", "机场", "地铁", "单位里"}),
    "home_district": frozenset({"上海", "上海市", "市区", "郊区", "市中心", "外环", "内环", "中环", "新区", "区",
                                "县", "镇"}),
}
_CORE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "上海分公司", "分公司", "公司", "集团", "支行", "分行",
                  "总部", "研究所", "研究院")
# Words that say what kind of place a name is, not which one ('人民医院', '上海公司'): a part of the
# truth made only of these does not show the callee knows it.
_KIND_WORDS = {
    "home_district": ("上海市", "上海", "新区", "区", "县", "市", "镇"),
}
_KIND_WORDS_DEFAULT = ("上海市", "上海", "中国", "股份有限公司", "有限责任公司", "有限公司", "分公司", "总公司", "公司",
                       "集团", "股份", "有限", "责任", "银行", "分行", "支行", "医院", "人民", "附属", "大学", "学院",
                       "学校", "中学", "小学", "科技", "技术", "信息", "发展", "国际", "实业", "投资", "管理", "服务",
                       "中心", "研究所", "研究院", "工厂", "厂", "市", "区", "新区", "浦东", "浦西", "总部", "上班")


@lru_cache(maxsize=262144)
def _key(text: str) -> str:
    return compact(normalise(text))


def _known_index(fact: str) -> dict[str, str]:
    """Known spellings of a fact -> canonical value (the tables of verification.vocabulary)."""
    return _INDEX.get(fact, {})


_INDEX: dict[str, dict[str, str]] = {
    fact: {_key(s): canon for canon, spellings in table.items() for s in (canon, *spellings) if _key(s)}
    for fact, table in vocab.KNOWN_VALUES.items()}
# spellings of known values as they may appear inside a longer text: (spelling, canonical), longest first
_NAMES: dict[str, list[tuple[str, str]]] = {
    fact: sorted(((s, c) for s, c in index.items() if len(s) >= 2), key=lambda p: -len(p[0]))
    for fact, index in _INDEX.items()}
_NAMES["home_district"] = sorted(
    {(vocab.canon_district(d), vocab.canon_district(d)) for d in SHANGHAI_DISTRICTS} |
    {(_key(place), district) for district, places in vocab.DISTRICT_PLACES.items() for place in places},
    key=lambda p: -len(p[0]))


def _strip_greedy(c: str) -> str:
    """Every filler word cut off both ends (empty when the text is nothing but fillers)."""
    changed = True
    while changed and c:
        changed = False
        for f in _FILLERS:
            if c.startswith(f):
                c, changed = c[len(f):], True
            if c.endswith(f):
                c, changed = c[: -len(f)], True
    return c


def _strip_states(text: str, known: dict[str, str] | None = None) -> list[str]:
    """The text, then the text with one more filler word cut off an end, and so on.

    A cut stops at a known spelling ('他是老板' -> '老板') and never leaves less than two
    characters: a filler character at the edge of a short name is part of the name ('阿里',
    '万里', '住友'). A text made only of fillers ('他', '那边') ends empty."""
    c = compact(text)
    states = _strip_chain(c, known)
    if known and states[-1] in known:
        return states
    who = _WHO.sub("", c)  # '张先生在上汽上班' (but '教书先生' is a teacher: the text as said stays a reading)
    return states + _strip_chain(who, known) if who != c else states


def _strip_chain(c: str, known: dict[str, str] | None) -> list[str]:
    states = [c]
    while c and not (known and c in known):
        for f in _FILLERS:
            if c.startswith(f) and len(c) - len(f) >= 2:
                c = c[len(f):]
                break
            if c.endswith(f) and len(c) - len(f) >= 2:
                c = c[: -len(f)]
                break
        else:
            break
        states.append(c)
    if c and not (known and c in known) and not _strip_greedy(c):
        states.append("")
    return states


def _strip_fillers(text: str, known: dict[str, str] | None = None) -> str:
    """Cut filler words off both ends ('好像是上汽吧' -> '上汽'); see _strip_states."""
    return _strip_states(text, known)[-1]


def _frame_cores(text: str) -> list[str]:
    """'搞运输' -> '运输', '卖保险的' -> '保险', '在张江上班' -> '张江' (at least two characters left)."""
    out = []
    heads = [text[len(h):] for h in _FRAME_HEADS if text.startswith(h) and len(text) - len(h) >= 2][:1]
    for s in [text, *heads]:
        tails = [s[: -len(t)] for t in _FRAME_TAILS if s.endswith(t) and len(s) - len(t) >= 2][:1]
        out.extend(x for x in [s, *tails] if x != text)
    return out


@lru_cache(maxsize=65536)
def _form(fact: str, text: str) -> str:
    """The compared form of a (compact) text: a known spelling becomes its canonical value ('大夫' -> '医生',
    '中行' -> '中国银行'), a district loses 上海 and its suffix ('上海市浦东新区' -> '浦东')."""
    if fact == "home_district":
        for prefix in ("上海市", "上海"):
            if text.startswith(prefix) and len(text) > len(prefix) + 1:
                text = text[len(prefix):]
        return vocab.canon_district(text)
    canon = _known_index(fact).get(text)
    return _key(canon) if canon else text


@lru_cache(maxsize=65536)
def _value_form(fact: str, value: str) -> str:
    """A value on record (the truth, another real value): as written, no filler words cut."""
    return _form(fact, _key(value))


@lru_cache(maxsize=65536)
def _readings(fact: str, text: str) -> tuple[str, ...]:
    """The forms an answer is compared in: the words as said, with filler words cut off one by one,
    and the cores of colloquial frames. The best reading counts (on both sides: truth and others)."""
    known = _known_index(fact)
    states = _strip_states(normalise(text), known)
    texts = [s for s in states if s]
    for s in list(texts):
        texts.extend(_frame_cores(s))
    forms = [_form(fact, s) for s in dict.fromkeys(texts) if len(s) >= 2 or s == states[-1]]
    return tuple(f for f in dict.fromkeys(forms) if f)


@lru_cache(maxsize=65536)
def _prepare(fact: str, value: str) -> str:
    """The answer with every filler cut off, in its compared form ('' when nothing is left)."""
    final = _strip_fillers(normalise(value), _known_index(fact))
    return _form(fact, final) if final else ""


@lru_cache(maxsize=None)
def _pinyin_index(fact: str) -> dict[str, frozenset[str]]:
    """Pinyin of the known Chinese spellings of two or more characters -> their values ('上骑' sounds '上汽')."""
    out: dict[str, set[str]] = {}
    for spelling, canon in _NAMES.get(fact, ()):
        if _is_han(spelling):
            out.setdefault(" ".join(pinyin(spelling)), set()).add(_key(canon) if fact != "home_district" else canon)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=65536)
def _names(fact: str, form: str) -> tuple[frozenset[str], frozenset[str]]:
    """Known values a (compact) text names: (what it is, everything it names).

    The whole text when it is a known spelling (or sounds like one: '上骑'); else each known spelling
    of two or more characters inside it (latin ones as whole words), and for districts the district
    names and the places below them. A name inside a longer name found in the text is named, but is
    not what the text is: '上汽通用' is 上汽通用 and names 上汽; '保险销售' is an insurance agent and
    names the salesman; '复旦大学附属华山医院' is both the hospital and the university."""
    name_of = (lambda canon: canon) if fact == "home_district" else _key
    found: set[str] = set()
    primary: set[str] = set()
    spans: list[tuple[int, int]] = []
    if fact != "home_district" and form in _known_index(fact):
        whole = name_of(_known_index(fact)[form])
        found.add(whole)
        primary.add(whole)
        spans.append((0, len(form)))
    elif len(form) >= 2 and _is_han(form):
        sounds = _pinyin_index(fact).get(" ".join(pinyin(form)), frozenset())
        if len(sounds) == 1:
            found |= sounds
            primary |= sounds
            spans.append((0, len(form)))
    latin = any(ch.isascii() and ch.isalpha() for ch in form)
    for spelling, canon in _NAMES.get(fact, ()):
        if spelling.isascii() and not (latin and _has_spelling(form, spelling)) or \
                not spelling.isascii() and spelling not in form:
            continue
        name = name_of(canon)
        found.add(name)
        start = form.find(spelling) if not spelling.isascii() else \
            re.search(rf"(?<![a-z]){re.escape(spelling)}(?![a-z])", form).start()
        end = start + len(spelling)
        if not any(s <= start and end <= e and e - s > end - start for s, e in spans):
            primary.add(name)
        spans.append((start, end))
    return frozenset(primary), frozenset(found)


def names_the_same(fact: str, a: str, b: str) -> bool:
    """Whether two values name one known value in other words ('做物流' and '物流运输', '医生' and
    '外科大夫'): such a value must never serve as a trap for the other (CB-3)."""
    if fact == "home_district":
        return False  # districts are canonical values already (planning compares them canonically)
    first = frozenset().union(*(_names(fact, f)[0] for f in _value_forms(fact, a)))
    second = frozenset().union(*(_names(fact, f)[0] for f in _value_forms(fact, b)))
    return bool(first & second)


def _named(fact: str, text: str) -> frozenset[str]:
    """What an answer names: the known values it is (see _names)."""
    return _names(fact, text)[0]


def _kind_words(fact: str) -> tuple[str, ...]:
    return _KIND_WORDS.get(fact, _KIND_WORDS_DEFAULT)


def _strip_kind(fact: str, text: str) -> str:
    """The text without the words that only say what kind of place it is ('上海市第六人民医院' -> '第六')."""
    for w in sorted(_kind_words(fact), key=len, reverse=True):
        text = text.replace(w, "")
    return text


def _informative(fact: str, text: str) -> int:
    """How many characters of a text say which one, not what kind of place."""
    return len(_strip_kind(fact, text))


def _lead(fact: str, text: str) -> str:
    """The text without its leading kind words ('上海浦东发展银行' -> '浦东发展银行')."""
    changed = True
    while changed:
        changed = False
        for w in ("上海市", "上海", "中国"):
            if text.startswith(w) and len(text) > len(w) + 1:
                text, changed = text[len(w):], True
    return text


_GENERIC_PARTS = re.compile("|".join(sorted(("上海市", "上海", "中国", "有限公司", "分公司", "公司", "集团", "保险",
                                              "有限", "股份"), key=len, reverse=True)))


def _degeneric(text: str) -> str:
    return _GENERIC_PARTS.sub("", text)


@lru_cache(maxsize=65536)
def _core(text: str) -> str:
    for suffix in _CORE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _is_subsequence_seq(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(s in it for s in short)


def _has_spelling(text: str, spelling: str) -> bool:
    """`spelling` in `text`; a latin one as a whole word ('做it的' has 'it', 'waiter' has not)."""
    if not spelling.isascii():
        return spelling in text
    return re.search(rf"(?<![a-z]){re.escape(spelling)}(?![a-z])", text) is not None


@lru_cache(maxsize=262144)
def _score_forms(fact: str, a: str, v: str, as_truth: bool = True) -> float:
    """How well one reading of an answer names a value, 0-100 (see the module docstring). A value that
    only names the answer's known value in passing ('上汽通用' names 上汽) counts for the truth (86: the
    truth is a part of it) and not as another value the answer could mean."""
    if not a or not v:
        return 0.0
    if a == v or _core(a) == _core(v):
        return 100.0
    said = _named(fact, a)
    primary, meant = _names(fact, v)
    best = 0.0
    if said and said <= primary:
        best = 92.0  # the same known value, said another way ('大夫', '搞运输', '张江', '中行')
    elif said and as_truth and said <= meant:
        best = 86.0  # a known value the truth names in passing ('上汽' for '上汽通用')
    elif said and said & (meant if as_truth else primary):
        best = 80.0  # one of several known values the answer names ('古北' is in 长宁 and in 闵行)
    elif said and (meant or not as_truth):
        # the answer is a known value this one is not ('中行' is not '中国工商银行', '张江' is not in 闵行,
        # '上汽' is not '上汽通用')
        return 30.0
    if len(v) >= 2 and v in a:
        best = max(best, 95.0)
    elif len(a) >= 2 and a in v and _informative(fact, a):  # not '新区' of '浦东新区', '有限公司'
        best = max(best, 92.0 if _lead(fact, v).startswith(_lead(fact, a)) else 90.0)
    elif len(a) >= 2 and _is_subsequence(a, v) and _informative(fact, a):
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
    # typos and sound-alikes, without a shared '上海' / '中国' in front ('上海一中' is not like '上海银行')
    la, lv = _lead(fact, a), _lead(fact, v)
    pa, pv = pinyin(la), pinyin(lv)
    if pa and pv:
        best = max(best, fuzz.ratio("".join(pa), "".join(pv)))
    best = max(best, fuzz.ratio(la, lv))
    if len(a) > len(v) + 1:
        best = max(best, 0.95 * fuzz.partial_ratio(v, a))
    if not said and not _informative(fact, a):
        best = min(best, 60.0)  # it only says what kind of place ('人民医院', '技术有限公司'): a person decides
    return float(best)


@lru_cache(maxsize=65536)
def _value_forms(fact: str, value: str) -> tuple[str, ...]:
    """A value as written and in its compared form ('外科医生' and '医生')."""
    return tuple(dict.fromkeys(f for f in (_value_form(fact, value), _key(value)) if f))


@lru_cache(maxsize=65536)
def _residue(fact: str, text: str) -> str:
    """The text without the known values it names ('中学老师' -> '中学')."""
    for spelling, _ in _NAMES.get(fact, ()):
        if not spelling.isascii():
            text = text.replace(spelling, "")
    return text


def _sibling_score(fact: str, a: str, v: str) -> float:
    """How well an answer names a value of the same known kind as the truth by what sets that value apart:
    '中学老师' names '中学教师' rather than '小学老师'; '老师' names neither one more than the other."""
    ra, rv = _residue(fact, a), _residue(fact, _key(v) if v else v)
    if len(ra) < 2 or len(rv) < 2:
        return 0.0
    if ra == rv:
        return 100.0
    if ra in rv or rv in ra:
        return 90.0
    return float(fuzz.ratio(ra, rv))


@lru_cache(maxsize=65536)
def score(fact: str, answer: str, value: str, as_truth: bool = True,
          truth_names: frozenset[str] = frozenset()) -> float:
    """How well an answer names a value, 0-100: its best reading (see the module docstring).

    For another value (not `as_truth`) of the same known kind as the truth (`truth_names`: '中学教师'
    when the truth is '小学老师'), an answer that names only that kind counts by what it says beyond it."""
    best = 0.0
    for r in _readings(fact, answer):
        said = _named(fact, r)
        for v in _value_forms(fact, value):
            if not as_truth and said and said <= truth_names and said <= _names(fact, v)[0] and r != v:
                best = max(best, _sibling_score(fact, r, v))
            else:
                best = max(best, _score_forms(fact, r, v, as_truth))
    return best


@lru_cache(maxsize=65536)
def _part_of_truth(fact: str, answer: str, truth: str) -> bool:
    """Whether an answer names the truth in part or in short, so that it must not be graded wrong:
    the same known value ('大夫' for '外科医生', '张江' for '浦东新区', '中行' for '中国银行上海分行'),
    a part of the truth that says more than what kind of place it is ('中国银行', '华山医院', '阿里'),
    or an abbreviation made of its characters in order ('上汽', '华师大') that names nothing else."""
    for v in _value_forms(fact, truth):
        meant = _names(fact, v)[1]
        for r in _readings(fact, answer):
            said = _named(fact, r)
            if said and meant and said & meant:
                return True
            if said and not said <= meant:
                continue  # names another known value
            if len(r) >= 2 and r in v and (said or _informative(fact, r) >= 2):
                return True
            if 2 <= len(r) <= 4 and not said and _is_han(r) and _is_subsequence(r, v) and \
                    _informative(fact, r) >= 1 and r[0] in _strip_kind(fact, v):
                return True
    return False


def _is_han(text: str) -> bool:
    return all(_is_han_char(ch) for ch in text)


@lru_cache(maxsize=65536)
def _generalises(fact: str, other: str, truth: str) -> bool:
    """Whether a value on record only says less than the truth ('中国银行' of '中国银行上海分行', '浦东新区'
    of '浦东新区张江镇', '销售' of '保险销售'): an answer that names it names the truth too."""
    if len(other) >= 2 and other in truth:
        return True
    names = _named(fact, other)
    return bool(names) and other in _known_index(fact) and names <= _names(fact, truth)[1]


def _others(q: PlannedQuestion) -> tuple[str, ...]:
    """The other real values an answer may name: the catalog, the trap's false value, the known values."""
    return _other_values(q.fact, (q.true_value, *q.alternatives), tuple(q.choices),
                         q.asked_value if q.kind == "trap" else None)


@lru_cache(maxsize=4096)
def _other_values(fact: str, truths: tuple[str, ...], choices: tuple[str, ...], asked: str | None) -> tuple[str, ...]:
    forms = [_value_form(fact, t) for t in truths]
    pool = list(choices)
    if asked:
        pool.append(asked)
    if fact == "home_district":
        pool.extend(SHANGHAI_DISTRICTS)
    else:
        pool.extend(vocab.KNOWN_VALUES.get(fact, ()))
    out = []
    for o in dict.fromkeys(pool):
        f = _value_form(fact, o)
        if not f or any(f == t or _core(f) == _core(t) or _generalises(fact, f, t) for t in forms):
            continue
        out.append(o)
    return tuple(out)


@lru_cache(maxsize=4096)
def _truth_names(fact: str, truths: tuple[str, ...]) -> frozenset[str]:
    """Every known value the truths name (the kinds of value the truth is)."""
    return frozenset().union(*(_names(fact, f)[1] for t in truths for f in _value_forms(fact, t)))


def _vague(fact: str, text: str) -> bool:
    """Only words that could name anyone's employer, district... ('在上海', '公司', '打工的', '白领')."""
    generic = _GENERIC_FOR.get(fact, _GENERIC)
    said = _prepare(fact, text)
    bare = re.sub(r"(的|了|吧|呢|啊)+$", "", _WHO.sub("", compact(normalise(text))))
    return said in generic or bare in generic


def grade_text(q: PlannedQuestion, text: str) -> str:
    """Grade a free-text answer (or correction) against the truth of a free-text fact."""
    if not compact(normalise(text)):
        return WRONG
    if _vague(q.fact, text):
        return UNDECIDED  # only generic words ('在上海', '公司'): could be anyone's
    if not _prepare(q.fact, text):
        return WRONG
    if dont_know(text) and len(_without_dont_know(text, q.fact)) < 2:
        return WRONG
    answer = _without_dont_know(text, q.fact) if dont_know(text) else text
    # the whole answer and each of its clauses ('在上汽工作, 做会计'): the best reading counts
    parts = [answer] + [c for c in clauses(answer) if _prepare(q.fact, c)]
    parts = [c for c in parts if not _vague(q.fact, c)]
    if not parts:
        return UNDECIDED
    truths = (q.true_value, *q.alternatives)
    others = _others(q)
    kinds = _truth_names(q.fact, truths)
    scored = [(max(score(q.fact, c, t) for t in truths),
               max((score(q.fact, c, o, False, kinds) for o in others), default=0.0)) for c in parts]
    truth = max(t for t, _ in scored)
    other = max(o for _, o in scored)
    if len(parts) > 2 and any(t >= HIGH and t - o >= MARGIN for t, o in scored[1:]) and \
            any(o >= HIGH and o - t >= MARGIN for t, o in scored[1:]):
        return UNDECIDED  # two answers ('上汽, 或者中行'): a person decides
    if truth >= HIGH and truth - other >= MARGIN:
        verdict = CORRECT
    elif other >= HIGH and other - truth >= MARGIN:
        verdict = WRONG
    elif truth < LOW:
        verdict = WRONG
    else:
        verdict = UNDECIDED
    if verdict == WRONG and any(_part_of_truth(q.fact, c, t) for c in parts for t in truths):
        return UNDECIDED  # a part or short form of the truth is never wrong: a person decides
    return verdict


def _without_dont_know(text: str, fact: str | None = None) -> str:
    return _strip_fillers(_dk_rest(text), _known_index(fact) if fact else None)


# ---- grading -------------------------------------------------------------------------------

_YES_WORDS = re.compile(r"^(?:(?:没错|对的|是的|对|嗯|恩|有的|确实|肯定|当然|没问题|好的|有)\s*)+")


def _is_car_fact(fact: str) -> bool:
    return fact in ("model", "colour", "transmission", "car")


def _claim(q: PlannedQuestion, text: str) -> str | None:
    """Grade what the text asserts (after removing what it denies); None if it asserts nothing."""
    said = _YES_WORDS.sub("", asserted(text)).strip()
    if not _strip_fillers(said, _known_index(q.fact)):  # '老板' is a filler, and an occupation
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
