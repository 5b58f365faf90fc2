"""Grading callback answers (CB-5) and the outcome (CB-8). No database."""
from __future__ import annotations

import pytest

from verification.callbacks.grading import asserted, grade, outcome, stance
from verification.callbacks.planning import PlannedQuestion
from verification.callbacks.traditional import to_simplified

EMPLOYERS = ("上海汽车集团", "中国银行浦东支行", "华为上海研究所", "浦东新区人民医院", "上海交通大学",
             "中国移动上海公司", "宝钢集团", "东方航空", "联合利华中国", "平安保险上海分公司")
DISTRICTS = ("浦东新区", "闵行区", "徐汇区", "静安区", "黄浦区")


def q(kind, fact, true, asked=None, alternatives=(), choices=()):
    if kind == "truth":
        asked = true
    return PlannedQuestion(key="q1", template_code="t", kind=kind, fact=fact, true_value=true, asked_value=asked,
                           text_zh="", text_en="", alternatives=tuple(alternatives), choices=tuple(choices))


EMPLOYER = q("open", "employer", "上海汽车集团", choices=[e for e in EMPLOYERS if e != "上海汽车集团"])
DISTRICT = q("open", "home_district", "浦东新区", choices=[d for d in DISTRICTS if d != "浦东新区"])
BUSINESS = q("open", "business", "开餐馆", choices=("做外贸", "开超市", "做装修"))
NAME = q("open", "name", "张三")
OCCUPATION = q("open", "occupation", "医生", choices=("教师", "会计", "工程师", "程序员"))
OWNER = q("open", "occupation", "个体户", choices=("教师", "司机", "程序员"))
OCCUPATION_TRAP = q("trap", "occupation", "程序员", "工程师", choices=("教师", "医生", "工程师"))
CAR_TRAP = q("trap", "car", "白色 速腾", "黑色 捷达")          # 张先生是有一辆黑颜色的捷达轿车吗?
COLOUR_TRAP = q("trap", "colour", "白色", "黑色")
MODEL_TRAP = q("trap", "model", "速腾", "捷达")
GEAR_TRAP = q("trap", "transmission", "automatic", "manual")
COLOUR_TRUTH = q("truth", "colour", "白色")
EMPLOYER_TRAP = q("trap", "employer", "上海汽车集团", "中国银行浦东支行", choices=EMPLOYERS[1:])


# ---- open questions ------------------------------------------------------------------------

@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,text", [
    (EMPLOYER, "上海汽车集团"), (EMPLOYER, "上汽集团"), (EMPLOYER, "上海汽车"), (EMPLOYER, "在上汽上班"),
    (EMPLOYER, "上汽"), (EMPLOYER, "好像是上汽吧"), (EMPLOYER, "上海汽车集困"),      # a typo
    (EMPLOYER, "上骑"),                                                            # wrong character, same sound
    (EMPLOYER, "上海汽車集團"), (EMPLOYER, "shang hai qi che ji tuan"), (EMPLOYER, "　上汽　集团！"),
    (EMPLOYER, "在上汽工作，做会计"),
    (DISTRICT, "浦东"), (DISTRICT, "浦东新区"), (DISTRICT, "在浦东那边"), (DISTRICT, "住浦东"),
    (DISTRICT, "上海浦东"), (DISTRICT, "Pudong"), (DISTRICT, "浦東新區"),
    (BUSINESS, "开饭店的"), (BUSINESS, "餐饮"), (BUSINESS, "开了家小饭馆"), (BUSINESS, "開餐館"),
    (NAME, "张三"), (NAME, "zhang san"), (NAME, "Zhāng Sān"), (NAME, "ZHANGSAN"), (NAME, "張三"),
    (NAME, "ｚｈａｎｇ　ｓａｎ"),
    (OCCUPATION, "医生"), (OCCUPATION, "大夫"), (OCCUPATION, "他是医生"), (OCCUPATION, "当医生的"),
    (OCCUPATION, "在医院当大夫"), (OCCUPATION, "医師"), (OCCUPATION, "yi sheng"), (OCCUPATION, "Doctor"),
    (OCCUPATION, "医升"),                                              # wrong character, same sound
    (OWNER, "老板"), (OWNER, "他是老板"), (OWNER, "做生意的"), (OWNER, "个体户吧"),
])
def test_open_answers_graded_correct(question, text):
    assert grade(question, confirmed=None, text=text) == "correct"


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,text", [
    (EMPLOYER, ""), (EMPLOYER, None),
    (EMPLOYER, "在中行上班"), (EMPLOYER, "华为"), (EMPLOYER, "交大"), (EMPLOYER, "阿斯顿马丁"),
    (DISTRICT, "闵行"), (DISTRICT, "徐汇区"), (DISTRICT, "宝山"),
    (BUSINESS, "做外贸"), (BUSINESS, "卖东西"), (BUSINESS, "不清楚他做什么生意"),
    (NAME, "李四"), (NAME, "wang wu"),
    (OCCUPATION, "老师"), (OCCUPATION, "教书的"), (OCCUPATION, "程序员"), (OWNER, "开车的"), (OWNER, "码农"),
])
def test_open_answers_graded_wrong(question, text):
    assert grade(question, confirmed=None, text=text) == "wrong"


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,text", [
    (EMPLOYER, "上海"),              # could be half the employers in town
    (EMPLOYER, "公司"),
    (EMPLOYER, "上汽，或者中行"),      # two answers: a person decides
    (DISTRICT, "浦西"),              # not a district
])
def test_open_answers_the_grader_cannot_place_are_undecided(question, text):
    assert grade(question, confirmed=None, text=text) == "undecided"


