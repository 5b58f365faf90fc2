"""Customer search by a phone's last 4 digits (issue 16, migration 0012t_phone_tails).

On PostgreSQL a 4-digit search reads the tail matches in id order from ix_customers_phone_tail and
the few others (names holding the digits; for admins, phones holding them elsewhere) through a
bounded probe (loyalty.directory.tails); SQLite keeps the plain LIKEs. Whatever the path, the rows,
their order, every next and previous page, the store scope and the total are those of the plain
query (search.customers_query, the unoptimised search) on the same data: these tests compare the
two, with the bound lowered so a few rows reach the "1,000+" path."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from loyalty.directory import search, tails
from loyalty.directory.models import Customer
from loyalty.extensions import db
from tests.helpers import new_customer

# (store: 0 = SH01, 1 = SH02, name, phone as typed): tails 8000 and 1234 in both stores, a short
# number ending 8000 (its mask hides the tail), 8000 inside numbers and inside names.
PEOPLE = [(0, "张三", "13800138000"), (1, "李四", "13900138000"), (0, "王五", "13700008000"),
          (0, "赵六", "13612348000"), (1, "钱七", "13580001234"), (0, "孙八", "13512341234"),
          (1, "周九", "+85298000123"), (0, "吴十", "+85268008000"), (0, "郑一", "+6591238000"),
          (1, "客户8000号", "13311112222"), (0, "8000", "13322223333"), (1, "冯二", "13480004321"),
          (0, "陈三", "13100018000"), (1, "褚四", "13200028000"), (0, "卫五", "13300038000"),
          (1, "蒋六", "15000048000"), (0, "沈七", "15100058000"), (1, "韩八", "15200061234")]
QUERIES = ["8000", "1234", "0001", "9999", "0012", "2222"]
WHO = ["admin", "manager", "manager_b", "consultant"]


@pytest.fixture
def people(app, world):
    stores = (world.store, world.other_store)
    return [new_customer(stores[s].id, name, phone) for s, name, phone in PEOPLE]


def plain_ids(world, who: str, q: str, **filters) -> list[int]:
    """The unoptimised search's answer: the plain query, in id order."""
    query = search.customers_query(world.staff[who], q=q, **filters).with_only_columns(Customer.id)
    return list(db.session.execute(query.order_by(Customer.id)).scalars())


def pages(api, who: str, q: str, per_page: int, **params) -> tuple[list[list[int]], list[dict]]:
    """Every page of GET /customers?q=, cursor after cursor, and the bodies."""
    ids, bodies, cursor = [], [], None
    while True:
        query = {"q": q, "per_page": per_page, **params, **({"cursor": cursor} if cursor else {})}
        resp = api.as_(who).get("customers", query_string=query)
        assert resp.status_code == 200, resp.json
        ids.append([c["id"] for c in resp.json["items"]])
        bodies.append(resp.json)
        cursor = resp.json["next"]
        if not cursor:
            return ids, bodies


def back(api, who: str, q: str, body: dict, per_page: int) -> list[list[int]]:
    """The pages before `body`, `prev` after `prev`, nearest first."""
    out = []
    while body["prev"]:
        body = api.as_(who).get("customers", query_string={"q": q, "per_page": per_page, "cursor": body["prev"]}).json
        out.append([c["id"] for c in body["items"]])
    return out


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("bound", [1000, 3, 1], ids=["all-found", "bound-3", "bound-1"])
def test_every_page_is_the_plain_search_s(api, world, people, monkeypatch, bound):
    monkeypatch.setattr(tails, "COUNT_BOUND", bound)
    for who in WHO:
        for q in QUERIES:
            expected = plain_ids(world, who, q)
            for per_page in (1, 2, 5):
                got, bodies = pages(api, who, q, per_page)
                assert sum(got, []) == expected, (who, q, per_page)
                assert [len(p) for p in got[:-1]] == [per_page] * (len(got) - 1)
                assert sum(back(api, who, q, bodies[-1], per_page)[::-1], []) == expected[:len(expected) - len(got[-1])]


@pytest.mark.rule("SEC-3")
def test_what_each_role_finds_by_a_tail(app, world, people):
    """The oracle itself: a masked viewer finds phones whose mask shows the tail, an admin any part."""
    by_id = {c.id: (c.name, c.phone) for c in people}
    admin = {by_id[i][0] for i in plain_ids(world, "admin", "8000")}
    manager = {by_id[i][0] for i in plain_ids(world, "manager", "8000")}
    assert {"周九", "冯二", "郑一", "客户8000号", "8000"} <= admin  # inside numbers, a short one, in names
    assert manager == {"张三", "王五", "赵六", "吴十", "8000", "陈三", "卫五", "沈七"}  # SH01, mask shows 8000


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("bound", [1000, 1], ids=["all-found", "bound-1"])
def test_a_manager_never_finds_another_store_s_customer(api, world, people, monkeypatch, bound):
    monkeypatch.setattr(tails, "COUNT_BOUND", bound)
    mine = {c.id for c in people if c.store_id == world.store.id}
    for q in QUERIES:
        got = sum(pages(api, "manager", q, 2)[0], [])
        assert set(got) <= mine, q
        assert got == plain_ids(world, "manager", q)
        assert sum(pages(api, "admin", q, 2, store_id=world.store.id)[0], []) == \
            plain_ids(world, "admin", q, store_id=world.store.id)


