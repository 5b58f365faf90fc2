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
             "面馆", "开面馆", "小吃店", "快餐店", "火锅店", "烧烤店", "早餐店", "包子铺", "奶茶店", "咖啡店", "酒楼",
             "卖吃的", "做吃的", "restaurant"),
    "做外贸": ("做外贸", "外贸", "进出口", "做进出口", "搞外贸", "外贸公司", "国际贸易", "做出口", "出口", "贸易",
             "做贸易", "贸易公司", "foreigntrade", "trade", "importexport"),
    "开超市": ("开超市", "超市", "便利店", "开便利店", "小超市", "小卖部", "杂货店", "烟杂店", "supermarket"),
    "做装修": ("做装修", "装修", "装潢", "搞装修", "装修公司", "装饰", "家装", "装修队", "室内装修", "renovation"),
    "开服装店": ("开服装店", "服装店", "卖衣服", "服装", "开衣服店", "衣服店", "服装生意", "做服装", "童装", "女装",
              "clothesshop", "clothing"),
    "做物流": ("做物流", "物流", "运输", "搞运输", "快递", "货运", "跑运输", "跑物流", "开货车", "开卡车", "开大货车",
            "拉货", "跑长途", "logistics"),
    "开茶叶店": ("开茶叶店", "茶叶店", "卖茶叶", "茶叶", "茶庄", "卖茶", "teashop", "tea"),
    "做建材": ("做建材", "建材", "卖建材", "建筑材料", "瓷砖", "卖瓷砖", "地板", "卖地板", "卫浴", "水泥", "钢材",
            "buildingmaterials"),
    "开美容院": ("开美容院", "美容院", "美容", "美容店", "做美容", "美甲", "美甲店", "做美甲", "beautysalon"),
    "做电商": ("做电商", "电商", "网店", "开网店", "淘宝", "开淘宝店", "网上卖东西", "直播带货", "带货", "微商",
            "网上开店", "ecommerce", "onlineshop"),
    "开五金店": ("开五金店", "五金店", "五金", "卖五金", "hardwarestore", "hardware"),
    "做水产批发": ("做水产批发", "水产批发", "水产", "海鲜批发", "卖海鲜", "卖水产", "海鲜", "卖鱼", "水产市场",
              "seafood"),
    # beyond the demo's twelve: what else Shanghai's small businesses are, as people say them
    "开水果店": ("开水果店", "水果店", "卖水果", "水果", "水果生意", "fruitshop"),
    "开理发店": ("开理发店", "理发店", "美发店", "发廊", "美发", "理发", "剪头发", "hairsalon"),
    "开汽修店": ("开汽修店", "汽修", "修车", "汽车维修", "修车店", "汽修厂", "汽车修理", "carrepair"),
    "开花店": ("开花店", "花店", "卖花", "鲜花", "florist"),
    "开药店": ("开药店", "药店", "药房", "卖药", "pharmacy"),
    "做培训": ("做培训", "培训", "培训机构", "教育培训", "辅导班", "补习班", "培训班", "tutoring"),
    "开宾馆": ("开宾馆", "宾馆", "旅馆", "民宿", "开旅馆", "开民宿", "hotel"),
    "做广告": ("做广告", "广告", "广告公司", "advertising"),
    "做家政": ("做家政", "家政", "家政公司", "保洁公司", "housekeeping"),
    "开房产中介": ("开房产中介", "房产中介", "房屋中介", "地产中介", "二手房", "中介", "做中介", "realestateagency"),
    "卖二手车": ("卖二手车", "二手车", "做二手车", "车行", "usedcars"),
    "开烟酒店": ("开烟酒店", "烟酒店", "卖烟酒", "烟酒"),
    "做印刷": ("做印刷", "印刷", "印刷厂", "图文", "printing"),
}
_BUSINESS_INDEX = _index(BUSINESSES)

