"""What a friend really says about the other party, per free-text fact (CB-5). No database.

Employers, businesses and occupations are open-ended: the truth on record is whatever the
consultant typed ('中国银行上海分行', '物流运输', '保险代理人'), and a friend names it his way
('中行', '搞运输', '卖保险的'). Such an answer (an abbreviation, a leading part, a place inside the
district, a paraphrase) must never be graded wrong: correct where the grader is sure, else a
manager reviews it. An answer naming another real value stays wrong, so the grader cannot pass
these tables by sending everything to review.

Each pair is graded as the answer to the open question and as the correction after "不是, ..."
to a trap on the same fact. The other real values are those a Shanghai store has on record
(the catalog the service builds from its customers).
"""
from __future__ import annotations

import pytest

from verification.callbacks.grading import grade
from verification.callbacks.planning import SHANGHAI_DISTRICTS, PlannedQuestion

CORRECT, NOT_WRONG = "correct", "not wrong"

# values a Shanghai dealership group has on record (what service.catalog() returns)
CATALOG = {
    "employer": (
        "阿里巴巴集团", "中国银行上海分行", "中国工商银行上海分行", "中国建设银行上海分行", "招商银行上海分行", "交通银行",
        "上海浦东发展银行", "复旦大学附属华山医院", "上海交通大学医学院附属瑞金医院", "上海市第六人民医院",
        "浦东新区人民医院", "复旦大学", "同济大学", "华东师范大学", "上海财经大学", "上海交通大学", "中国东方航空",
        "上海汽车集团", "上汽大众", "中国宝武钢铁集团", "中国商用飞机有限责任公司", "特斯拉(上海)有限公司",
        "腾讯科技(上海)有限公司", "华为技术有限公司上海研究所", "上海申通地铁集团", "国家电网上海市电力公司",
        "中国电信上海分公司", "中国移动上海公司", "携程旅行网", "拼多多", "上海国际港务集团", "中芯国际", "上海市公安局",
        "联合利华中国", "麦当劳中国", "上海迪士尼度假区", "京东物流上海分公司", "光明乳业", "上海电气集团",
        "平安保险上海分公司", "哔哩哔哩", "中国太平洋保险", "上海大学", "上海外国语大学", "百联集团", "锦江国际集团",
        "上海市第一中学", "张江高科", "自由职业"),
    "home_district": SHANGHAI_DISTRICTS,
    "business": (
        "物流运输", "做物流", "开餐馆", "餐饮", "面馆", "服装批发", "开服装店", "外贸公司", "做外贸", "开超市", "便利店",
        "装修公司", "建材生意", "开美容院", "电商", "开五金店", "水产批发", "茶叶店", "水果店", "理发店", "汽修厂",
        "花店", "药店", "培训机构", "民宿", "广告公司", "家政公司", "房产中介", "二手车", "烟酒店", "印刷厂"),
    "occupation": (
        "医生", "外科医生", "主治医师", "护士", "小学老师", "中学教师", "大学教授", "程序员", "软件工程师",
        "前端开发工程师", "会计", "财务经理", "销售经理", "保险代理人", "房产中介", "出租车司机", "网约车司机", "快递员",
        "外卖骑手", "律师", "警察", "公务员", "厨师", "个体户", "退休人员", "设计师", "银行职员", "工程师",
        "建筑工程师", "产品经理", "人力资源专员", "行政助理", "健身教练", "保安", "理发师", "药剂师", "司机", "教师",
        "销售"),
}
# false values for the trap form, the first one unlike the truth is asked
TRAPS = {
    "employer": ("中国东方航空", "复旦大学", "拼多多"),
    "home_district": ("奉贤区", "崇明区", "金山区"),
    "business": ("开五金店", "做家政", "开花店"),
    "occupation": ("律师", "厨师", "护士"),
}