# ---- true statements ---------------------------------------------------------------------------

@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("confirmed,text,expected", [
    (True, "", "correct"), (True, "对，白色的", "correct"), (False, "", "wrong"), (False, "黑色", "wrong"),
    (None, "是的", "correct"), (None, "对", "correct"), (None, "没错", "correct"), (None, "yes", "correct"),
    (None, "白色", "correct"), (None, "white", "correct"), (None, "白的", "correct"),
    (None, "不是", "wrong"), (None, "不对，黑色", "wrong"), (None, "no", "wrong"), (None, "黑色", "wrong"),
    (None, "", "undecided"), (None, "嗯…那个…", "undecided"),
])
def test_truth_statements(confirmed, text, expected):
    assert grade(COLOUR_TRUTH, confirmed=confirmed, text=text) == expected


# ---- traps ----------------------------------------------------------------------------------------

@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,text", [
    (CAR_TRAP, "白色速腾"), (CAR_TRAP, "白的, 速腾"), (CAR_TRAP, "不是, 是白色自动挡的Sagitar"),
    (CAR_TRAP, "不是黑色捷达，是白色速腾"), (CAR_TRAP, "白色"), (CAR_TRAP, "速腾"), (CAR_TRAP, "white sagitar"),
    (CAR_TRAP, "ＷＨＩＴＥ　ＳＡＧＩＴＡＲ"), (CAR_TRAP, "No, a white Sagitar"), (CAR_TRAP, "大众速腾，白的"),
    (CAR_TRAP, "白色速滕"),                     # same sound, wrong character
    (CAR_TRAP, "白色速騰"),                     # traditional
    (COLOUR_TRAP, "白"), (COLOUR_TRAP, "白色"), (COLOUR_TRAP, "white"), (COLOUR_TRAP, "不是黑的，白的"),
    (COLOUR_TRAP, "珍珠白"),
    (MODEL_TRAP, "速腾"), (MODEL_TRAP, "Sagitar"), (MODEL_TRAP, "sagitar"), (MODEL_TRAP, "一汽大众速腾"),
    (GEAR_TRAP, "自动"), (GEAR_TRAP, "自动挡"), (GEAR_TRAP, "自动档"), (GEAR_TRAP, "AT"), (GEAR_TRAP, "ａｔ"),
    (GEAR_TRAP, "自動擋"), (GEAR_TRAP, "不是手动，是自动的"),
    (EMPLOYER_TRAP, "不是，在上汽上班"), (EMPLOYER_TRAP, "不是中行，是上汽"), (EMPLOYER_TRAP, "上海汽车集团"),
    (OCCUPATION_TRAP, "不是, 是程序员"), (OCCUPATION_TRAP, "码农"), (OCCUPATION_TRAP, "不是工程师, 写代码的"),
    (OCCUPATION_TRAP, "不是, 搞IT"), (OCCUPATION_TRAP, "不对, 做it的"),   # 'it' inside Chinese is IT, not English
    (q("trap", "occupation", "个体户", "教师"), "不是, 老板"),             # '老板' is a filler word elsewhere
])
def test_trap_denied_and_corrected_is_correct(question, text):
    assert grade(question, confirmed=False, text=text) == "correct"


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,confirmed,text", [
    (CAR_TRAP, True, ""), (CAR_TRAP, True, "对"),              # fell for the trap
    (CAR_TRAP, False, ""), (CAR_TRAP, False, "不是"),           # denied without correcting
    (CAR_TRAP, False, "红色高尔夫"), (CAR_TRAP, False, "白色高尔夫"),  # another wrong value
    (CAR_TRAP, False, "不是捷达，是黑色速腾"),                     # still black
    (COLOUR_TRAP, False, "红色"), (COLOUR_TRAP, False, "不是黑色"),
    (MODEL_TRAP, False, "朗逸"), (GEAR_TRAP, False, "手动"), (GEAR_TRAP, False, "不是"),
    (EMPLOYER_TRAP, False, "中国移动"), (EMPLOYER_TRAP, False, "不是"), (EMPLOYER_TRAP, True, ""),
    (OCCUPATION_TRAP, True, "对"), (OCCUPATION_TRAP, False, "不是, 是医生"),
    (CAR_TRAP, None, "是的"), (CAR_TRAP, None, "黑色捷达"), (CAR_TRAP, None, "不是"),
])
def test_trap_wrong_answers(question, confirmed, text):
    assert grade(question, confirmed=confirmed, text=text) == "wrong"


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("question,confirmed,text", [
    (CAR_TRAP, False, "xq7z"),                  # a correction nobody can read
    (MODEL_TRAP, False, "不是，白色的"),          # corrected another fact, not the one asked
    (CAR_TRAP, None, ""), (CAR_TRAP, None, "嗯…那个…"),  # nothing recorded
])
def test_trap_answers_the_grader_cannot_read_are_undecided(question, confirmed, text):
    assert grade(question, confirmed=confirmed, text=text) == "undecided"


