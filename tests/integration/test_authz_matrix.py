"""The authorization matrix (SEC-2, security review issue 14).

Generated, not listed by hand: every operation of the OpenAPI document, every GET page and every
form posted to an object of the URL map is called as every role (and anonymously; store-bound
callers belong to SH01) on three targets where the call can name them:

- own:          the caller's store's objects in the path, the body and the filters;
- other_store:  the caller's objects, but the other store named (a body's or a filter's store_id);
- other_object: an object of the other store named (a path id, an id or a phone in the body, a
                filter such as ?customer_id=).

What may happen comes from the view's own declaration (`audience_of(endpoint)`), itself pinned
to a reviewed table (REVIEWED_AUDIENCES) so that widening an @allow fails too:

- a caller outside the audience never gets a 2xx: 401 (API) / a redirect to the login (pages)
  when anonymous, 403 when logged in;
- a store-bound caller gets 404 on the other store's object, as for a missing id (a page that
  answers every refusal with a redirect and a message must answer exactly as for a missing id);
  naming the other store or its object in a body is refused (4xx);
- a store-bound caller's 2xx answers (JSON, pages, CSV and Excel exports) never carry the other
  store's customers, staff or name, while they do show the caller's own (so the check can see);
- inside its audience a caller is not refused for its role; group-level staff (finance, admin)
  reach both stores.

The world holds, in EACH store, one object of every kind in the state its write operations act on
(a registered, an acknowledged, an under-review, a rejected and a verified referral, a held
callback, an answer under review, a held verdict, a payout, ledger accounts and a transfer), and
each write gets a plausible body, so a missing store check turns into a 2xx the matrix sees rather
than a 422. Refused calls run first and must write nothing (the audit chain does not grow); the
allowed ones run afterwards, so they cannot spoil a refused call's target.

`MATRIX_REPORT=1 pytest -s ...` prints every call with its answer.
"""
from __future__ import annotations

import io
import itertools
import os
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import time_machine
from sqlalchemy import func, select

from loyalty.audit.models import AuditEvent
from loyalty.auth.access import ANY_STAFF, PUBLIC, audience_of
from loyalty.directory import service as directory
from loyalty.directory.models import Staff
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Transfer
from loyalty.payouts import export_jobs
from loyalty.payouts.jobs import run_exports as export_jobs_run
from loyalty.payouts.models import Payout
from tests.flows import AT_ONCE, LICENCE, plan_of, truthful, undecided
from tests.helpers import PASSWORD
from tests.web import Browser, csrf_of, login
from verification.callbacks import planning
from verification.callbacks.models import AnswerReview, Confirmation
from verification.referrals.models import UNDER_REVIEW, Referral

ON_RECORD_SINCE = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)

# Who calls: a name in the report -> (username or None for anonymous, role, store-bound?).
# Store-bound callers belong to SH01 ("own"); SH02 is "other". finance_a is a finance user bound
# to SH01 (a configuration the directory allows), so the books' and payouts' scoping is matched too.
CALLERS = {
    "anonymous": (None, None, False),
    "consultant": ("consultant", "consultant", True),
    "manager": ("manager", "manager", True),
    "agent": ("agent", "agent", True),
    "finance": ("finance", "finance", False),
    "finance@SH01": ("finance_a", "finance", True),
    "service": ("service", "service", True),
    "admin": ("admin", "admin", False),
}


@dataclass
class StoreObjects:
    """One object of each kind in one store: path parameter -> id (referrals by state)."""
    ids: dict[str, int] = field(default_factory=dict)
    referrals: dict[str, int] = field(default_factory=dict)
    markers: tuple[str, ...] = ()  # text only this store's objects carry (customer names)
    spare: tuple[str, str] = ("", "")  # name and phone of a customer without a referral
    staff: tuple[str, ...] = ()  # display names of the store's staff (checked like the markers)


# Ids no store has: what a store-bound caller must not be able to tell another store's object from.
MISSING = StoreObjects(ids=defaultdict(lambda: 999999), referrals=defaultdict(lambda: 999999))

# Which referral a referral operation acts on: the state in which it would succeed.
REFERRAL_FOR = {"acknowledge": "registered", "review": "under_review", "delivery": "acknowledged",
                "preview": "acknowledged", "reopen": "rejected", "unwind": "verified"}


# ---- the world ---------------------------------------------------------------------------------

FACTS = [("上海汽车集团", "浦东新区", "工程师"), ("中国银行浦东支行", "闵行区", "会计"),
         ("宝钢集团", "徐汇区", "教师"), ("东方航空", "长宁区", "飞行员"), ("交通银行", "静安区", "柜员"),
         ("华东医院", "黄浦区", "医生"), ("复旦大学", "杨浦区", "讲师"), ("上海电气", "闵行区", "技师")]
