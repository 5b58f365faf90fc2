"""CB-11: the estimated chance that a callee coached by the referral's own staff passes a call."""
from __future__ import annotations

import pytest

from verification.callbacks import planning, strength
from verification.callbacks.planning import Catalog, PartyFacts, PlannedQuestion, VehicleFacts

CATALOG = Catalog(models=("速腾", "高尔夫", "捷达", "朗逸", "帕萨特"), colours=("白色", "黑色", "红色", "银色"),
                  employers=("上海汽车集团", "宝钢集团", "东方航空", "华为上海研究所"),
                  districts=("浦东新区", "闵行区", "徐汇区", "静安区"),
                  occupations=("工程师", "医生", "教师", "会计"))
FREQ = strength.Frequencies.of({"employer": CATALOG.employers * 5, "home_district": CATALOG.districts * 5,
                                "occupation": CATALOG.occupations * 5, "model": CATALOG.models * 4,
                                "colour": CATALOG.colours * 5, "transmission": ["automatic", "manual"] * 10})
CAR = frozenset({"model", "colour"})


def q(kind: str, fact: str, truth: str, key: str = "q") -> PlannedQuestion:
    return PlannedQuestion(key=key, template_code="t", kind=kind, fact=fact, true_value=truth,
                           asked_value=None if kind == "open" else truth, text_zh="", text_en="")


def rich(**over) -> PartyFacts:
    facts = dict(name="张三", gender="male", employer="上海汽车集团", home_district="浦东新区", business=None,
                 vehicles=(VehicleFacts("速腾", "白色", "automatic"),), occupation="工程师")
    return PartyFacts(**{**facts, **over})


@pytest.mark.rule("CB-11")
def test_questions_on_facts_the_staff_know_cost_the_insider_nothing():
    questions = [q("open", "employer", "上海汽车集团"), q("trap", "model", "速腾"), q("truth", "colour", "白色")]
    assert strength.insider_pass(questions, {"employer", "model", "colour"}, FREQ) == 1.0
    # one unknown question: a single wrong answer never fails a call (CB-8)
    assert strength.insider_pass(questions, {"model", "colour"}, FREQ) == 1.0


@pytest.mark.rule("CB-11")
def test_three_hidden_open_questions_need_two_lucky_guesses():
    questions = [q("open", "employer", "上海汽车集团"), q("open", "home_district", "浦东新区"),
                 q("open", "occupation", "工程师")]
    g = [FREQ.share("employer", "上海汽车集团"), FREQ.share("home_district", "浦东新区"),
         FREQ.share("occupation", "工程师")]
    all_right = g[0] * g[1] * g[2]
    one_wrong = sum(g[i] * g[j] * (1 - g[k]) for i, j, k in ((0, 1, 2), (0, 2, 1), (1, 2, 0)))
    assert strength.insider_pass(questions, CAR, FREQ) == pytest.approx(all_right + one_wrong)


@pytest.mark.rule("CB-11")
def test_statements_take_the_best_yes_no_policy_of_someone_who_cannot_tell_a_trap():
    # a true statement and a trap on hidden facts plus one known question: saying yes to both gets the
    # truth right and the trap wrong (one wrong): the insider passes for sure
    questions = [q("truth", "employer", "上海汽车集团"), q("trap", "home_district", "浦东新区"),
                 q("trap", "model", "速腾")]
    assert strength.insider_pass(questions, CAR, FREQ) == 1.0
    # two traps and a truth, all hidden: "yes" fails both traps; "no" fails the truth and needs a lucky
    # correction; believing guesses needs two right: well under one in two
    hard = [q("truth", "employer", "上海汽车集团"), q("trap", "home_district", "浦东新区"),
            q("trap", "occupation", "工程师")]
    assert strength.insider_pass(hard, CAR, FREQ) < 0.3


@pytest.mark.rule("CB-11")
def test_a_value_nobody_else_has_is_still_guessable_a_little():
    empty = strength.Frequencies()
    assert empty.share("employer", "某某公司") == pytest.approx(1 / strength.PLAUSIBLE_VALUES["employer"])
    # three customers on record do not make an employer easy to guess
    few = strength.Frequencies.of({"employer": ["上海汽车集团", "宝钢集团", "东方航空"]})
    assert few.share("employer", "上海汽车集团") < 0.05
    assert strength.to_bp(0.05) == 500 and strength.to_bp(0.050001) == 501 and strength.to_bp(1.2) == 10000


@pytest.mark.rule("CB-11")
def test_a_strong_plan_is_drawn_when_the_facts_allow_one():
    for _ in range(30):
        plan = strength.draw_strong(rich(), known=CAR, catalog=CATALOG, freq=FREQ, limit=0.05)
        assert plan.strong and plan.insider_pass <= 0.05
        assert strength.insider_pass(plan.questions, CAR, FREQ) == plan.insider_pass
        hidden = [x for x in plan.questions if x.fact not in ("model", "colour", "car")]
        assert len(hidden) >= 3  # a lucky guess alone never passes it


@pytest.mark.rule("CB-11")
def test_too_few_hidden_facts_make_a_weak_plan():
    thin = rich(occupation=None)  # employer and district hidden, the car known to the staff
    plan = strength.draw_strong(thin, known=CAR, catalog=CATALOG, freq=FREQ, limit=0.05)
    assert not plan.strong and plan.insider_pass > 0.05
    # facts the staff typed count as known: with the employer typed by them, even weaker
    weaker = strength.draw_strong(thin, known=CAR | {"employer"}, catalog=CATALOG, freq=FREQ, limit=0.05)
    assert weaker.insider_pass >= plan.insider_pass


@pytest.mark.rule("CB-11")
@pytest.mark.rule("CB-1")
def test_the_other_party_is_called_when_the_plan_about_it_is_too_weak():
    typed_by_staff = frozenset({"employer", "home_district", "occupation", "model", "colour", "transmission"})
    about = {"referrer": (rich(name="李四"), CAR | typed_by_staff),  # calling the old customer: about the new
             "referee": (rich(), CAR)}                              # calling the new one: about the old
    for _ in range(10):
        choice = strength.choose_call("referrer", about, catalog=CATALOG, freq=FREQ, limit=0.05)
        assert choice.party == "referee" and choice.plan.strong
        assert choice.fallback == "the plan about the other party was too weak"
        kept = strength.choose_call("referee", about, catalog=CATALOG, freq=FREQ, limit=0.05)
        assert kept.party == "referee" and kept.fallback is None


@pytest.mark.rule("CB-11")
def test_when_both_plans_are_weak_the_stronger_is_used_and_marked_weak():
    about = {"referrer": (rich(name="李四", occupation=None, employer=None), CAR),
             "referee": (rich(occupation=None), CAR)}
    choice = strength.choose_call("referrer", about, catalog=CATALOG, freq=FREQ, limit=0.05)
    assert not choice.plan.strong
    with pytest.raises(planning.NotEnoughFacts):
        nobody = PartyFacts("王五", None, None, None, None, ())
        strength.choose_call("referee", {"referee": (nobody, CAR), "referrer": (nobody, CAR)},
                             catalog=CATALOG, freq=FREQ, limit=0.05)