# What people say for the occupations on record (职业): canonical -> spellings. A spelling is
# listed under one occupation only ('软件工程师' is a 程序员, not an 工程师).
OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "工程师": ("工程师", "当工程师", "做工程师", "搞技术的", "技术员", "工程技术", "engineer"),
    "医生": ("医生", "大夫", "医师", "当医生", "做医生", "看病的", "主治医生", "主任医师", "外科医生", "内科医生",
           "牙医", "中医", "西医", "doctor", "physician", "dentist"),
    "教师": ("教师", "老师", "当老师", "做老师", "教书", "教书的", "教员", "教授", "讲师", "班主任", "幼师", "教书先生",
           "teacher", "professor", "lecturer"),
    "会计": ("会计", "做会计", "财务", "做财务", "会计师", "搞财务", "出纳", "记账", "accountant", "accounting"),
    "销售": ("销售", "做销售", "销售员", "业务员", "跑业务", "跑业务的", "销售经理", "推销", "sales", "salesman"),
    "公务员": ("公务员", "在政府上班", "政府上班", "机关", "在机关上班", "事业单位", "政府部门", "街道办", "居委会",
            "civilservant"),
    "司机": ("司机", "开车的", "开出租", "出租车司机", "开网约车", "驾驶员", "的哥", "开滴滴", "开公交", "开货车",
           "开卡车", "货车司机", "driver"),
    "律师": ("律师", "做律师", "当律师", "律所", "lawyer", "attorney"),
    "护士": ("护士", "当护士", "做护士", "护理", "护士长", "nurse"),
    "程序员": ("程序员", "码农", "写代码", "写代码的", "做it", "搞it", "it", "软件工程师", "软件开发", "写程序",
            "程序猿", "搞软件", "做软件", "软件测试", "测试工程师", "前端", "后端", "运维", "架构师", "搞计算机",
            "搞电脑", "programmer", "softwareengineer", "developer", "coder"),
    "设计师": ("设计师", "做设计", "搞设计", "设计", "设计的", "designer"),
    "个体户": ("个体户", "做生意", "做生意的", "自己做生意", "老板", "开店", "个体", "小老板", "做点小生意",
            "selfemployed", "businessowner"),
    "银行职员": ("银行职员", "在银行上班", "银行上班", "银行的", "银行员工", "柜员", "银行柜员", "banker", "bankclerk"),
    "厨师": ("厨师", "大厨", "当厨师", "做厨师", "厨子", "掌勺", "chef", "cook"),
    "退休人员": ("退休人员", "退休", "退休了", "已经退休", "退休在家", "retired"),
    # beyond the demo's fifteen
    "警察": ("警察", "民警", "交警", "刑警", "当警察", "派出所", "公安", "police", "policeman"),
    "快递员": ("快递员", "送快递", "快递小哥", "快递", "courier"),
    "外卖员": ("外卖员", "送外卖", "外卖骑手", "骑手", "外卖小哥", "外卖", "deliveryrider"),
    "保险代理人": ("保险代理人", "保险代理", "卖保险", "做保险", "保险业务员", "保险经纪人", "保险经纪", "保险销售",
              "保险顾问", "保险", "insuranceagent"),
    "房产中介": ("房产中介", "中介", "房屋中介", "卖房子", "房产经纪人", "地产中介", "房产销售", "realtor",
             "realestateagent"),
    "保安": ("保安", "门卫", "安保", "securityguard"),
    "保洁员": ("保洁员", "保洁", "清洁工", "搞卫生", "做保洁", "环卫工", "cleaner"),
    "工人": ("工人", "普工", "操作工", "流水线", "车间", "在厂里上班", "工厂上班", "技工", "factoryworker", "worker"),
    "电工": ("电工", "水电工", "electrician"),
    "理发师": ("理发师", "美发师", "发型师", "剪头发", "理发", "剪头发的", "hairdresser", "barber"),
    "药剂师": ("药剂师", "药师", "pharmacist"),
    "产品经理": ("产品经理", "做产品", "搞产品", "productmanager"),
    "人事": ("人事", "hr", "做人事", "搞人事", "人力资源", "招聘"),
    "行政": ("行政", "做行政", "前台", "文员", "秘书", "办公室文员"),
    "健身教练": ("健身教练", "私教", "教练", "健身", "fitnesscoach", "trainer"),
    "军人": ("军人", "当兵", "当兵的", "部队", "军官", "soldier"),
    "记者": ("记者", "编辑", "journalist", "reporter"),
    "学生": ("学生", "读书", "在读", "研究生", "大学生", "读研", "student"),
    "自由职业": ("自由职业", "自由职业者", "freelancer", "freelance"),
}
_OCCUPATION_INDEX = _index(OCCUPATIONS)
# Employers people name by a short or everyday name (上汽, 中行, 交大, B站, 金拱门): canonical -> spellings.
# Not a list of every employer (the grader reads any name against the truth); it holds the names
# a character-level comparison cannot relate, and tells apart the ones it would confuse ('中行' is
# the Bank of China, not '中国工商银行', although its characters are in both). A group's subsidiaries
# and brands are spellings of the group ('淘宝' of 阿里巴巴): a friend names either.
KNOWN_EMPLOYERS: dict[str, tuple[str, ...]] = {
    # banks and insurers
    "中国银行": ("中国银行", "中行", "bankofchina", "boc"),
    "中国工商银行": ("中国工商银行", "工商银行", "工行", "icbc"),
    "中国建设银行": ("中国建设银行", "建设银行", "建行", "ccb"),
    "中国农业银行": ("中国农业银行", "农业银行", "农行"),
    "交通银行": ("交通银行", "交行", "bankofcommunications", "bocom"),
    "招商银行": ("招商银行", "招行", "cmb"),
    "浦发银行": ("浦发银行", "浦发", "上海浦东发展银行", "浦东发展银行", "spdb"),
    "上海银行": ("上海银行", "bankofshanghai"),
    "上海农商银行": ("上海农商银行", "农商银行", "农商行", "上海农村商业银行"),
    "兴业银行": ("兴业银行", "兴业"),
    "中信银行": ("中信银行",),
    "民生银行": ("民生银行",),
    "光大银行": ("光大银行",),
    "邮储银行": ("邮储银行", "邮政储蓄银行", "邮储", "邮政储蓄"),
    "中国平安": ("中国平安", "平安", "平安保险", "平安集团", "平安银行", "pingan"),
    "中国太平洋保险": ("中国太平洋保险", "太平洋保险", "太保", "cpic"),
    "中国人寿": ("中国人寿", "国寿", "chinalife"),
    "友邦保险": ("友邦保险", "友邦", "aia"),
    # internet, technology
    "阿里巴巴": ("阿里巴巴", "阿里巴巴集团", "阿里", "阿里云", "淘宝", "天猫", "盒马", "饿了么", "alibaba"),
    "蚂蚁集团": ("蚂蚁集团", "蚂蚁金服", "支付宝", "antgroup", "alipay"),
    "腾讯": ("腾讯", "腾讯科技", "微信", "tencent"),
    "字节跳动": ("字节跳动", "字节", "抖音", "bytedance", "tiktok"),
    "拼多多": ("拼多多", "寻梦信息", "pdd", "pinduoduo"),
    "美团": ("美团", "美团点评", "大众点评", "三快在线", "meituan"),
    "携程": ("携程", "携程旅行网", "携程网", "携程集团", "ctrip", "trip.com"),
    "哔哩哔哩": ("哔哩哔哩", "b站", "bilibili", "幻电"),
    "小红书": ("小红书", "行吟信息", "xiaohongshu"),
    "京东": ("京东", "京东集团", "京东物流", "京东商城", "jd", "jd.com"),
    "华为": ("华为", "华为技术", "huawei"),
    "中兴": ("中兴", "中兴通讯", "zte"),
    "微软": ("微软", "microsoft"),
    "苹果公司": ("苹果公司", "苹果", "apple"),
    "英特尔": ("英特尔", "intel"),
    "ibm": ("ibm", "国际商业机器"),
    "西门子": ("西门子", "siemens"),
    "中芯国际": ("中芯国际", "中芯", "smic"),
    "华虹": ("华虹", "华虹宏力", "华虹集团"),
    "中国移动": ("中国移动", "移动", "移动公司", "chinamobile"),
    "中国电信": ("中国电信", "电信", "电信局", "电信公司", "chinatelecom"),
    "中国联通": ("中国联通", "联通", "chinaunicom"),
    # industry, transport, utilities
    "上海汽车集团": ("上海汽车集团", "上汽集团", "上汽", "上海汽车", "saic"),
    "上汽大众": ("上汽大众", "上海大众", "saicvolkswagen"),
    "上汽通用": ("上汽通用", "上海通用", "通用汽车", "generalmotors"),
    "特斯拉": ("特斯拉", "tesla", "特斯拉超级工厂"),
    "中国宝武": ("中国宝武", "宝武", "宝钢", "宝钢集团", "宝山钢铁", "baosteel"),
    "中国商飞": ("中国商飞", "商飞", "中国商用飞机", "comac"),
    "上海电气": ("上海电气", "shanghaielectric"),
    "江南造船": ("江南造船", "江南造船厂"),
    "国家电网": ("国家电网", "国网", "电力公司", "供电局", "供电公司", "stategrid"),
    "中国东方航空": ("中国东方航空", "东方航空", "东航", "chinaeastern"),
    "中国国际航空": ("中国国际航空", "国航", "airchina"),
    "春秋航空": ("春秋航空", "春秋航", "springairlines"),
    "吉祥航空": ("吉祥航空", "juneyao"),
    "上港集团": ("上港集团", "上港", "上海国际港务", "上海港"),
    "上海机场集团": ("上海机场集团", "机场集团", "浦东机场", "虹桥机场", "上海机场"),
    "上海地铁": ("上海地铁", "地铁", "地铁公司", "申通地铁", "上海申通地铁", "shanghaimetro"),
    "上海烟草": ("上海烟草", "烟草公司", "烟草局", "中华烟厂"),
    "光明食品": ("光明食品", "光明乳业", "光明集团", "光明牛奶"),
    "联合利华": ("联合利华", "unilever"),
    "宝洁": ("宝洁", "procterandgamble"),
    # shops, hotels, services
    "百联集团": ("百联集团", "百联", "第一百货", "联华超市"),
    "锦江国际": ("锦江国际", "锦江集团", "锦江酒店", "锦江之星", "锦江"),
    "上海迪士尼": ("上海迪士尼", "迪士尼", "迪斯尼", "迪士尼乐园", "disney", "申迪"),
    "麦当劳": ("麦当劳", "金拱门", "mcdonalds", "mcdonald"),
    "肯德基": ("肯德基", "百胜", "百胜中国", "kfc"),
    "星巴克": ("星巴克", "starbucks"),
    "宜家": ("宜家", "宜家家居", "ikea"),
    "顺丰": ("顺丰", "顺丰速运", "顺丰快递"),
    # universities and schools
    "复旦大学": ("复旦大学", "复旦", "fudan"),
    "上海交通大学": ("上海交通大学", "交通大学", "上海交大", "交大", "sjtu"),
    "同济大学": ("同济大学", "同济", "tongji"),
    "华东师范大学": ("华东师范大学", "华东师大", "华师大", "ecnu"),
    "上海财经大学": ("上海财经大学", "上海财大", "上财", "sufe"),
    "上海大学": ("上海大学", "上大"),
    "上海外国语大学": ("上海外国语大学", "上海外国语", "上外", "shisu"),
    "华东理工大学": ("华东理工大学", "华东理工", "华理"),
    "东华大学": ("东华大学",),
    "上海理工大学": ("上海理工大学", "上海理工", "上理工"),
    # hospitals (a friend names the hospital, seldom the university it belongs to)
    "瑞金医院": ("瑞金医院", "瑞金"),
    "华山医院": ("华山医院", "华山"),
    "中山医院": ("中山医院",),
    "仁济医院": ("仁济医院", "仁济"),
    "新华医院": ("新华医院",),
    "长海医院": ("长海医院", "长海"),
    "长征医院": ("长征医院",),
    "龙华医院": ("龙华医院",),
    "曙光医院": ("曙光医院",),
    "第一人民医院": ("第一人民医院", "市一医院"),
    "第六人民医院": ("第六人民医院", "市六医院", "六院"),
    "第十人民医院": ("第十人民医院", "市十医院", "十院"),
    "儿童医学中心": ("儿童医学中心", "上海儿童医学中心"),
    "国际和平妇幼保健院": ("国际和平妇幼保健院", "国妇婴"),
    "妇产科医院": ("妇产科医院", "红房子医院", "红房子"),
    "浦东新区人民医院": ("浦东新区人民医院", "浦东人民医院"),
    "东方医院": ("东方医院",),
    # public service
    "公安局": ("公安局", "派出所", "公安", "警察局"),
}
_EMPLOYER_INDEX = _index(KNOWN_EMPLOYERS)

