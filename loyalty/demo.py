"""Demo data: a dealer group with two stores, a login per role, the seed's 张三 and 李四,
and a few hundred customers with vehicles. Safe to run twice: everything is keyed
(store code, username, phone) and skipped when it exists."""
from __future__ import annotations

import random
from contextlib import nullcontext
from typing import Callable

from sqlalchemy import select

from loyalty.directory import service
from loyalty.directory.models import Customer, Staff, Store
from loyalty.extensions import db

DEMO_PASSWORD = "demo-pass-2026"

STORES = [("SH01", "上海浦东大众4S店"), ("SH02", "上海闵行大众4S店")]

# username, display name, role, store code (None = group level)
LOGINS = [
    ("admin", "系统管理员", "admin", None),
    ("consultant", "王销售", "consultant", "SH01"),
    ("manager", "赵经理", "manager", "SH01"),
    ("manager2", "钱经理", "manager", "SH01"),
    ("agent", "孙回访", "agent", "SH01"),
    ("finance", "周财务", "finance", None),
    ("finance2", "吴财务", "finance", None),
    ("consultant_b", "郑销售", "consultant", "SH02"),
    ("manager_b", "冯经理", "manager", "SH02"),
    ("service", "陈服务", "service", "SH01"),
    ("service_b", "林服务", "service", "SH02"),
]

# The redemption catalog (兑换目录): code, name, points per unit, stock (None: not counted).
CATALOG = [("CARWASH", "精致洗车", 50, None), ("OILCHANGE", "机油保养", 300, None),
           ("AC-CLEAN", "空调清洗", 150, 40), ("TYRE-CHECK", "轮胎检查与换位", 80, None),
           ("VOUCHER-100", "100元维修代金券", 1000, 20)]

MODELS = ["速腾", "高尔夫", "捷达", "朗逸", "帕萨特", "迈腾", "途观L", "宝来", "探岳", "凌渡"]
COLOURS = ["白色", "黑色", "银色", "红色", "蓝色", "灰色", "棕色"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕婷晨浩宇欣怡子涵梓萱思远俊杰嘉怡雨轩文博佳琪晓东红梅国庆建华丹丹鹏飞"
EMPLOYERS = ["上海汽车集团", "中国银行浦东支行", "华为上海研究所", "浦东新区人民医院", "上海交通大学",
             "中国移动上海公司", "宝钢集团", "东方航空", "联合利华中国", "平安保险上海分公司",
             "上海地铁运营公司", "张江高科", "自由职业", "上海市第一中学", "京东物流上海分公司"]
DISTRICTS = ["浦东新区", "闵行区", "徐汇区", "静安区", "黄浦区", "长宁区", "普陀区", "杨浦区",
             "宝山区", "嘉定区", "松江区", "青浦区", "奉贤区", "虹口区"]
BUSINESSES = ["开餐馆", "做外贸", "开超市", "做装修", "开服装店", "做物流", "开茶叶店", "做建材",
              "开美容院", "做电商", "开五金店", "做水产批发"]
OCCUPATIONS = ["工程师", "医生", "教师", "会计", "销售", "公务员", "司机", "律师", "护士", "程序员", "设计师",
               "个体户", "银行职员", "厨师", "退休人员"]
PHONE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                  "155", "157", "158", "159", "177", "180", "181", "186", "187", "188", "189"]


def _seed_people(store_ids: dict[str, int]) -> None:
    zhang = _customer(store_ids["SH01"], "张三", "13800138000", gender="male", employer="上海汽车集团",
                      home_district="浦东新区", business=None, occupation="工程师",
                      national_id="310115198001011238")
    if zhang is not None:
        service.add_vehicle(None, zhang.id, model="速腾", colour="白色", transmission="automatic",
                            plate="沪A12345", vin="LFV2A21K8E4123456")
    _customer(store_ids["SH01"], "李四", "13900139000", gender="male", employer="中国银行浦东支行",
              home_district="闵行区", business=None, occupation="银行职员")


def _seed_catalog() -> None:
    from loyalty.points import catalog
    from loyalty.points.models import CatalogItem
    for code, name, price, stock in CATALOG:
        if not db.session.execute(select(CatalogItem.id).where(CatalogItem.code == code)).first():
            catalog.create_item(None, code=code, name_zh=name, price=price, stock=stock)


def _customer(store_id: int, name: str, phone: str, **extra) -> Customer | None:
    """Create unless the phone exists (then None)."""
    e164 = "+86" + phone
    if db.session.execute(select(Customer.id).where(Customer.phone == e164)).first():
        return None
    return service.create_customer(None, store_id=store_id, name=name, phone=phone, **extra)


def load_demo_data(customers: int = 300, echo: Callable[[str], None] = print,
                   progress: Callable | None = None) -> None:
    store_ids: dict[str, int] = {}
    for code, name in STORES:
        store = db.session.execute(select(Store).where(Store.code == code)).scalar_one_or_none()
        store = store or service.create_store(None, code=code, name=name, timezone="Asia/Shanghai")
        store_ids[code] = store.id
    for username, display, role, store_code in LOGINS:
        if not db.session.execute(select(Staff.id).where(Staff.username == username)).first():
            service.create_staff(None, username=username, display_name=display, role=role,
                                 store_id=store_ids[store_code] if store_code else None,
                                 password=DEMO_PASSWORD)
    _seed_people(store_ids)
    _seed_catalog()
    db.session.commit()

    rng = random.Random(20261124)  # demo data only: reproducible, so a second run finds the same people
    plans = []
    for i in range(customers):
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        plans.append((i, phone, name, rng.random(), rng.random()))
    created = 0
    bar = progress(plans, label="customers") if progress else nullcontext(plans)
    with bar as items:
        for i, phone, name, r1, r2 in items:
            store_id = store_ids["SH01"] if i % 3 else store_ids["SH02"]
            local = random.Random(phone)
            customer = _customer(
                store_id, name, phone, gender=local.choice(["male", "female"]),
                employer=local.choice(EMPLOYERS) if r1 < 0.8 else None,
                home_district=local.choice(DISTRICTS),
                business=local.choice(BUSINESSES) if r2 < 0.35 else None,
                occupation=local.choice(OCCUPATIONS) if local.random() < 0.9 else None)
            if customer is None:
                continue
            created += 1
            for _ in range(1 if r1 < 0.85 else 2):
                service.add_vehicle(None, customer.id, model=local.choice(MODELS), colour=local.choice(COLOURS),
                                    transmission=local.choice(["automatic", "automatic", "manual"]),
                                    plate=f"沪{local.choice('ABCDEFGHJKLMN')}{local.randrange(10**5):05d}")
            if created % 50 == 0:
                db.session.commit()
    db.session.commit()
    echo(f"demo data: {len(STORES)} stores, {len(LOGINS)} logins, {created} new customers")
    print_logins(echo)


def print_logins(echo: Callable[[str], None] = print) -> None:
    echo("Demo logins (password for all: %s):" % DEMO_PASSWORD)
    for username, display, role, store_code in LOGINS:
        echo(f"  {username:<13} {role:<10} {store_code or 'group':<6} {display}")