EMPLOYER = [
    ("阿里巴巴集团", "阿里", CORRECT),                     # its 里 is no filler
    ("阿里巴巴集团", "在阿里上班", CORRECT),
    ("阿里巴巴集团", "阿里那边", CORRECT),
    ("阿里巴巴集团", "淘宝", CORRECT),                     # a brand of the group
    ("中国银行上海分行", "中国银行", CORRECT),              # a leading part of the truth
    ("中国银行上海分行", "中行", CORRECT),
    ("中国银行上海分行", "在中国银行上班", CORRECT),
    ("中国工商银行上海分行", "工行", CORRECT),
    ("中国工商银行上海分行", "工商银行", CORRECT),
    ("中国建设银行上海分行", "建行", CORRECT),
    ("招商银行上海分行", "招行", CORRECT),
    ("交通银行", "交行", CORRECT),
    ("上海浦东发展银行", "浦发", CORRECT),
    ("上海浦东发展银行", "浦发银行", CORRECT),
    ("复旦大学附属华山医院", "华山医院", CORRECT),
    ("上海交通大学医学院附属瑞金医院", "瑞金医院", CORRECT),
    ("上海交通大学医学院附属瑞金医院", "瑞金", CORRECT),
    ("上海市第六人民医院", "六院", CORRECT),
    ("上海市第六人民医院", "市六医院", CORRECT),
    ("浦东新区人民医院", "浦东人民医院", CORRECT),
    ("复旦大学", "复旦", CORRECT),
    ("同济大学", "同济", CORRECT),
    ("华东师范大学", "华师大", CORRECT),
    ("上海财经大学", "上财", CORRECT),
    ("上海交通大学", "交大", CORRECT),
    ("中国东方航空", "东航", CORRECT),
    ("中国东方航空", "东方航空公司", CORRECT),
    ("上海汽车集团", "上汽", CORRECT),
    ("上海汽车集团", "上汽那边", CORRECT),
    ("中国宝武钢铁集团", "宝钢", CORRECT),
    ("中国商用飞机有限责任公司", "商飞", CORRECT),
    ("特斯拉(上海)有限公司", "特斯拉", CORRECT),
    ("腾讯科技(上海)有限公司", "腾讯", CORRECT),
    ("华为技术有限公司上海研究所", "华为", CORRECT),
    ("上海申通地铁集团", "地铁公司", CORRECT),
    ("上海申通地铁集团", "上海地铁", CORRECT),
    ("国家电网上海市电力公司", "国家电网", CORRECT),
    ("国家电网上海市电力公司", "电力公司", CORRECT),
    ("中国电信上海分公司", "电信", CORRECT),
    ("中国移动上海公司", "移动公司", CORRECT),
    ("携程旅行网", "携程", CORRECT),
    ("拼多多", "PDD", CORRECT),
    ("上海国际港务集团", "上港", CORRECT),
    ("中芯国际", "中芯", CORRECT),
    ("上海市公安局", "公安局", CORRECT),
    ("联合利华中国", "Unilever", CORRECT),
    ("麦当劳中国", "金拱门", CORRECT),
    ("上海迪士尼度假区", "迪士尼", CORRECT),
    ("京东物流上海分公司", "京东", CORRECT),
    ("光明乳业", "光明", CORRECT),
    ("上海电气集团", "上海电气", CORRECT),
    ("平安保险上海分公司", "中国平安", CORRECT),
    ("哔哩哔哩", "B站", CORRECT),
    ("中国太平洋保险", "太保", CORRECT),
    ("上海大学", "上大", CORRECT),
    ("上海外国语大学", "上外", CORRECT),
    ("百联集团", "百联", CORRECT),
    ("锦江国际集团", "锦江酒店", CORRECT),
    ("上海市第一中学", "市一中", NOT_WRONG),
    ("上海市第一中学", "一中", NOT_WRONG),
    ("张江高科", "张江高科技", CORRECT),
    ("上海交通大学医学院附属瑞金医院", "交大医学院", NOT_WRONG),
    ("华为技术有限公司上海研究所", "华为研究所", CORRECT),
]