@pytest.mark.rule("CB-5")
def test_trap_with_confirmed_none_reads_the_text():
    assert grade(CAR_TRAP, confirmed=None, text="不是，白色速腾") == "correct"
    assert grade(CAR_TRAP, confirmed=None, text="白色速腾") == "correct"


@pytest.mark.rule("CB-5")
def test_second_car_counts_as_truth():
    two = q("trap", "car", "白色 速腾", "黑色 捷达", alternatives=["红色 高尔夫"])
    assert grade(two, confirmed=False, text="红色高尔夫") == "correct"
    assert grade(two, confirmed=False, text="白色高尔夫") == "wrong"  # one car's colour, the other's model
    colour = q("trap", "colour", "白色", "黑色", alternatives=["红色"])
    assert grade(colour, confirmed=False, text="红的") == "correct"


# ---- normalisation helpers -------------------------------------------------------------------------

@pytest.mark.rule("CB-5")
def test_traditional_to_simplified():
    assert to_simplified("張三 陳 劉 趙 孫 吳 鄭 錢 馬 區 銀 紅 藍 黃 綠 開 動 檔 擋 電 車") == \
        "张三 陈 刘 赵 孙 吴 郑 钱 马 区 银 红 蓝 黄 绿 开 动 档 挡 电 车"


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("text,expected", [
    ("是的", True), ("对", True), ("没错", True), ("Yes", True), ("嗯，是", True),
    ("不是", False), ("不对", False), ("No", False), ("没有", False), ("他好像不是", False),
    ("", None), ("白色", None),
])
def test_stance(text, expected):
    assert stance(text) is expected


@pytest.mark.rule("CB-5")
@pytest.mark.rule("CB-8")
@pytest.mark.parametrize("question,confirmed,text", [
    (EMPLOYER, None, "不知道"), (EMPLOYER, None, "不清楚"), (EMPLOYER, None, "don't know"),
    (DISTRICT, None, "不太清楚"), (DISTRICT, None, "这个不知道"), (DISTRICT, None, "没问过, 不清楚"),
    (CAR_TRAP, False, "不是, 我不知道"),   # denied, but could not say what it is
    (CAR_TRAP, None, "不太清楚"), (COLOUR_TRAP, False, "记不清了"), (COLOUR_TRUTH, None, "这个真不知道"),
    (EMPLOYER, None, "我也不是很清楚"), (EMPLOYER, None, "I don't know"), (EMPLOYER, None, "sorry, no idea"),
])
def test_dont_know_is_unknown_not_wrong(question, confirmed, text):
    assert grade(question, confirmed=confirmed, text=text) == "unknown"


@pytest.mark.rule("CB-8")
@pytest.mark.parametrize("question,confirmed,text,expected", [
    (CAR_TRAP, True, "不知道", "wrong"),            # a yes is a yes: fell for the trap
    (EMPLOYER, None, "不知道, 好像是华为", "wrong"),   # a guess after all: graded as the guess
    (CAR_TRAP, False, "不清楚, 应该是红色高尔夫", "wrong"),
    (COLOUR_TRUTH, None, "不太清楚，应该是白的", "correct"),  # a one-character colour is still an answer
    (COLOUR_TRAP, None, "不太清楚，应该是黑的", "wrong"),
    (COLOUR_TRAP, None, "对，不太清楚", "wrong"),      # a yes to a trap, however unsure
    (COLOUR_TRAP, None, "是吧, 不太清楚", "wrong"),
    (COLOUR_TRUTH, None, "不是，不清楚", "wrong"),     # a true statement denied: a no is a no
    (COLOUR_TRUTH, None, "没有, 不知道", "wrong"),
    (COLOUR_TRUTH, False, "不知道", "wrong"),         # the agent recorded a no
    (q("open", "occupation", "个体户", choices=("教师",)), None, "不清楚, 老板吧", "correct"),
])
def test_dont_know_with_an_answer_is_graded_as_that_answer(question, confirmed, text, expected):
    assert grade(question, confirmed=confirmed, text=text) == expected


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("text,expected", [
    ("IT", "correct"), ("做IT的", "correct"), ("waiter", "wrong"), ("credit analyst", "wrong"),
    ("editor", "wrong"), ("software engineer", "correct"),
])
def test_latin_spellings_match_whole_words_only(text, expected):
    question = q("open", "occupation", "程序员", choices=("教师", "厨师", "会计"))
    assert grade(question, confirmed=None, text=text) == expected


