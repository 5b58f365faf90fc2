"""Normalising what people type about cars and people (车型、颜色、姓名、车牌).

Shared by the delivery check and the callback grader: NFKC folds full-width
characters, case and punctuation go, and synonyms map to one canonical value
(白/白色/white -> white, 速腾/Sagitar -> sagitar, 自动/自动挡/AT -> automatic).
"""
from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)

# canonical -> spellings (Chinese, English, common short forms)
MODELS: dict[str, tuple[str, ...]] = {
    "sagitar": ("速腾", "sagitar", "jetta sagitar"),
    "golf": ("高尔夫", "golf", "高尔夫8", "golf8"),
    "jetta": ("捷达", "jetta"),
    "lavida": ("朗逸", "lavida"),
    "passat": ("帕萨特", "passat"),
    "magotan": ("迈腾", "magotan"),
    "tiguan": ("途观", "tiguan"),
    "tiguan l": ("途观L", "tiguanl", "tiguan l"),
    "bora": ("宝来", "bora"),
    "tayron": ("探岳", "tayron"),
    "lamando": ("凌渡", "lamando"),
    "touareg": ("途锐", "touareg"),
    "polo": ("polo", "波罗", "菠萝"),
    "id.4": ("id4", "id.4", "id4crozz", "id4x"),
}
_BRAND_PREFIXES = ("一汽大众", "上汽大众", "大众汽车", "大众", "volkswagen", "vw", "一汽", "上汽")

COLOURS: dict[str, tuple[str, ...]] = {
    "white": ("白", "白色", "white", "珍珠白", "象牙白", "纯白", "冰川白", "雪白"),
    "black": ("黑", "黑色", "black", "墨黑", "深黑", "曜石黑", "黑的"),
    "silver": ("银", "银色", "silver", "银灰", "月光银", "亮银"),
    "grey": ("灰", "灰色", "grey", "gray", "深灰", "浅灰", "钛灰"),
    "red": ("红", "红色", "red", "酒红", "中国红", "宝石红"),
    "blue": ("蓝", "蓝色", "blue", "深蓝", "天蓝", "宝石蓝"),
    "brown": ("棕", "棕色", "brown", "咖啡色", "咖啡", "褐色"),
    "gold": ("金", "金色", "gold", "香槟金", "香槟色"),
    "green": ("绿", "绿色", "green", "墨绿"),
    "yellow": ("黄", "黄色", "yellow"),
    "orange": ("橙", "橙色", "orange", "橘色"),
}

TRANSMISSIONS: dict[str, tuple[str, ...]] = {
    "automatic": ("自动", "自动挡", "自动档", "automatic", "auto", "at", "dsg", "双离合", "手自一体"),
    "manual": ("手动", "手动挡", "手动档", "manual", "mt", "stick"),
}


def fold(text: str | None) -> str:
    """NFKC, lower case, no spaces or punctuation: '　Ｓａｇｉｔａｒ！' -> 'sagitar'."""
    if not text:
        return ""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(spelling): canon for canon, spellings in table.items() for spelling in (canon, *spellings)}


_MODEL_INDEX = _index(MODELS)
_COLOUR_INDEX = _index(COLOURS)
_TRANSMISSION_INDEX = _index(TRANSMISSIONS)


def canon_model(text: str | None) -> str:
    folded = fold(text)
    for prefix in _BRAND_PREFIXES:
        if folded.startswith(prefix) and folded[len(prefix):]:
            stripped = folded[len(prefix):]
            if stripped in _MODEL_INDEX:
                return _MODEL_INDEX[stripped]
    return _MODEL_INDEX.get(folded, folded)


def canon_colour(text: str | None) -> str:
    folded = fold(text)
    if folded in _COLOUR_INDEX:
        return _COLOUR_INDEX[folded]
    # '珍珠白色', '白色的' and other compounds: the one base colour they contain
    found = {canon for spelling, canon in _COLOUR_INDEX.items() if len(spelling) == 1 and spelling in folded}
    return found.pop() if len(found) == 1 else folded


def canon_transmission(text: str | None) -> str:
    folded = fold(text)
    return _TRANSMISSION_INDEX.get(folded, folded)


def canon_name(text: str | None) -> str:
    return fold(text)


def canon_plate(text: str | None) -> str:
    return fold(text).upper()


def canon_vin(text: str | None) -> str:
    return fold(text).upper()


# ---- added for the callback grader (append only) ---------------------------------