REFEREES = ("verified", "held", "review", "confirm", "registered", "acknowledged", "rejected", "under_review")


def _customers(store, tag: str, digit: str, phone_prefix: str):
    """The referrer (with the car of the LICENCE) and one referee per referral, facts on record."""
    employer, district, occupation = FACTS[0]
    referrer = directory.create_customer(
        None, store_id=store.id, name=f"张{tag}", phone=f"{phone_prefix}0000", gender="male", employer=employer,
        home_district=district, occupation=occupation)
    directory.add_vehicle(None, referrer.id, model="速腾", colour="白色", transmission="automatic",
                          plate=f"沪A1234{digit}", vin=f"LFV2A21K8E412345{digit}")
    referees = {}
    for i, what in enumerate(REFEREES, start=1):
        employer, district, occupation = FACTS[i % len(FACTS)]
        referees[what] = directory.create_customer(
            None, store_id=store.id, name=f"李{tag}{i}", phone=f"{phone_prefix}{i:04d}", gender="male",
            employer=employer, home_district=district, occupation=occupation)
    return referrer, referees


def _licence(referrer, digit: str) -> dict:
    return {**LICENCE, "owner_name": referrer.name, "plate": f"沪A1234{digit}",
            "vin": f"LFV2A21K8E412345{digit}"}


def _ok(resp, *codes):
    assert resp.status_code in (codes or (200, 201)), (resp.status_code, resp.get_json())
    return resp.get_json()


def _build_store(api, store, staff: dict[str, str], tag: str, digit: str, phone_prefix: str) -> StoreObjects:
    """Drive one store through the API: registrations, acknowledgements, delivery checks and
    callbacks, as its own staff would (staff: consultant, manager, checker, agent)."""
    _ok(api.as_("admin").put(f"stores/{store.id}/policy", json=AT_ONCE))
    with time_machine.travel(ON_RECORD_SINCE, tick=False):
        referrer, referees = _customers(store, tag, digit, phone_prefix)
        db.session.commit()
        spare = directory.create_customer(None, store_id=store.id, name=f"王{tag}", phone=f"{phone_prefix}0099")
        db.session.commit()
    licence = _licence(referrer, digit)
    claim = {"referrer_name": referrer.name, "referrer_phone": referrer.phone, "referrer_model": "速腾",
             "referrer_colour": "白色"}
    objects = StoreObjects(markers=(store.name, referrer.name, spare.name, *(c.name for c in referees.values())))
    objects.ids["spare_customer_id"], objects.spare = spare.id, (spare.name, spare.phone)
    with time_machine.travel(T0, tick=False):
        for what, referee in referees.items():
            body = {"store_id": store.id, "referrer_id": referrer.id, "referee_id": referee.id, "claim": claim}
            objects.referrals[what] = _ok(api.as_(staff["consultant"]).post("referrals", json=body))["id"]
            if what not in ("registered", "under_review"):
                _ok(api.as_(staff["manager"]).post(f"referrals/{objects.referrals[what]}/acknowledge"))
    step = itertools.count(1)

    def deliver(what, lic=licence):
        at = T0 + timedelta(hours=next(step))
        with time_machine.travel(at, tick=False):
            return _ok(api.as_(staff["checker"]).post(f"referrals/{objects.referrals[what]}/delivery", json={
                "delivered_at": at.isoformat(), "licence": lic,
                "vehicle": {"model": "高尔夫", "colour": "红色", "transmission": "manual"}}))

    claimed_at = {}

    def claim_call(what):
        claimed_at["at"] = T0 + timedelta(hours=next(step))
        with time_machine.travel(claimed_at["at"], tick=False):
            call = _ok(api.as_(staff["agent"]).post("callbacks/claim"))
        plan = plan_of(objects.referrals[what])
        assert call["id"] == plan.id
        return plan

    def answer(plan, answers):
        with time_machine.travel(claimed_at["at"] + timedelta(minutes=5), tick=False):
            _ok(api.as_(staff["agent"]).post(f"callbacks/{plan.id}/answers", json={"answers": answers}))

    assert deliver("rejected", {**licence, "model": "大众汽车牌SVW7141BRD(捷达)"})["status"] == "rejected"
    # verified: the reward is posted and its payout waits for finance
    deliver("verified")
    plan = claim_call("verified")
    answer(plan, [truthful(q) for q in plan.questions])
    # an answer the grader cannot decide, waiting for a manager (CB-5)
    deliver("review")
    plan = claim_call("review")
    answers = [truthful(q) for q in plan.questions]
    open_q = next(i for i, q in enumerate(plan.questions) if q["kind"] == "open")
    answers[open_q] = undecided(plan.questions[open_q])
    trap = next(i for i, q in enumerate(plan.questions) if q["kind"] == "trap")
    answers[trap] = {"question_id": plan.questions[trap]["key"], "confirmed": True}  # one wrong
    answer(plan, answers)
    # a passing verdict held for a manager (CB-11): the plan is marked weak, then passed
    deliver("confirm")
    plan = plan_of(objects.referrals["confirm"])
    plan.confirm_required, plan.insider_pass_bp = True, 2500
    db.session.commit()
    plan = claim_call("confirm")
    answer(plan, [truthful(q) for q in plan.questions])
    # a callback held by the store's agent, not answered yet
    deliver("held")
    objects.ids["callback_id"] = claim_call("held").id
    # held for review (REG-5): what a flagged referrer's registration becomes
    under_review = db.session.get(Referral, objects.referrals["under_review"])
    under_review.status, under_review.review_required = UNDER_REVIEW, "referrer_flagged"
    db.session.commit()

    db.session.expire_all()
    statuses = {what: db.session.get(Referral, rid).status for what, rid in objects.referrals.items()}
    assert statuses == {"verified": "verified", "held": "awaiting_callback", "review": "awaiting_callback",
                        "confirm": "awaiting_callback", "registered": "registered",
                        "acknowledged": "registered", "rejected": "rejected", "under_review": "under_review"}
    one = lambda query: db.session.execute(query).scalar_one()  # noqa: E731
    objects.ids.update(
        store_id=store.id, staff_id=directory_staff_id(staff["checker"]), customer_id=referrer.id,
        referral_id=objects.referrals["verified"],
        review_id=one(select(AnswerReview.id).join(Referral, Referral.id == AnswerReview.referral_id)
                      .where(Referral.store_id == store.id)),
        confirmation_id=one(select(Confirmation.id).where(Confirmation.store_id == store.id)),
        payout_id=one(select(Payout.id).where(Payout.store_id == store.id)),
        account_id=ledger.account_for(f"customer:{referrer.id}", "reward_payable", "CNY").id,
        store_account_id=ledger.account_for(f"store:{store.id}", "referral_expense", "CNY").id,
        transfer_id=one(select(func.max(Transfer.id)).where(Transfer.subject == f"referral:{objects.referrals['verified']}")),
    )
    return objects


