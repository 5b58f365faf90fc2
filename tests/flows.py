"""The steps of the referral story that many test modules take: register, check the delivery,
call back, pay out. Shared here, not imported from one test module into another (issue 13 item 11);
the fixtures built from them are in tests/integration/conftest.py."""
from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta, timezone

import time_machine

from loyalty.directory import service as directory
from loyalty.extensions import db
from verification.callbacks import planning
from verification.callbacks.models import Callback
from verification.referrals.models import Referral

# ---- Referral registration -----------------------------------------------------------------------

CLAIM = {"referrer_name": "张三", "referrer_phone": "13800138000", "referrer_model": "速腾",
         "referrer_colour": "白色"}


# Before any referral the tests register: what the store knew of its customers beforehand.
ON_RECORD_SINCE = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


# The delivery check page's form for the `acknowledged` referral: every field matches the claim.
CHECK_FORM = {"delivered_at": "2026-11-04T10:00", "vehicle_model": "高尔夫", "vehicle_colour": "红色",
              "vehicle_transmission": "manual", "vehicle_vin": "LSVAB2BR5NN123456", "licence_owner_name": "张三",
              "licence_plate": "沪A12345", "licence_model": "大众汽车牌SVW7141BRD(速腾)", "licence_vin": "",
              "licence_colour": "白"}

def seed_people(world):
    zhang = directory.create_customer(None, store_id=world.store.id, name="张三", phone="13800138000",
                                      gender="male", employer="上海汽车集团", home_district="浦东新区",
                                      occupation="工程师", national_id="310115198001011238")
    directory.add_vehicle(None, zhang.id, model="速腾", colour="白色", transmission="automatic",
                          plate="沪A12345", vin="LFV2A21K8E4123456")
    li = directory.create_customer(None, store_id=world.store.id, name="李四", phone="13900139000",
                                   gender="male", employer="中国银行浦东支行", home_district="闵行区",
                                   occupation="会计")
    other = directory.create_customer(None, store_id=world.other_store.id, name="王五", phone="13700137000")
    db.session.commit()
    return {"zhang": zhang, "li": li, "other": other}


def register(api, world, people, who="consultant", referee="li", claim=None, **over):
    body = {"store_id": world.store.id, "referrer_id": people["zhang"].id,
            "referee_id": people[referee].id, "claim": claim or dict(CLAIM), **over}
    return api.as_(who).post("referrals", json=body)


def new_referee(world, name, phone):
    c = directory.create_customer(None, store_id=world.store.id, name=name, phone=phone)
    db.session.commit()
    return c


# ---- The delivery check --------------------------------------------------------------------------

CHECK_T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


LICENCE = {"owner_name": "张三", "plate": "沪A12345", "model": "速腾", "vin": "LFV2A21K8E4123456", "colour": "白色"}


VEHICLE = {"model": "高尔夫", "colour": "红色", "transmission": "manual"}


_SAME = object()


def deliver(api, rid, who="manager2", delivered_at=None, licence=None, vehicle=_SAME):
    """The delivery check as `who` three days after CHECK_T0; vehicle=None leaves the car out of the body."""
    body = {"delivered_at": (delivered_at or CHECK_T0 + timedelta(days=3)).isoformat(),
            "vehicle": dict(VEHICLE) if vehicle is _SAME else vehicle, "licence": licence or dict(LICENCE)}
    if body["vehicle"] is None:
        del body["vehicle"]
    with time_machine.travel(CHECK_T0 + timedelta(days=3, hours=1), tick=False):
        return api.as_(who).post(f"referrals/{rid}/delivery", json=body)


RECORD_VALUES = ("张叁", "Sagitar", "珍珠白", "沪A12345", "LFV2A21K8E4123456")


# ---- Deliveries imported from a spreadsheet ------------------------------------------------------

HEADER = "客户姓名,手机,交车时间,车型,颜色,变速箱,车牌,VIN"


ROWS = [
    "李四,13900139000,2026-11-04 10:30,高尔夫,红色,手动,沪B11111,LSVAB2BR5NN123456",
    "赵六,13512345670,2026/11/5,朗逸 1.5L 自动舒适型,白色,,,LSVCD4E57NN000001",
]


def csv_bytes(rows=ROWS, header=HEADER, encoding="utf-8", sep=","):
    text = "\r\n".join([header.replace(",", sep)] + [r.replace(",", sep) for r in rows]) + "\r\n"
    return text.encode(encoding)


# ---- Callbacks -----------------------------------------------------------------------------------

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


AT_ONCE = {"callback_delay_min_hours": 0, "callback_delay_max_hours": 0,
           "calling_hours_start": "00:00", "calling_hours_end": "23:59", "velocity_limit": 100}


def delivered_referral(api, world, people, party: str | None, monkeypatch, referee="li") -> int:
    """Register, acknowledge and pass the delivery check; the callee forced to `party` if given."""
    if party:
        monkeypatch.setattr(planning, "draw_callee", lambda: party)
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people, referee=referee).json["id"]
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        resp = api.as_("manager2").post(f"referrals/{rid}/delivery", json={
            "delivered_at": (T0 + timedelta(hours=1)).isoformat(), "vehicle": VEHICLE, "licence": LICENCE})
    assert resp.json["status"] == "awaiting_callback", resp.json
    return rid