@pytest.mark.parametrize("bound", [1000, 3], ids=["all-found", "bound-3"])
def test_the_total_is_exact_up_to_the_bound_then_the_bound(api, world, people, monkeypatch, bound):
    monkeypatch.setattr(tails, "COUNT_BOUND", bound)
    for who in WHO:
        for q in QUERIES:
            n = len(plain_ids(world, who, q))
            body = api.as_(who).get("customers", query_string={"q": q, "per_page": 2}).json
            total = (body["total"], body["total_exact"])
            assert total == (n, True) or (total == (bound, False) and n > bound), (who, q, total, n)
    body = api.as_("manager").get("customers", query_string={"q": "8000", "per_page": 2}).json
    n = len(plain_ids(world, "manager", "8000"))
    bounded = db.engine.dialect.name == "postgresql" and n > bound
    assert (body["total"], body["total_exact"]) == ((bound, False) if bounded else (n, True))


def test_an_offset_page_and_its_total_are_the_plain_search_s(api, world, people, monkeypatch):
    monkeypatch.setattr(tails, "COUNT_BOUND", 1)
    for who in ("admin", "manager"):
        expected = plain_ids(world, who, "8000")
        body = api.as_(who).get("customers", query_string={"q": "8000", "page": 2, "per_page": 2}).json
        assert [c["id"] for c in body["items"]] == expected[2:4]
        assert (body["total"], body["total_exact"]) == (len(expected), True)


def test_many_others_count_as_the_bound_and_page_as_the_plain_search(api, world, people, monkeypatch):
    """More than the bound of admin matches that are not tails (names, digits inside numbers):
    the count is the bound at once; the pages are the plain query's rows."""
    monkeypatch.setattr(tails, "COUNT_BOUND", 1)
    body = api.as_("admin").get("customers", query_string={"q": "8000"}).json
    n = len(plain_ids(world, "admin", "8000"))
    assert (body["total"], body["total_exact"]) == ((1, False) if db.engine.dialect.name == "postgresql" else (n, True))
    got, _ = pages(api, "admin", "8000", 2)
    assert sum(got, []) == plain_ids(world, "admin", "8000")


def test_the_search_page_shows_a_bounded_total_as_names_do(app, world, people, monkeypatch):
    from tests.web import Browser, login
    monkeypatch.setattr(tails, "COUNT_BOUND", 2)
    browser = Browser(app)
    login(browser, "manager")  # 7 tails past the bound
    html = browser.get("/customers", query_string={"q": "8000"}).get_data(as_text=True)
    assert ("超过 2 条" in html) == (db.engine.dialect.name == "postgresql")  # "More than 2 found", as for names


phones_ = st.text("0123456789", min_size=0, max_size=15).map(lambda d: "+" + d)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phone=phones_, start=st.integers(0, 14), q=st.text("0123456789", min_size=4, max_size=4))
def test_tail_or_inner_quads_is_the_like(app, pg_only, phone, start, q):
    """right(phone, 4) = q OR phone_inner_quads(phone) @> {q} is `phone LIKE '%q%'`, for q taken
    from the phone (every position) and for any other 4 digits."""
    for digits in {q, phone[1 + start:5 + start]}:
        if len(digits) != 4:
            continue
        row = db.session.execute(text("SELECT right(:p, 4) = :q OR phone_inner_quads(:p) @> ARRAY[:q], "
                                      ":p LIKE '%' || :q || '%'"), {"p": phone, "q": digits}).one()
        assert row[0] == row[1], (phone, digits)


def test_postgresql_reads_the_tail_from_its_indexes(app, pg_only, world):
    """With 5,000 customers the tail probe is an index range in id order, and an admin's inner
    digits come from the quads index: no scan of customers."""
    from sqlalchemy import insert

    from loyalty import clock
    db.session.execute(insert(Customer), [{"store_id": world.store.id, "name": f"客{i}", "phone": f"+86139{i:08d}",
                                           "created_at": clock.now()} for i in range(5000)])
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))
    db.session.execute(text("SELECT gin_clean_pending_list('ix_customers_phone_inner_quads')"))  # as test_name_search
    for who, full, tail_index in (("admin", True, "ix_customers_phone_tail"),
                                  ("manager", False, "ix_customers_store_phone_tail")):
        base = search.customers_query(world.staff[who])
        for query, index in ((base.where(tails.tail_match("1234", full)).with_only_columns(Customer.id)
                              .order_by(Customer.id).limit(1001), tail_index),
                             (base.where(tails.inner_match("1234")).with_only_columns(Customer.id).limit(1001),
                              "ix_customers_phone_inner_quads")):
            sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(db.session.execute(text("EXPLAIN " + sql.replace("%%", "%"))).scalars())
            assert index in plan and "Seq Scan" not in plan, (who, plan)


@pytest.mark.parametrize("common", [True, False], ids=["common-inside", "rare-inside"])
def test_digits_inside_many_numbers_page_as_the_plain_search(api, pg_only, world, monkeypatch, common):
    """2,000 numbers holding 1990 inside (+86199 0…): more than the bound of others. Common by the
    statistics, the page is the plain walk's; counted rare (share bound raised), the page's others
    come from the quads index sorted. Either way every page is the plain search's."""
    from sqlalchemy import insert

    from loyalty import clock
    db.session.execute(insert(Customer), [{"store_id": world.store.id, "name": f"客{i}", "phone": f"+86199{i:08d}",
                                           "created_at": clock.now()} for i in range(2000)])
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))
    if not common:
        monkeypatch.setattr(tails, "COMMON_SHARE", 1.0)
    assert tails._common("1990") is common
    expected = plain_ids(world, "admin", "1990")
    got, bodies = pages(api, "admin", "1990", 400)
    assert sum(got, []) == expected and len(expected) == 2000
    assert (bodies[0]["total"], bodies[0]["total_exact"]) == (1000, False)
    assert sum(back(api, "admin", "1990", bodies[-1], 400)[::-1], []) == expected[:len(expected) - len(got[-1])]