def directory_staff_id(username: str) -> int:
    return db.session.execute(select(Staff.id).where(Staff.username == username)).scalar_one()


@pytest.fixture
def matrix(app, api, world, monkeypatch):
    """SH01 ("own") and SH02 ("other"), each with one object of every kind; every caller's token."""
    for username, role, store in (("manager_b2", "manager", world.other_store),
                                  ("finance_a", "finance", world.store)):
        world.staff[username] = directory.create_staff(None, username=username, display_name=username,
                                                       role=role, store_id=store.id, password=PASSWORD)
    db.session.commit()
    monkeypatch.setattr(planning, "draw_callee", lambda: "referee")
    own = _build_store(api, world.store, {"consultant": "consultant", "manager": "manager",
                                          "checker": "manager2", "agent": "agent"}, "甲", "6", "1380013")
    other = _build_store(api, world.other_store, {"consultant": "consultant_b", "manager": "manager_b",
                                                  "checker": "manager_b2", "agent": "agent_b"}, "乙", "7", "1370013")
    _ok(api.as_("admin").post("catalog-items", json={"code": "MATRIX", "name_zh": "矩阵券", "price": 1}))
    for objects, store, code in ((own, world.store, "MX-A"), (other, world.other_store, "MX-B")):
        objects.ids["item_id"] = _ok(api.as_("admin").post("catalog-items", json={
            "code": code, "name_zh": "门店券", "price": 1, "store_id": store.id}))["id"]
    template_id = _ok(api.as_("admin").post("questions", json={
        "code": "matrix_q", "kind": "open", "fact": "employer", "text_zh": "{who}在哪里工作？",
        "text_en": "Where does {who} work?", "active": False}))["id"]
    for objects, store in ((own, world.store), (other, world.other_store)):
        objects.ids["template_id"] = template_id  # the question bank is the group's, not a store's
        objects.staff = tuple(s.display_name for s in world.staff.values() if s.store_id == store.id)
    # a background payout export of each store's finance side (issue 16), written: SH01's asked for by
    # finance_a (bound to SH01), the other one by the group's finance; only its requester (or an admin)
    # reads it, so another store's is a 404 like a missing one
    for objects, requester in ((own, "finance_a"), (other, "finance")):
        objects.ids["export_id"] = export_jobs.request_export(world.staff[requester], everything=True).id
    db.session.commit()
    export_jobs_run()
    for username, _role, _bound in CALLERS.values():
        if username:
            api.token(username)
    return {"own": own, "other": other}