def plan_of(rid: int) -> Callback:
    db.session.expire_all()
    return db.session.execute(db.select(Callback).where(Callback.referral_id == rid)
                              .order_by(Callback.id.desc())).unique().scalars().first()


def truthful(question: dict) -> dict:
    if question["kind"] == "open":
        return {"question_id": question["key"], "text": question["true_value"]}
    if question["kind"] == "truth":
        return {"question_id": question["key"], "confirmed": True}
    return {"question_id": question["key"], "confirmed": False, "text": question["true_value"]}


def clueless(question: dict) -> dict:
    """Someone who does not know the other party: agrees with whatever is said, guesses the rest."""
    if question["kind"] == "open":
        guess = question["choices"][0] if question["choices"] else "在外地做点小生意"
        return {"question_id": question["key"], "text": guess}
    return {"question_id": question["key"], "confirmed": True}


def undecided(question: dict) -> dict:
    """A vague answer the grader cannot settle either way (it must go to a manager)."""
    from verification.callbacks.grading import grade
    truth = question["true_value"]
    q = planning.PlannedQuestion.from_dict(question)
    for text in (truth[:2] + "那边的什么地方吧", truth[:2] + "某个单位吧", truth[0] + truth[-1],
                 "好像是" + truth[0] + "什么"):
        if grade(q, confirmed=None, text=text) == "undecided":
            return {"question_id": question["key"], "text": text}
    raise AssertionError(f"no undecided answer found for {truth}")


def claim(api, who="agent"):
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        return api.as_(who).post("callbacks/claim")


def answer(api, callback_id, answers, who="agent"):
    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False):
        return api.as_(who).post(f"callbacks/{callback_id}/answers", json={"answers": answers})


def answer_for_review(api, rid: int, who="agent") -> dict:
    """Take the call of referral `rid` and answer so that a manager must review one answer: the
    open question undecided, the trap confirmed (one wrong), the rest truthful. The claimed call."""
    call = claim(api, who).json
    plan = plan_of(rid)
    answers = [truthful(q) for q in plan.questions]
    open_q = next(i for i, q in enumerate(plan.questions) if q["kind"] == "open")
    answers[open_q] = undecided(plan.questions[open_q])
    trap = next(i for i, q in enumerate(plan.questions) if q["kind"] == "trap")
    answers[trap] = {"question_id": plan.questions[trap]["key"], "confirmed": True}  # one wrong
    answer(api, call["id"], answers, who)
    return call


def balances(api, owner):
    items = api.as_("admin").get(f"ledger/accounts?owner={owner}").json["items"]
    return {a["purpose"]: a["balance"] for a in items}


def answer_next_call(api, rid, respond, at):
    """Claim the referral's newest callback at `at` and answer every question with `respond`."""
    with time_machine.travel(at, tick=False):
        call = api.as_("agent").post("callbacks/claim").json
    plan = plan_of(rid)
    assert call["id"] == plan.id
    with time_machine.travel(at + timedelta(minutes=5), tick=False):
        resp = api.as_("agent").post(f"callbacks/{plan.id}/answers",
                                     json={"answers": [respond(q) for q in plan.questions]})
    assert resp.status_code == 200, resp.json
    return plan


# ---- Payouts -------------------------------------------------------------------------------------

def verified_referral(api, world, people, monkeypatch, referee="li") -> int:
    """Register, acknowledge, check the delivery and answer the callback truthfully."""
    rid = delivered_referral(api, world, people, "referee", monkeypatch, referee=referee)
    call = claim(api).json
    assert answer(api, call["id"], [truthful(q) for q in plan_of(rid).questions]).status_code == 200
    db.session.expire_all()
    assert db.session.get(Referral, rid).status == "verified"
    return rid


def payout_of(api, rid: int) -> dict:
    items = api.as_("finance").get(f"payouts?referral_id={rid}").json["items"]
    assert len(items) == 1, items
    return items[0]


def post(api, who, path, key, **body):
    return api.as_(who).post(path, json=body, headers={"Idempotency-Key": key})


# ---- points and exports -------------------------------------------------------------

_visit_keys = itertools.count(1)


def visit(api, customer, store, amount, who="service", key=None):
    return api.as_(who).post(f"customers/{customer.id}/service-visits", json={"store_id": store.id, "amount": amount},
                             headers={"Idempotency-Key": key or f"visit-{next(_visit_keys)}"})


def catalog_item(name: str, price: int = 1, **extra):
    """The catalog item named `name` (made, group-wide and uncounted unless `extra` says, the first
    time): redemptions name a catalog item since issue 15, no longer free text."""
    import hashlib

    from sqlalchemy import select

    from loyalty.points import catalog
    from loyalty.points.models import CatalogItem
    code = "T" + hashlib.sha1(f"{name}:{price}".encode()).hexdigest()[:10].upper()
    item = db.session.execute(select(CatalogItem).where(CatalogItem.code == code)).scalar_one_or_none()
    if item is None:
        item = catalog.create_item(None, code=code, name_zh=name, price=price, **extra)
        db.session.commit()
    return item


def redeem(api, customer, pts, key, item="洗车券", who="service"):
    """Redeem `pts` points: `pts` units of a 1-point catalog item named `item`."""
    code = catalog_item(item).code
    return api.as_(who).post(f"customers/{customer.id}/redemptions", json={"item": code, "quantity": pts, "points": pts},
                             headers={"Idempotency-Key": key})


def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