# Where in Shanghai people say they live, below the district: towns (镇), subdistricts (街道) and
# well-known areas, and the districts merged away (闸北 into 静安 in 2015, 卢湾 into 黄浦 in 2011,
# 南汇 into 浦东 in 2009, 南市 into 黄浦 in 2000): district (as canon_district gives it) -> places.
# A place that spans two districts is listed under both (古北: 长宁 and 闵行); names with other
# meanings (湖南路, 潍坊, 宝山路 in 静安) are left out.
DISTRICT_PLACES: dict[str, tuple[str, ...]] = {
    "浦东": ("陆家嘴", "张江", "金桥", "外高桥", "高桥", "川沙", "周浦", "康桥", "三林", "北蔡", "花木", "洋泾", "塘桥",
           "潍坊新村", "南码头", "周家渡", "上钢新村", "金杨", "源深", "唐镇", "曹路", "合庆", "航头", "新场", "惠南",
           "祝桥", "泥城", "万祥", "老港", "大团", "宣桥", "高行", "高东", "临港", "世纪公园", "前滩", "联洋", "南汇",
           "川沙新镇", "世纪大道", "世博"),
    "黄浦": ("外滩", "南京东路", "人民广场", "豫园", "老西门", "小东门", "半淞园", "打浦桥", "淮海中路", "瑞金二路",
           "五里桥", "新天地", "卢湾", "南市", "董家渡", "十六铺", "城隍庙", "世博"),
    "徐汇": ("徐家汇", "枫林路", "斜土路", "长桥", "田林", "虹梅路", "凌云路", "龙华", "漕河泾", "华泾", "衡山路",
           "上海南站", "万体馆", "康健新村"),
    "长宁": ("中山公园", "华阳路", "周家桥", "天山路", "仙霞", "程家桥", "北新泾", "新泾", "古北", "虹桥", "曹家渡"),
    "静安": ("静安寺", "南京西路", "江宁路", "石门二路", "闸北", "大宁", "彭浦", "临汾路", "芷江西路", "天目西路",
           "不夜城", "市北", "彭浦新村", "曹家渡"),
    "普陀": ("长寿路", "曹杨", "长风", "真如", "甘泉", "石泉路", "宜川路", "万里", "桃浦", "长征镇", "曹家渡"),
    "虹口": ("四川北路", "北外滩", "提篮桥", "欧阳路", "曲阳", "广中路", "凉城", "鲁迅公园", "江湾"),
    "杨浦": ("五角场", "控江", "殷行", "新江湾城", "四平路", "平凉路", "长白新村", "延吉新村", "大桥街道", "江湾"),
    "闵行": ("莘庄", "七宝", "颛桥", "梅陇", "马桥", "吴泾", "浦江镇", "华漕", "古美", "江川路", "浦锦", "新虹",
           "春申", "紫竹", "龙柏", "虹桥镇", "古北", "虹桥", "漕河泾"),
    "宝山": ("吴淞", "淞南", "高境", "杨行", "月浦", "罗店", "顾村", "大场", "庙行", "罗泾", "张庙", "通河"),
    "嘉定": ("南翔", "安亭", "江桥", "马陆", "徐行", "华亭", "外冈", "菊园", "真新", "丰庄"),
    "金山": ("朱泾", "枫泾", "张堰", "亭林", "吕巷", "廊下", "漕泾", "山阳", "石化街道"),
    "松江": ("泗泾", "九亭", "佘山", "车墩", "新桥", "洞泾", "叶榭", "小昆山", "石湖荡", "新浜", "泖港", "方松",
           "广富林", "永丰街道"),
    "青浦": ("朱家角", "赵巷", "徐泾", "华新", "重固", "白鹤", "练塘", "金泽", "夏阳", "盈浦", "香花桥"),
    "奉贤": ("南桥", "奉城", "庄行", "金汇", "四团", "青村", "柘林", "西渡", "奉浦"),
    "崇明": ("城桥", "堡镇", "陈家镇", "长兴岛", "横沙", "新河", "庙镇"),
}
_PLACE_INDEX: dict[str, set[str]] = {}
for _district, _places in DISTRICT_PLACES.items():
    for _place in _places:
        _PLACE_INDEX.setdefault(fold(_place), set()).add(_district)


# The free-text facts that have a spelling table: fact -> canonical -> spellings, and
# fact -> folded spelling -> canonical.
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {"business": BUSINESSES, "occupation": OCCUPATIONS}
SPELLING_INDEX: dict[str, dict[str, str]] = {"business": _BUSINESS_INDEX, "occupation": _OCCUPATION_INDEX}
# Every free-text fact with known values, for the callback grader: the spelling tables above and the
# known employers (not in SPELLINGS: the planner draws employer traps from the catalog only).
KNOWN_VALUES: dict[str, dict[str, tuple[str, ...]]] = {**SPELLINGS, "employer": KNOWN_EMPLOYERS}

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


def districts_of_place(text: str | None) -> set[str]:
    """The districts a place below district level lies in ('张江' -> {'浦东'}, '闸北' -> {'静安'})."""
    folded = fold(text)
    return set(_PLACE_INDEX.get(folded, ()))