# ---- the operations: read from the OpenAPI document and the URL map ------------------------------

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # /api/v1/customers/{customer_id} or /customers/<int:customer_id>
    endpoint: str
    params: tuple[str, ...]
    store_query: bool = False  # takes ?store_id=
    filters: tuple[str, ...] = ()  # query parameters that name an object (FILTERS)
    enums: tuple[tuple[str, str], ...] = ()  # (query parameter, one of its values)

    @property
    def store_bound_params(self) -> set[str]:
        return set(self.params) - {"template_id"}  # the question bank is the group's

    def url(self, objects: StoreObjects, store_id: int, extra: dict | None = None) -> str:
        def fill(match):
            name = match.group(1)
            if name == "referral_id":
                last = self.template.rstrip("/").rsplit("/", 1)[-1]
                return str(objects.referrals[REFERRAL_FOR.get(last, "verified")])
            return str(objects.ids[name])
        url = re.sub(r"[{<](?:\w+:)?(\w+)[}>]", fill, self.template)
        query = {"store_id": store_id} if self.store_query else {}
        query.update(QUERIES[self.endpoint](objects) if self.endpoint in QUERIES else {})
        query.update(extra or {})
        return url + (f"?{urlencode(query)}" if query else "")


    def queries(self) -> list[dict]:
        """Query variants of a read: none; each filter naming an object; each value of each enum."""
        return [{}] + [{name: name} for name in self.filters] + [{name: value} for name, value in self.enums]


# Required query parameters that name an object.
QUERIES = {"ledger.list_accounts": lambda o: {"owner": f"customer:{o.ids['customer_id']}"}}
# Optional filters that name an object: filtering by another store's object finds nothing.
FILTERS = {"customer_id": lambda o: o.ids["customer_id"], "referral_id": lambda o: o.referrals["verified"],
           "phone": lambda o: o.spare[1], "q": lambda o: o.spare[0]}


def api_operations(app) -> list[Operation]:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    adapter = app.url_map.bind("")
    ops = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method.upper() not in {"GET"} | WRITES:
                continue
            endpoint, _ = adapter.match(re.sub(r"{\w+}", "1", path), method=method.upper())
            query = [p for p in operation.get("parameters", []) + item.get("parameters", []) if p.get("in") == "query"]
            names = {p["name"] for p in query}
            ops.append(Operation(method.upper(), path, endpoint, tuple(re.findall(r"{(\w+)}", path)),
                                 store_query="store_id" in names, filters=tuple(sorted(names & set(FILTERS))),
                                 enums=tuple((p["name"], value) for p in query
                                             for value in p.get("schema", {}).get("enum", []))))
    return ops


def page_operations(app) -> list[Operation]:
    ops = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        ops.append(Operation("GET", rule.rule, rule.endpoint, tuple(sorted(rule.arguments))))
    return sorted(ops, key=lambda op: op.template)


VEHICLE = {"model": "高尔夫", "colour": "红色", "transmission": "manual"}


def _bodies(o: StoreObjects, store: int) -> dict[str, dict]:
    """A plausible body per write (or a list of them, each called): valid enough to get past the
    schema, so that what answers is the role and the store check, not a 422. `o` supplies the
    objects named, `store` the store."""
    now = datetime.now(UTC).isoformat()
    claim = {"referrer_name": "张", "referrer_phone": "13800138000", "referrer_model": "速腾",
             "referrer_colour": "白色"}
    return {
        "directory.create_store": {"code": "SH09", "name": "新店", "timezone": "Asia/Shanghai"},
        "directory.update_store": {"name": "改名店"},
        "directory.set_policy": dict(AT_ONCE),
        "directory.create_staff": {"username": "newbie", "display_name": "新人", "role": "consultant",
                                   "store_id": store, "password": "long-enough-1"},
        "directory.update_staff": {"display_name": "改名"},
        "directory.create_customer": {"store_id": store, "name": "赵六", "phone": "13600136000"},
        "directory.update_customer": {"employer": "宁波银行"},
        "directory.add_vehicle": dict(VEHICLE),
        "points.record_visit": {"store_id": store, "amount": 10000},
        "points.redeem": {"points": 1, "item": "MATRIX"},
        "catalog.create_item": {"code": "NEW1", "name_zh": "新券", "price": 5, "store_id": store},
        "catalog.update_item": {"price": 7},
        "referrals.register": {"store_id": store, "referrer_id": o.ids["customer_id"],
                               "referee_id": o.ids["spare_customer_id"], "claim": claim},
        "referrals.review": {"decision": "accept"},
        "delivery.unwind_sale": {"reason": "退车"},
        "delivery.check_delivery": {"licence": dict(LICENCE), "delivered_at": now, "vehicle": dict(VEHICLE)},
        "delivery.preview_delivery": {"licence": dict(LICENCE)},
        "delivery.reopen": {"reason": "车型录入错误"},
        "delivery.record_delivery": [  # the customer by id, or by name and phone
            {"store_id": store, "customer_id": o.ids["spare_customer_id"], "delivered_at": now,
             "vehicle": {**VEHICLE, "vin": "LSVAB2180E2000001"}},
            {"store_id": store, "customer": {"name": o.spare[0], "phone": o.spare[1]}, "delivered_at": now,
             "vehicle": {**VEHICLE, "vin": "LSVAB2180E2000002"}}],
        "callbacks.answers": {"answers": [{"question_id": "q1", "confirmed": True}]},
        "callbacks.decide": {"decision": "correct"},
        "callbacks.settle_confirmation": {"decision": "verified", "reason": "亲自致电核对"},
        "callbacks.create_question": {"code": "matrix_new", "kind": "open", "fact": "employer",
                                      "text_zh": "{who}在哪里上班？", "text_en": "Where does {who} work?"},
        "callbacks.update_question": {"text_zh": "{who}在哪个单位上班？"},
        "payouts.reject": {"reason": "不同意"},
        "payouts.mark_paid": {"method": "bank_transfer", "external_reference": "R1"},
        "ledger.create_adjustment": {"debit_account_id": o.ids["store_account_id"],
                                     "credit_account_id": o.ids["account_id"], "amount": 1, "unit": "CNY",
                                     "reason": "Goodwill"},
    }