# What people say for the businesses on record: canonical -> spellings.
BUSINESSES: dict[str, tuple[str, ...]] = {
    "开餐馆": ("开餐馆", "餐馆", "开饭店", "饭店", "开饭馆", "饭馆", "开餐厅", "餐厅", "做餐饮", "餐饮", "开小饭店",
             "restaurant"),
    "做外贸": ("做外贸", "外贸", "进出口", "做进出口", "搞外贸", "foreigntrade", "trade", "importexport"),
    "开超市": ("开超市", "超市", "便利店", "开便利店", "小超市", "supermarket"),
    "做装修": ("做装修", "装修", "装潢", "搞装修", "装修公司", "装饰", "renovation"),
    "开服装店": ("开服装店", "服装店", "卖衣服", "服装", "开衣服店", "衣服店", "clothesshop", "clothing"),
    "做物流": ("做物流", "物流", "运输", "搞运输", "快递", "货运", "logistics"),
    "开茶叶店": ("开茶叶店", "茶叶店", "卖茶叶", "茶叶", "茶庄", "teashop", "tea"),
    "做建材": ("做建材", "建材", "卖建材", "建筑材料", "buildingmaterials"),
    "开美容院": ("开美容院", "美容院", "美容", "美容店", "做美容", "beautysalon"),
    "做电商": ("做电商", "电商", "网店", "开网店", "淘宝", "开淘宝店", "网上卖东西", "ecommerce", "onlineshop"),
    "开五金店": ("开五金店", "五金店", "五金", "卖五金", "hardwarestore", "hardware"),
    "做水产批发": ("做水产批发", "水产批发", "水产", "海鲜批发", "卖海鲜", "卖水产", "seafood"),
}
_BUSINESS_INDEX = _index(BUSINESSES)

# What people say for the occupations on record (职业): canonical -> spellings. A spelling is
# listed under one occupation only ('软件工程师' is a 程序员, not an 工程师).
OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "工程师": ("工程师", "当工程师", "做工程师", "搞技术的", "技术员", "工程技术", "engineer"),
    "医生": ("医生", "大夫", "医师", "当医生", "做医生", "看病的", "doctor", "physician"),
    "教师": ("教师", "老师", "当老师", "做老师", "教书", "教书的", "教员", "teacher"),
    "会计": ("会计", "做会计", "财务", "做财务", "会计师", "搞财务", "accountant", "accounting"),
    "销售": ("销售", "做销售", "销售员", "业务员", "跑业务", "跑业务的", "销售经理", "sales", "salesman"),
    "公务员": ("公务员", "在政府上班", "政府上班", "机关", "在机关上班", "事业单位", "civilservant"),
    "司机": ("司机", "开车的", "开出租", "出租车司机", "开网约车", "驾驶员", "driver"),
    "律师": ("律师", "做律师", "当律师", "律所", "lawyer", "attorney"),
    "护士": ("护士", "当护士", "做护士", "护理", "nurse"),
    "程序员": ("程序员", "码农", "写代码", "写代码的", "做it", "搞it", "it", "软件工程师", "软件开发", "programmer",
            "softwareengineer", "developer"),
    "设计师": ("设计师", "做设计", "搞设计", "设计", "设计的", "designer"),
    "个体户": ("个体户", "做生意", "做生意的", "自己做生意", "老板", "开店", "个体", "selfemployed", "businessowner"),
    "银行职员": ("银行职员", "在银行上班", "银行上班", "银行的", "银行员工", "柜员", "banker", "bankclerk"),
    "厨师": ("厨师", "大厨", "当厨师", "做厨师", "chef", "cook"),
    "退休人员": ("退休人员", "退休", "退休了", "已经退休", "退休在家", "retired"),
}
_OCCUPATION_INDEX = _index(OCCUPATIONS)
# The free-text facts that have a spelling table: fact -> canonical -> spellings, and
# fact -> folded spelling -> canonical.
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {"business": BUSINESSES, "occupation": OCCUPATIONS}
SPELLING_INDEX: dict[str, dict[str, str]] = {"business": _BUSINESS_INDEX, "occupation": _OCCUPATION_INDEX}

# Administrative suffixes that people leave out: '浦东新区' is said '浦东'.
DISTRICT_SUFFIXES = ("新区", "区", "县", "市", "镇", "district", "new area")


def canon_business(text: str | None) -> str:
    return canon_spelled("business", text)


def canon_occupation(text: str | None) -> str:
    return canon_spelled("occupation", text)


def canon_spelled(fact: str, text: str | None) -> str:
    """The canonical value of a fact with a spelling table ('大夫' -> '医生'), else the folded text."""
    folded = fold(text)
    return SPELLING_INDEX[fact].get(folded, folded)


def canon_district(text: str | None) -> str:
    """'浦东新区' / '浦东' / '浦东区' -> '浦东'; 'Minhang District' -> 'minhang'."""
    folded = fold(text)
    for suffix in DISTRICT_SUFFIXES:
        suffix = fold(suffix)
        if folded.endswith(suffix) and len(folded) > len(suffix) + 1:
            return folded[: -len(suffix)]
    return folded
