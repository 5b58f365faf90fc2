"""Scores of a free-text answer against the truth and the other real values, and its grade
(see the rules in the package docstring)."""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from verification import vocabulary as vocab
from verification.callbacks.grading.grades import CORRECT, UNDECIDED, WRONG
from verification.callbacks.grading.readings import (
    _GENERIC,
    _GENERIC_FOR,
    _NAMES,
    _WHO,
    _core,
    _degeneric,
    _informative,
    _is_han,
    _is_subsequence,
    _is_subsequence_seq,
    _key,
    _known_index,
    _lead,
    _named,
    _names,
    _prepare,
    _readings,
    _strip_fillers,
    _strip_kind,
    _value_form,
    _value_forms,
)
from verification.callbacks.grading.stance import _dk_rest, dont_know
from verification.callbacks.grading.text import clauses, compact, normalise, pinyin
from verification.callbacks.planning import SHANGHAI_DISTRICTS, PlannedQuestion

HIGH, MARGIN, LOW = 85.0, 8.0, 50.0


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