# ---- calling and judging ----------------------------------------------------------------------

# own:          the caller's store's objects in the path, body and filter;
# other_store:  the caller's objects, but the other store named (body's or filter's store_id);
# other_object: an object of the other store named (path id, or an id in the body).
TARGETS = ("own", "other_store", "other_object")


@dataclass
class Call:
    caller: str
    op: Operation
    target: str
    expect: str  # "unauthenticated" | "forbidden" | "not_found" | "refused" | "allowed" | "public"
    variant: int = 0  # which of the operation's bodies
    status: int = 0
    said: str = ""

    def __str__(self):
        filtered = 1 <= self.variant <= len(self.op.filters)
        body = (f" body {self.variant + 1}" if self.op.method in WRITES else
                " ?" + "&".join(f"{k}={'…' if filtered else v}" for k, v in self.op.queries()[self.variant].items())
                ) if self.variant else ""
        return f"{self.caller:13} {self.op.method:6} {self.op.template}{body} [{self.target}] -> {self.status}"

    def request(self, matrix) -> tuple[str, dict | None]:
        """The URL and body for this call's target."""
        own, other = matrix["own"], matrix["other"]
        objects = other if self.target == "other_object" else own
        store = (other if self.target == "other_store" else own).ids["store_id"]
        if self.op.method in WRITES:
            return self.op.url(objects, store), bodies_of(self.op, objects, store)[self.variant]
        query = self.op.queries()[self.variant]
        if 1 <= self.variant <= len(self.op.filters):
            query = {name: FILTERS[name](objects) for name in query}
        return self.op.url(objects, store, query), None


def bodies_of(op: Operation, objects: StoreObjects, store: int) -> list[dict]:
    body = _bodies(objects, store).get(op.endpoint, {})
    return body if isinstance(body, list) else [body]


def targets(op: Operation, body: dict) -> list[str]:
    """Own always; the other store where the call names a store; another store's object where it
    names an object (a path id, an id in the body, a customer by phone)."""
    found = ["own"]
    if op.store_query or "store_id" in body:
        found.append("other_store")
    if op.store_bound_params or op.endpoint in QUERIES or "customer" in body or any(
            k.endswith("_id") and k != "store_id" for k in body):
        found.append("other_object")
    return found


def expectation(op: Operation, caller: str, target: str) -> str:
    username, role, bound = CALLERS[caller]
    audience = audience_of(op.endpoint) or frozenset()
    if PUBLIC in audience:
        return "public"
    if username is None:
        return "unauthenticated"
    if ANY_STAFF not in audience and role not in audience:
        return "forbidden"
    if bound and target == "other_object" and (op.store_bound_params or op.endpoint in QUERIES):
        return "not_found"  # as for a missing id: nothing of the other store can be probed
    if bound and target != "own" and op.method in WRITES:
        return "refused"  # naming the other store, or its object, in a body
    return "allowed"  # a list filtered by the other store: only the caller's (the leak check)


def body_text(resp) -> str:
    """What a response says, also inside a spreadsheet (an .xlsx is a zip of XML)."""
    data = resp.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return data.decode("utf-8", "replace")


def judge(call: Call, resp, other_markers: tuple[str, ...], *, page: bool) -> str | None:
    """What is wrong with the answer, or None."""
    status, text = resp.status_code, body_text(resp)
    wrong = [verdict(call, resp, page=page)]
    if CALLERS[call.caller][2] and 200 <= status < 300:
        leaked = [m for m in other_markers if m in text]
        wrong.append(f"shows the other store's {leaked}" if leaked else None)
    return "; ".join(w for w in wrong if w) or None


