"""One answer's grade (CB-5) and the call's verdict (CB-8)."""
from __future__ import annotations

import re

from verification.callbacks.grading.cars import _grade_car_claim
from verification.callbacks.grading.grades import CORRECT, FRAUDULENT, INCONCLUSIVE, UNDECIDED, UNKNOWN, VERIFIED, WRONG
from verification.callbacks.grading.readings import _known_index, _strip_fillers
from verification.callbacks.grading.scores import grade_text
from verification.callbacks.grading.stance import _DENIAL, _dk_rest, asserted, dont_know, only_dont_know, stance
from verification.callbacks.planning import PlannedQuestion

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