DISTRICT = [
    ("浦东新区", "浦东", CORRECT),
    ("浦东新区", "浦东区", CORRECT),                       # with or without 新区
    ("浦东新区", "上海市浦东新区", CORRECT),
    ("浦东新区", "住浦东", CORRECT),
    ("浦东新区", "Pudong", CORRECT),
    ("浦东新区", "张江", CORRECT),                         # a town inside the district
    ("浦东新区", "陆家嘴", CORRECT),
    ("浦东新区", "川沙", CORRECT),
    ("浦东新区", "南汇", CORRECT),                         # merged into 浦东 in 2009
    ("浦东新区", "在浦东张江那边", CORRECT),
    ("浦东新区", "周浦那边", CORRECT),
    ("闵行区", "闵行", CORRECT),
    ("闵行区", "莘庄", CORRECT),
    ("闵行区", "七宝", CORRECT),
    ("闵行区", "闵行区莘庄镇", CORRECT),
    ("闵行区", "闵航", CORRECT),                           # the wrong character, same sound
    ("徐汇区", "徐家汇", CORRECT),
    ("徐汇区", "田林", CORRECT),
    ("徐汇区", "漕河泾", NOT_WRONG),                      # mostly 徐汇, partly 闵行
    ("静安区", "闸北", CORRECT),                           # merged into 静安 in 2015
    ("静安区", "静安寺", CORRECT),
    ("静安区", "大宁", CORRECT),
    ("黄浦区", "卢湾", CORRECT),                           # merged into 黄浦 in 2011
    ("黄浦区", "人民广场", CORRECT),
    ("黄浦区", "新天地", CORRECT),
    ("长宁区", "中山公园", CORRECT),
    ("长宁区", "古北", NOT_WRONG),                        # 古北 lies in 长宁 and in 闵行
    ("长宁区", "长宁", CORRECT),
    ("杨浦区", "五角场", CORRECT),
    ("杨浦区", "杨浦五角场", CORRECT),
    ("虹口区", "北外滩", CORRECT),
    ("普陀区", "长风", CORRECT),
    ("宝山区", "顾村", CORRECT),
    ("嘉定区", "嘉定安亭", CORRECT),
    ("嘉定区", "南翔", CORRECT),
    ("松江区", "松江大学城", CORRECT),
    ("松江区", "九亭", CORRECT),
    ("青浦区", "朱家角", CORRECT),
    ("奉贤区", "南桥", CORRECT),
    ("崇明区", "崇明岛", CORRECT),
    ("金山区", "金山卫", CORRECT),
]

BUSINESS = [
    ("物流运输", "搞运输", CORRECT),
    ("物流运输", "跑物流", CORRECT),
    ("物流运输", "开货车", CORRECT),
    ("物流运输", "做物流的", CORRECT),
    ("物流运输", "运输", CORRECT),
    ("做物流", "快递", CORRECT),
    ("开餐馆", "开了家小饭馆", CORRECT),
    ("餐饮", "开饭店的", CORRECT),
    ("餐饮", "开面馆", CORRECT),
    ("面馆", "开面馆的", CORRECT),
    ("服装批发", "卖衣服的", CORRECT),
    ("服装批发", "做服装生意", CORRECT),
    ("外贸公司", "做外贸", CORRECT),
    ("外贸公司", "做进出口的", CORRECT),
    ("做外贸", "做出口", CORRECT),
    ("便利店", "开超市的", CORRECT),
    ("开超市", "小超市", CORRECT),
    ("装修公司", "搞装修的", CORRECT),
    ("装修公司", "装潢", CORRECT),
    ("建材生意", "卖建材的", CORRECT),
    ("建材生意", "卖瓷砖的", CORRECT),
    ("开美容院", "做美甲的", CORRECT),
    ("电商", "开网店的", CORRECT),
    ("电商", "直播带货", CORRECT),
    ("开五金店", "卖五金", CORRECT),
    ("水产批发", "卖海鲜的", CORRECT),
    ("水产批发", "卖鱼的", CORRECT),
    ("茶叶店", "卖茶叶的", CORRECT),
    ("水果店", "卖水果的", CORRECT),
    ("理发店", "开发廊", CORRECT),
    ("汽修厂", "修车的", CORRECT),
    ("花店", "卖花的", CORRECT),
    ("药店", "卖药的", CORRECT),
    ("培训机构", "搞培训的", CORRECT),
    ("培训机构", "补习班", CORRECT),
    ("民宿", "开民宿", CORRECT),
    ("广告公司", "做广告的", CORRECT),
    ("家政公司", "做家政", CORRECT),
    ("房产中介", "做中介的", CORRECT),
    ("二手车", "卖二手车", CORRECT),
    ("烟酒店", "卖烟酒的", CORRECT),
    ("印刷厂", "搞印刷的", CORRECT),
]