def verdict(call: Call, resp, *, page: bool) -> str | None:
    status = resp.status_code
    code = None if page else (resp.get_json(silent=True) or {}).get("code")
    to_login = status == 302 and "/login" in resp.headers.get("Location", "")
    if status >= 500:
        return "server error"
    if call.expect == "unauthenticated":
        if page:
            return None if to_login else "not sent to login"
        return None if status == 401 else "expected 401"
    if call.expect == "forbidden":
        return None if status == 403 and (page or code == "role_forbidden") else "expected 403 role_forbidden"
    if call.expect == "not_found":
        return None if status == 404 else "expected 404 (another store's object)"
    if call.expect == "refused":
        return None if 400 <= status < 500 else "expected a refusal (another store)"
    if call.expect == "allowed":
        if status == 401 or code == "role_forbidden" or (page and status == 403):
            return "refused a role inside the audience"
        if page and to_login:
            return "sent to login while logged in"
    return None


_keys = itertools.count(1)


def call_api(api, call: Call, matrix):
    username = CALLERS[call.caller][0]
    url, body = call.request(matrix)
    headers = {}
    if username is None:
        bound = api.anonymous
    elif call.op.endpoint == "auth.revoke_current_token":  # a throwaway token, not the caller's
        token = api.app.test_client().post("/api/v1/auth/tokens", json={"username": username, "password": PASSWORD})
        headers["Authorization"] = f"Bearer {token.get_json()['token']}"
        bound = api.anonymous
    else:
        bound = api.as_(username)
    if body is not None:
        headers["Idempotency-Key"] = f"matrix-{next(_keys)}"
    return bound._call(call.op.method.lower(), url, headers=headers, json=body)


def audit_events() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count(AuditEvent.seq))).scalar_one()


def flashes(browser, resp) -> list[str]:
    """The messages a redirect leads to (the page it lands on shows them once)."""
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', browser.get(resp.headers["Location"]).get_data(as_text=True))


def same_as_missing(browser, call: Call, resp) -> bool:
    """A page that answers every refusal by sending the caller back with a message (the agent's
    call page, and the forms) must answer another store's object exactly as an id that does not
    exist: the same place, the same message."""
    if resp.status_code != 302:
        return False
    said = flashes(browser, resp)
    twin = send_page(browser, call, MISSING)
    twin_said = flashes(browser, twin) if twin.status_code == 302 else None
    return (twin.status_code == 302 and twin_said == said and said != []
            and re.sub(r"\d+", "N", twin.headers["Location"]) == re.sub(r"\d+", "N", resp.headers["Location"]))


def run(calls: list[Call], do, matrix, *, page: bool, browsers=None, reads: bool = True) -> list[str]:
    """Refused calls first (they must write nothing), then the allowed ones."""
    problems, other_markers, own_seen = [], matrix["other"].markers + matrix["other"].staff, set()
    calls = sorted(calls, key=lambda c: c.expect in ("allowed", "public"))
    before, checked_writes = audit_events(), False
    for call in calls:
        if call.expect in ("allowed", "public") and not checked_writes:
            after = audit_events()
            if after != before:
                problems.append(f"refused calls wrote {after - before} audit event(s)")
            checked_writes = True
        resp = do(call)
        call.status, call.said = resp.status_code, body_text(resp)[:120]
        if CALLERS[call.caller][2] and 200 <= resp.status_code < 300:
            own_seen |= {m for m in matrix["own"].markers if m in body_text(resp)}
        wrong = judge(call, resp, other_markers, page=page)
        if wrong and page and call.expect == "not_found" and same_as_missing(browsers[call.caller], call, resp):
            wrong = None
        if wrong:
            problems.append(f"{call}: {wrong} ({body_text(resp)[:160]!r})")
    # the leak check can see: the same kind of text of the caller's own store does show
    if reads and own_seen != set(matrix["own"].markers):
        problems.append(f"store-bound callers never saw {set(matrix['own'].markers) - own_seen} of their own store")
    return problems


def api_calls(app, matrix) -> list[Call]:
    calls = []
    for op in api_operations(app):
        if op.method in WRITES:
            variants = [targets(op, body) for body in bodies_of(op, matrix["own"], 0)]
        else:  # plain; filtered by an object (own, or another store's: nothing found); per enum value
            variants = [targets(op, {})] + [["own", "other_object"]] * len(op.filters) + [["own"]] * len(op.enums)
        calls += [Call(caller, op, target, expectation(op, caller, target), variant)
                  for variant, found in enumerate(variants) for target in found for caller in CALLERS]
    return calls


@pytest.mark.rule("SEC-2")
def test_every_api_operation_refuses_every_role_and_store_it_must(app, api, world, matrix):
    calls = api_calls(app, matrix)
    problems = run(calls, lambda call: call_api(api, call, matrix), matrix, page=False)
    assert not problems, f"{len(problems)} of {len(calls)} calls went wrong:\n" + "\n".join(problems)
    if REPORT:
        print("\n".join(f"{c}  ({c.expect}) {c.said if c.status >= 300 else ''}" for c in calls))



