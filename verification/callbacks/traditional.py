"""Traditional -> simplified Chinese for the characters callers and agents actually type
about people, places, employers, businesses and cars (no dependency: a small table).

Only one-to-one mappings that are safe in this domain are listed; anything else is left
as it is (the fuzzy matcher and pinyin comparison cope with the rest).
"""
from __future__ import annotations

# pairs: traditional, simplified (written as two aligned strings, checked at import)
_TRAD = (
    # surnames and given-name characters
    "張陳劉趙孫吳鄭錢馮楊黃蔣韓鄧蕭葉許謝蘇羅盧閻龍嚴萬顧賈龔陸湯貝鍾譚韋鄒魯閔鳳馬"
    "偉麗靜強傑豔濤軍慶飛鵬軒遠曉蘭剛歡華國誌東紅梅愛義廣寶貴賢麗穎嬌璽瑩"
    # places (Shanghai districts and common place words)
    "區縣鎮鄉灣臺滬匯寧長陽島濱門園廠場際橋莊峽嶺漢興聯"
    # colours and cars
    "銀藍綠顏色車輛馬開動檔擋騰達爾觀來嶽淩銳薩邁輪駕駛證號碼牌標轎"
    # employers, businesses, everyday words in answers
    "銀團醫學師藥療測試設計經濟貿進裝飾業員務產運營鐵發機險館飯廳賣買貨倉庫質書築體絲線鋼銅鋁環衛視訊"
    "語講認識記紀約級紹謝禮點圖屬專將從應該沒錯對嗎個們麼樣歐億雙離綜劃價賓馳豐電網為與這還說會時間問見"
    "聽買辦處單門診區網絡貨運輸遞廣傳媒"
    # employers, occupations and businesses as friends name them (攜程, 復旦, 麥當勞, 護士, 廚師, 理髮)
    "裡攜復範財麥當勞錦壽護銷廚戶職騎潔髮劑練磚鮮訓煙閘"
)
_SIMP = (
    "张陈刘赵孙吴郑钱冯杨黄蒋韩邓萧叶许谢苏罗卢阎龙严万顾贾龚陆汤贝钟谭韦邹鲁闵凤马"
    "伟丽静强杰艳涛军庆飞鹏轩远晓兰刚欢华国志东红梅爱义广宝贵贤丽颖娇玺莹"
    "区县镇乡湾台沪汇宁长阳岛滨门园厂场际桥庄峡岭汉兴联"
    "银蓝绿颜色车辆马开动档挡腾达尔观来岳凌锐萨迈轮驾驶证号码牌标轿"
    "银团医学师药疗测试设计经济贸进装饰业员务产运营铁发机险馆饭厅卖买货仓库质书筑体丝线钢铜铝环卫视讯"
    "语讲认识记纪约级绍谢礼点图属专将从应该没错对吗个们么样欧亿双离综划价宾驰丰电网为与这还说会时间问见"
    "听买办处单门诊区网络货运输递广传媒"
    "里携复范财麦当劳锦寿护销厨户职骑洁发剂练砖鲜训烟闸"
)
assert len(_TRAD) == len(_SIMP), (len(_TRAD), len(_SIMP))

TABLE: dict[int, str] = {ord(t): s for t, s in zip(_TRAD, _SIMP) if t != s}


def to_simplified(text: str) -> str:
    """'張三 銀色 自動擋' -> '张三 银色 自动挡' (characters outside the table are kept)."""
    return text.translate(TABLE) if text else text