OCCUPATION = [
    ("医生", "大夫", CORRECT),
    ("医生", "在医院当大夫", CORRECT),
    ("外科医生", "医生", CORRECT),
    ("外科医生", "大夫", CORRECT),
    ("外科医生", "外科", CORRECT),                         # a part of the truth
    ("主治医师", "医生", CORRECT),
    ("护士", "护理", CORRECT),
    ("小学老师", "老师", CORRECT),
    ("小学老师", "教书的", CORRECT),
    ("小学老师", "在小学教书", CORRECT),
    ("中学教师", "老师", CORRECT),
    ("大学教授", "教授", CORRECT),
    ("大学教授", "大学老师", CORRECT),
    ("程序员", "搞IT的", CORRECT),
    ("程序员", "码农", CORRECT),
    ("程序员", "写代码的", CORRECT),
    ("软件工程师", "程序员", CORRECT),
    ("软件工程师", "搞IT的", CORRECT),
    ("前端开发工程师", "程序员", CORRECT),
    ("会计", "做财务的", CORRECT),
    ("财务经理", "会计", CORRECT),
    ("财务经理", "做财务", CORRECT),
    ("销售经理", "做销售的", CORRECT),
    ("销售经理", "跑业务的", CORRECT),
    ("保险代理人", "卖保险的", CORRECT),
    ("保险代理人", "做保险", CORRECT),
    ("房产中介", "中介", CORRECT),
    ("房产中介", "卖房子的", CORRECT),
    ("出租车司机", "开出租的", CORRECT),
    ("出租车司机", "的哥", CORRECT),
    ("网约车司机", "开滴滴的", CORRECT),
    ("网约车司机", "司机", CORRECT),
    ("快递员", "送快递的", CORRECT),
    ("外卖骑手", "送外卖的", CORRECT),
    ("律师", "在律所上班", CORRECT),
    ("警察", "民警", CORRECT),
    ("警察", "派出所上班", CORRECT),
    ("公务员", "在政府上班", CORRECT),
    ("厨师", "饭店大厨", CORRECT),
    ("个体户", "自己开店", CORRECT),
    ("退休人员", "已经退休了", CORRECT),
    ("设计师", "搞设计的", CORRECT),
    ("银行职员", "银行柜员", CORRECT),
    ("工程师", "搞技术的", CORRECT),
    ("建筑工程师", "工程师", CORRECT),
    ("建筑工程师", "搞建筑的", CORRECT),
    ("产品经理", "做产品的", CORRECT),
    ("人力资源专员", "做人事的", CORRECT),
    ("人力资源专员", "HR", CORRECT),
    ("行政助理", "做行政的", CORRECT),
    ("健身教练", "私教", CORRECT),
    ("保安", "门卫", CORRECT),
    ("理发师", "剪头发的", CORRECT),
    ("药剂师", "药师", CORRECT),
]

VARIANTS = {"employer": EMPLOYER, "home_district": DISTRICT, "business": BUSINESS, "occupation": OCCUPATION}

# another real value, as a friend would say it: stays wrong
WRONG_ANSWERS = {
    "employer": [
        ("阿里巴巴集团", "腾讯"), ("阿里巴巴集团", "拼多多"), ("中国银行上海分行", "工行"), ("中国银行上海分行", "建设银行"),
        ("中国银行上海分行", "交通银行"), ("中国工商银行上海分行", "中行"), ("招商银行上海分行", "浦发"),
        ("复旦大学", "交大"), ("同济大学", "复旦"), ("复旦大学附属华山医院", "瑞金医院"), ("上海市第六人民医院", "华山医院"),
        ("上海汽车集团", "东航"), ("上海汽车集团", "特斯拉"), ("中国东方航空", "上汽"), ("华为技术有限公司上海研究所", "腾讯"),
        ("上海申通地铁集团", "国家电网"), ("中国电信上海分公司", "中国移动"), ("中国移动上海公司", "电信"),
        ("携程旅行网", "B站"), ("上海迪士尼度假区", "麦当劳"), ("京东物流上海分公司", "阿里"), ("光明乳业", "联合利华"),
        ("上海市公安局", "复旦大学"), ("上海交通大学", "华东师范大学"), ("特斯拉(上海)有限公司", "上汽大众"),
        ("上海大学", "上海财经大学"), ("中国太平洋保险", "中国平安"), ("百联集团", "锦江酒店"),
        ("中国宝武钢铁集团", "商飞"), ("中芯国际", "华为"),
    ],
    "home_district": [
        ("浦东新区", "闵行"), ("浦东新区", "莘庄"), ("闵行区", "徐家汇"), ("徐汇区", "长宁"), ("静安区", "五角场"),
        ("黄浦区", "七宝"), ("杨浦区", "虹口"), ("普陀区", "陆家嘴"), ("宝山区", "嘉定"), ("松江区", "青浦"),
        ("奉贤区", "金山"), ("崇明区", "浦东"), ("长宁区", "静安寺"), ("虹口区", "张江"), ("嘉定区", "泗泾"),
        ("青浦区", "九亭"), ("金山区", "南桥"), ("徐汇区", "闸北"), ("静安区", "卢湾"), ("浦东新区", "徐汇区"),
        ("闵行区", "松江"), ("杨浦区", "宝山顾村"), ("黄浦区", "浦东"), ("普陀区", "静安"), ("长宁区", "古美"),
    ],
    "business": [
        ("物流运输", "开饭店"), ("开餐馆", "做外贸"), ("服装批发", "卖茶叶"), ("外贸公司", "开超市"),
        ("装修公司", "卖水果"), ("电商", "开美容院"), ("水产批发", "卖五金"), ("开超市", "做装修"),
        ("建材生意", "开服装店"), ("茶叶店", "卖海鲜"), ("水果店", "开药店"), ("汽修厂", "开花店"), ("花店", "做电商"),
        ("民宿", "做物流"), ("培训机构", "开餐馆"), ("理发店", "卖建材"), ("广告公司", "开超市"),
        ("做物流", "开饭店的"), ("开美容院", "修车的"), ("餐饮", "搞装修的"),
    ],
    "occupation": [
        ("医生", "护士"), ("外科医生", "老师"), ("小学老师", "医生"), ("程序员", "会计"), ("软件工程师", "销售"),
        ("会计", "律师"), ("销售经理", "程序员"), ("司机", "厨师"), ("出租车司机", "送快递的"), ("律师", "警察"),
        ("警察", "保安"), ("护士", "大夫"), ("公务员", "做生意的"), ("厨师", "理发师"), ("个体户", "公务员"),
        ("保险代理人", "房产中介"), ("房产中介", "卖保险的"), ("快递员", "送外卖的"), ("设计师", "会计"),
        ("银行职员", "码农"), ("工程师", "教书的"), ("保安", "厨师"), ("理发师", "护士"), ("大学教授", "律师"),
        ("财务经理", "搞IT的"),
    ],
}


