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

from verification.callbacks.grading.cars import mentions
from verification.callbacks.grading.grades import CORRECT, FRAUDULENT, INCONCLUSIVE, UNDECIDED, UNKNOWN, VERIFIED, WRONG
from verification.callbacks.grading.readings import names_the_same
from verification.callbacks.grading.scores import HIGH, LOW, MARGIN, grade_text, score
from verification.callbacks.grading.stance import asserted, dont_know, only_dont_know, stance
from verification.callbacks.grading.text import clauses, compact, normalise, pinyin
from verification.callbacks.grading.verdict import grade, outcome

__all__ = ["CORRECT", "FRAUDULENT", "HIGH", "INCONCLUSIVE", "LOW", "MARGIN", "UNDECIDED", "UNKNOWN", "VERIFIED",
           "WRONG", "asserted", "clauses", "compact", "dont_know", "grade", "grade_text", "mentions",
           "names_the_same", "normalise", "only_dont_know", "outcome", "pinyin", "score", "stance"]