@pytest.mark.rule("SEC-2")
def test_every_page_refuses_every_role_and_store_it_must(app, world, matrix):
    browsers = {}
    for caller, (username, _role, _bound) in CALLERS.items():
        browsers[caller] = Browser(app)
        if username:
            assert login(browsers[caller], username).status_code == 302
    calls = [Call(caller, op, target, expectation(op, caller, target))
             for op in page_operations(app) for target in targets(op, {}) for caller in CALLERS]

    def do(call):
        return send_page(browsers[call.caller], call, matrix, fresh=call.expect == "not_found")
    problems = run(calls, do, matrix, page=True, browsers=browsers)
    assert not problems, f"{len(problems)} of {len(calls)} pages went wrong:\n" + "\n".join(problems)
    if REPORT:
        print("\n".join(f"{c}  ({c.expect}) {c.said[:80] if c.status >= 300 else ''}" for c in calls))


def send_page(browser, call: Call, matrix, *, fresh: bool = False):
    """GET the page, or post its form, on the call's target (a StoreObjects, or the matrix)."""
    objects = matrix if isinstance(matrix, StoreObjects) else matrix[
        "other" if call.target == "other_object" else "own"]
    if fresh:  # show (and so drop) what earlier calls flashed, so only this call's message is compared
        browser.get("/")
    url = call.op.url(objects, 0)
    if call.op.method == "GET":
        return browser.get(url)
    return browser.post(url, data={"csrf_token": browser.csrf, **FORMS.get(call.op.endpoint, {})})


# What each form on an object posts: enough to pass the form, so the store check is what answers.
FORMS = {
    "referrals_web.review": {"decision": "accept"},
    "delivery_web.reopen": {"reason": "车型录入错误"},
    "delivery_web.check_delivery": {"licence_owner_name": "张甲", "licence_plate": "沪A12346", "licence_model": "速腾",
                                    "delivered_at": "2026-11-30T10:00", "vehicle_model": "高尔夫",
                                    "vehicle_colour": "红色", "vehicle_transmission": "manual"},
    "callbacks_web.settle_confirmation": {"decision": "verified", "reason": "亲自致电核对"},
    "callbacks_web.decide": {"decision": "correct"},
    "payouts_web.reject": {"reason": "不同意"},
    "payouts_web.mark_paid": {"method": "bank_transfer", "external_reference": "R1"},
}


def form_operations(app) -> list[Operation]:
    """Every form posted to an object of the web blueprints (the login and language forms name none)."""
    return sorted((Operation("POST", rule.rule, rule.endpoint, tuple(sorted(rule.arguments)))
                   for rule in app.url_map.iter_rules()
                   if not rule.rule.startswith("/api/") and "POST" in rule.methods and rule.arguments
                   and rule.endpoint != "web.set_language"), key=lambda op: op.template)


@pytest.mark.rule("SEC-2")
def test_every_form_on_an_object_refuses_every_role_and_store_it_must(app, world, matrix):
    """The forms call the same services as the API; this holds the pages' own handling to the same
    matrix: refused is 403 (role) or, for another store's object, what a missing id gets; and a
    refused form writes nothing."""
    browsers = {}
    for caller, (username, _role, _bound) in CALLERS.items():
        browsers[caller] = Browser(app)
        if username:
            assert login(browsers[caller], username).status_code == 302
        browsers[caller].csrf = csrf_of(browsers[caller], "/" if username else "/login")
    calls = [Call(caller, op, target, expectation(op, caller, target))
             for op in form_operations(app) for target in targets(op, {}) for caller in CALLERS]

    def do(call):
        return send_page(browsers[call.caller], call, matrix, fresh=call.expect == "not_found")
    problems = run(calls, do, matrix, page=True, browsers=browsers, reads=False)
    assert not problems, f"{len(problems)} of {len(calls)} forms went wrong:\n" + "\n".join(problems)
    if REPORT:
        print("\n".join(f"{c}  ({c.expect}) {c.said[:80] if c.status >= 300 else ''}" for c in calls))


