"""How a free-text answer is read (employer, home district, business, occupation, names).

An answer is read several ways: the words as said, with filler words cut off one by one (never into
a name: '阿里' keeps its 里), and the cores of colloquial frames ('搞X', '做X的', '卖X的', '开X的',
'在X上班', 'X那边'). The known values of verification.vocabulary (the spelling tables of businesses and
occupations, well-known employers such as 中行 / 交大 / B站, the places inside each district such as
张江 and the districts merged away such as 闸北) tell what an answer names.
"""
from __future__ import annotations

import re
from functools import cache, lru_cache

from verification import vocabulary as vocab
from verification.callbacks.grading.stance import _is_han_char
from verification.callbacks.grading.text import compact, normalise, pinyin
from verification.callbacks.planning import SHANGHAI_DISTRICTS

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


@cache
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


@lru_cache(maxsize=65536)
def _value_forms(fact: str, value: str) -> tuple[str, ...]:
    """A value as written and in its compared form ('外科医生' and '医生')."""
    return tuple(dict.fromkeys(f for f in (_value_form(fact, value), _key(value)) if f))


def _is_han(text: str) -> bool:
    return all(_is_han_char(ch) for ch in text)