def test_asserted_drops_what_is_denied():
    assert asserted("不是黑色捷达，是白色速腾") == "白色速腾"
    assert asserted("不是黑色的, 白色") == "白色"
    assert asserted("not a black jetta, a white sagitar").split() == ["white", "sagitar"]


# ---- CB-8 ------------------------------------------------------------------------------------------

@pytest.mark.rule("CB-8")
@pytest.mark.parametrize("grades,total,expected", [
    (["wrong", "wrong"], 4, "fraudulent"),                          # decided at once, two still pending
    (["wrong", "undecided", "wrong"], 4, "fraudulent"),
    (["wrong", "undecided", "correct", "correct"], 4, None),        # the review could still make it two
    (["wrong", "correct", "correct", "correct"], 4, "verified"),
    (["correct", "correct", "correct"], 4, "verified"),             # the last cannot change it
    (["correct", "correct", "undecided"], 4, None),
    (["correct", "undecided", "correct", "correct"], 4, "verified"),  # one undecided alone cannot make two
    (["correct", "correct"], 4, None),
    ([], 3, None),
    (["correct", "correct", "correct"], 3, "verified"),
    (["wrong", None, "correct"], 3, None),
])
def test_outcome(grades, total, expected):
    assert outcome(grades, total) == expected
    # without unknowns the first call decides the same way
    assert outcome(grades, total, final=False) == expected


@pytest.mark.rule("CB-8")
@pytest.mark.parametrize("grades,total,first_call,last_call", [
    (["unknown", "correct", "correct", "correct"], 4, "verified", "verified"),
    (["unknown", "unknown", "correct", "correct"], 4, "inconclusive", "fraudulent"),
    (["unknown", "wrong", "correct", "correct"], 4, "inconclusive", "fraudulent"),
    (["unknown", "wrong", "wrong", "correct"], 4, "fraudulent", "fraudulent"),
    (["unknown", "wrong"], 4, None, "fraudulent"),                     # two still to come could be wrong
    (["unknown", "unknown", "undecided", "correct"], 4, "inconclusive", "fraudulent"),  # a review cannot change it
    (["unknown", "wrong", "undecided", "correct"], 4, None, "fraudulent"),  # the review decides which
    (["unknown", "undecided", "correct", "correct"], 4, None, None),
    (["unknown", "unknown", "unknown"], 3, "inconclusive", "fraudulent"),
])
def test_outcome_with_dont_know(grades, total, first_call, last_call):
    """"Don't know" is not a wrong answer on the first call: the other party is called (inconclusive);
    on that last call it counts as wrong."""
    assert outcome(grades, total, final=False) == first_call
    assert outcome(grades, total, final=True) == last_call


def _settled(grades: list[str], final: bool) -> str:
    wrong, unknown = grades.count("wrong"), grades.count("unknown")
    if final:
        wrong, unknown = wrong + unknown, 0
    if wrong >= 2:
        return "fraudulent"
    return "inconclusive" if wrong + unknown >= 2 else "verified"


@pytest.mark.rule("CB-8")
@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("total", [3, 4])
def test_outcome_is_decided_exactly_when_nothing_pending_can_change_it(total, final):
    """Every mix of grades, some still undecided (a review may say correct or wrong) or not yet
    given (any answer may come): a verdict only when every way it can end agrees, and then that one."""
    import itertools
    kinds = ["correct", "wrong", "unknown", "undecided"]
    for given in range(total + 1):
        for grades in itertools.product(kinds, repeat=given):
            endings = set()
            options = [["correct", "wrong"] if g == "undecided" else [g] for g in grades]
            options += [["correct", "wrong", "unknown"]] * (total - given)
            for ending in itertools.product(*options):
                endings.add(_settled(list(ending), final))
            expected = endings.pop() if len(endings) == 1 else None
            assert outcome(list(grades), total, final=final) == expected, (grades, total, final)