# ---- the audiences, as reviewed ----------------------------------------------------------------
# The matrix takes each view's audience from its @allow(...), so a widened @allow would widen what
# the matrix expects too. This is the reviewed copy: widening or narrowing an audience fails here
# until the table is changed with it (and the change is reviewed). API and page twins agree.
REVIEWED_AUDIENCES = {
    ("public",): ["api-docs.openapi_json", "apidocs.docs", "auth.issue_token", "static", "web.login", "web.logout",
                  "web.set_language"],
    ("any",): ["auth.revoke_current_token", "directory.get_store", "directory.list_stores", "web.home"],
    ("admin",): ["audit.list_events", "audit.verify", "callbacks.create_question", "callbacks.list_questions",
                 "callbacks.update_question", "callbacks_web.questions", "callbacks_web.toggle_question",
                 "directory.create_staff", "directory.create_store", "directory.fact_history",
                 "directory.set_policy", "directory.update_staff", "directory.update_store", "web.staff_edit",
                 "web.staff_list", "web.staff_new", "web.store_edit", "web.store_new", "web.store_policy",
                 "web.stores", "catalog.create_item", "catalog.update_item", "catalog_web.catalog_page",
                 "catalog_web.catalog_edit", "catalog_web.catalog_toggle"],
    ("admin", "consultant", "manager"): [
        "directory.add_vehicle", "directory.create_customer", "directory.update_customer",
        "referrals.get_referral", "referrals.list_referrals", "delivery_web.referral", "referrals_web.mine"],
    ("admin", "consultant", "manager", "service"): [
        "directory.get_customer", "directory.list_customers", "web.customer", "web.customers"],
    ("admin", "manager", "service"): ["points.points", "points_web.statement"],
    ("admin", "service"): ["points.record_visit", "points.redeem", "points_web.record_visit", "points_web.redeem",
                           "catalog.list_items", "catalog.get_item"],
    ("consultant", "manager"): ["referrals.register", "referrals_web.register"],
    ("admin", "manager"): [
        "callbacks.confirmations_to_settle", "callbacks.decide", "callbacks.reviews", "callbacks.settle_confirmation",
        "callbacks.verification_record", "callbacks_web.decide", "callbacks_web.reviews",
        "callbacks_web.settle_confirmation", "callbacks_web.verification", "delivery.check_delivery",
        "delivery.import_deliveries", "delivery.list_deliveries", "delivery.preview_delivery",
        "delivery.record_delivery", "delivery.reopen", "delivery_web.check_delivery", "delivery_web.deliveries",
        "delivery_web.import_deliveries", "delivery_web.reopen", "directory.list_staff", "referrals.acknowledge",
        "referrals.review", "referrals_web.acknowledge", "referrals_web.queue", "referrals_web.review",
        # issue 17: rings and a referral's ring risk (never consultants: they must not learn what is watched)
        "rings.report", "rings.report_download", "rings.rings", "rings.rings_download", "rings.risk",
        "rings_web.report", "rings_web.report_download", "rings_web.rings", "rings_web.rings_download"],
    ("admin", "finance", "manager"): [
        "money_reports.liabilities", "money_reports.liabilities_download", "money_reports_web.liabilities",
        "money_reports_web.liabilities_download", "referral_reports.fraud", "referral_reports.fraud_download",
        "referral_reports.timeliness", "referral_reports.timeliness_download", "referral_reports_web.fraud",
        "referral_reports_web.fraud_download", "referral_reports_web.timeliness",
        "referral_reports_web.timeliness_download", "delivery.unwind_sale"],
    ("agent",): ["callbacks.answers", "callbacks.claim", "callbacks.unreachable", "callbacks_web.call",
                 "callbacks_web.calls", "callbacks_web.take_next", "callbacks_web.unreachable"],
    ("admin", "finance"): [
        "ledger.account_entries", "ledger.check", "ledger.create_adjustment", "ledger.get_account",
        "ledger.get_transfer", "ledger.list_accounts", "payouts.export_csv", "payouts.export_xlsx",
        "payouts.get_payout", "payouts.list_payouts", "payouts_web.export_csv", "payouts_web.export_xlsx",
        "payouts_web.queue", "payouts_web.detail",
        # issue 16: background exports (the requester's own, or an admin's)
        "payouts.request_export", "payouts.list_exports", "payouts.get_export", "payouts.export_file",
        "payouts_web.request_export", "payouts_web.export_status", "payouts_web.export_file"],
    ("finance",): ["payouts.approve", "payouts.mark_paid", "payouts.reject", "payouts_web.approve",
                   "payouts_web.mark_paid", "payouts_web.reject", "payouts_web.bulk_approve"],
}


@pytest.mark.rule("SEC-2")
def test_the_declared_audiences_are_the_reviewed_ones(app):
    reviewed = {endpoint: set(audience) for audience, endpoints in REVIEWED_AUDIENCES.items()
                for endpoint in endpoints}
    declared = {rule.endpoint: set(audience_of(rule.endpoint) or ()) for rule in app.url_map.iter_rules()}
    changed = {e: {"declared": sorted(declared.get(e, ())), "reviewed": sorted(reviewed.get(e, ()))}
               for e in set(declared) | set(reviewed) if declared.get(e) != reviewed.get(e)}
    assert changed == {}


REPORT = os.environ.get("MATRIX_REPORT")  # print the whole matrix (with -s)