def _question(kind: str, fact: str, truth: str) -> PlannedQuestion:
    choices = tuple(v for v in CATALOG[fact] if v != truth)
    asked = None
    if kind == "trap":
        asked = next(t for t in TRAPS[fact] if not set(t.replace("区", "")) & set(truth))
    return PlannedQuestion(key="q1", template_code="t", kind=kind, fact=fact, true_value=truth, asked_value=asked,
                           text_zh="", text_en="", choices=choices)


def _cases(table):
    return [pytest.param(fact, truth, said, expected, id=f"{fact}:{truth}:{said}")
            for fact, rows in table.items() for truth, said, expected in rows]


def _check(grade_given: str, expected: str) -> None:
    assert grade_given != "wrong"
    if expected == CORRECT:
        assert grade_given == "correct"
    else:
        assert grade_given in ("correct", "undecided")


def test_each_fact_has_thirty_pairs_and_the_truths_are_on_record():
    for fact, rows in VARIANTS.items():
        assert len(rows) >= 30, fact
        assert all(truth in CATALOG[fact] for truth, _, _ in rows), fact
        assert len(WRONG_ANSWERS[fact]) >= 20, fact


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("fact,truth,said,expected", _cases(VARIANTS))
def test_what_a_friend_says_is_not_wrong_as_the_open_answer(fact, truth, said, expected):
    _check(grade(_question("open", fact, truth), confirmed=None, text=said), expected)


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("fact,truth,said,expected", _cases(VARIANTS))
def test_what_a_friend_says_is_not_wrong_as_the_correction_of_a_trap(fact, truth, said, expected):
    question = _question("trap", fact, truth)
    _check(grade(question, confirmed=False, text=f"不是, {said}"), expected)
    _check(grade(question, confirmed=None, text=f"不是, {said}"), expected)


@pytest.mark.rule("CB-5")
@pytest.mark.parametrize("fact,truth,said", [
    pytest.param(fact, truth, said, id=f"{fact}:{truth}:{said}")
    for fact, rows in WRONG_ANSWERS.items() for truth, said in rows])
def test_another_real_value_stays_wrong(fact, truth, said):
    assert grade(_question("open", fact, truth), confirmed=None, text=said) == "wrong"
    assert grade(_question("trap", fact, truth), confirmed=False, text=f"不是, {said}") == "wrong"


@pytest.mark.rule("CB-5")
def test_a_known_spelling_names_one_value():
    """A spelling in a table of known values stands for one value of its fact ('中行' is the Bank of
    China only); only a place that spans two districts is listed under both (古北)."""
    from verification import vocabulary as vocab
    for fact, table in vocab.KNOWN_VALUES.items():
        seen: dict[str, str] = {}
        for canon, spellings in table.items():
            for spelling in (canon, *spellings):
                key = vocab.fold(spelling)
                assert seen.setdefault(key, canon) == canon, (fact, spelling, canon, seen[key])
    assert vocab.districts_of_place("古北") == {"长宁", "闵行"}
    assert vocab.districts_of_place("张江") == {"浦东"}
    assert vocab.districts_of_place("闸北") == {"静安"}
