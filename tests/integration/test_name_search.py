"""Customer search by name through the names' character index (issue 16, migration 0012n_name_grams).

A text search probes the ids of at most COUNT_BOUND + 1 matches (on PostgreSQL through
ix_customers_name_grams), then pages the plain `LIKE '%q%'` among them or in id order. Whatever
the path, the rows, their order, the paging and the store scope are those of the plain LIKE on
the same database: these tests compare the search with that LIKE, for both paths (the bound is
lowered to reach the many-matches path with a few rows)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from loyalty import clock, paging
from loyalty.directory import search
from loyalty.directory.models import Customer
from loyalty.extensions import db
from tests.helpers import new_customer

NAMES = ["王小明", "王明", "小明", "王", "李王", "王王", "王小·小明", "张三丰", "张三", "Tom王", "tom", "TOM Li",
         "A B", "100%满意", "王_五", "back\\slash", "a/b", "𠀀字", "欧阳娜娜"]
QUERIES = ["王", "明", "小", "王明", "小明", "王小", "王小明", "小明王", "王王", "王王王", "三丰", "张三丰", "欧阳娜娜",
           "欧阳娜娜娜", "Tom", "tom", "om王", "o", "A B", " B", "%", "_", "\\", "/", "a/", "王_", "%满", "𠀀", "𠀀字",
           "不在", "Zz"]


@pytest.fixture
def people(app, world):
    made = []
    for i, name in enumerate(NAMES):
        store = world.store if i % 3 else world.other_store
        made.append(new_customer(store.id, name, f"1380000{i:04d}"))
    return made


def like_ids(q: str, store_ids=None) -> list[int]:
    """The plain LIKE's answer on this database, in id order, for `q` as the search takes it (stripped)."""
    query = select(Customer.id).where(Customer.name.contains(q.strip(), autoescape=True)).order_by(Customer.id)
    if store_ids is not None:
        query = query.where(Customer.store_id.in_(store_ids))
    return list(db.session.execute(query).scalars())


def api_ids(api, who: str, q: str, per_page: int = 2, **params) -> list[int]:
    """Every page of GET /customers?q=, cursor after cursor."""
    ids, cursor = [], None
    while True:
        query = {"q": q, "per_page": per_page, **params, **({"cursor": cursor} if cursor else {})}
        resp = api.as_(who).get("customers", query_string=query)
        assert resp.status_code == 200, resp.json
        ids += [c["id"] for c in resp.json["items"]]
        cursor = resp.json["next"]
        if not cursor:
            return ids


@pytest.mark.parametrize("bound", [1000, 1], ids=["few-matches", "many-matches"])
def test_every_query_finds_what_the_plain_like_finds(api, people, monkeypatch, bound):
    monkeypatch.setattr(paging, "COUNT_BOUND", bound)
    for q in QUERIES:
        assert api_ids(api, "admin", q) == like_ids(q), q


def test_the_like_itself_matches_as_typed(app, people):
    """What the comparison stands on: the LIKE matches a name holding q, `%` `_` `\\` as themselves;
    a pair of q's characters apart in a name is no match (王小·小明 holds 王小 and 小明, not 王小明)."""
    by_id = {c.id: c.name for c in people}
    assert {by_id[i] for i in like_ids("王小明")} == {"王小明"}
    assert {by_id[i] for i in like_ids("%")} == {"100%满意"}
    assert {by_id[i] for i in like_ids("\\")} == {"back\\slash"}
    assert {by_id[i] for i in like_ids("王王")} == {"王王"}
    for q in QUERIES:
        q = q.strip()
        expected = {n for n in NAMES if q in n or (db.engine.dialect.name == "sqlite" and q.isascii()
                                                     and q.lower() in n.lower())}
        assert {by_id[i] for i in like_ids(q)} == expected, q


@pytest.mark.rule("SEC-2")
@pytest.mark.parametrize("bound", [1000, 1], ids=["few-matches", "many-matches"])
def test_a_store_manager_finds_only_his_stores_customers(api, world, people, monkeypatch, bound):
    monkeypatch.setattr(paging, "COUNT_BOUND", bound)
    for q in ("王", "明", "王明", "张三丰", "tom"):
        assert api_ids(api, "manager", q) == like_ids(q, [world.store.id]), q
        assert api_ids(api, "manager_b", q) == like_ids(q, [world.other_store.id]), q
        assert api_ids(api, "admin", q, store_id=world.other_store.id) == like_ids(q, [world.other_store.id]), q


def test_the_total_is_exact_when_the_probe_found_them_all(api, people):
    for q in QUERIES:
        body = api.as_("admin").get("customers", query_string={"q": q}).json
        assert (body["total"], body["total_exact"]) == (len(like_ids(q)), True), q


def test_past_the_bound_the_total_is_the_bound(api, people, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_BOUND", 2)
    assert len(like_ids("王")) > 2
    body = api.as_("admin").get("customers", query_string={"q": "王"}).json
    assert (body["total"], body["total_exact"]) == (2, False)
    body = api.as_("admin").get("customers", query_string={"q": "王明"}).json
    assert (body["total"], body["total_exact"]) == (len(like_ids("王明")), True)


def test_an_offset_page_and_its_total_are_the_like_s(api, people, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_BOUND", 1)
    expected = like_ids("王")
    body = api.as_("admin").get("customers", query_string={"q": "王", "page": 2, "per_page": 3}).json
    assert [c["id"] for c in body["items"]] == expected[3:6]
    assert body["total"] == len(expected)


@pytest.mark.parametrize("q", ["", "   ", "\t"])
def test_an_empty_search_lists_every_customer(api, people, q):
    assert api_ids(api, "admin", q, per_page=50) == like_ids("")


def test_a_search_longer_than_a_name_is_a_field_error(api, people):
    assert api_ids(api, "admin", "王" * 60) == []
    resp = api.as_("admin").get("customers", query_string={"q": "王" * 61})
    assert resp.status_code == 422
    assert "q" in resp.json["fields"]


def test_the_search_page_finds_as_the_api_does(app, people, monkeypatch):
    from tests.web import Browser, login
    monkeypatch.setattr(paging, "COUNT_BOUND", 1)
    browser = Browser(app)
    login(browser, "admin")
    html = browser.get("/customers", query_string={"q": "王明"}).get_data(as_text=True)
    shown = {n for n in NAMES if f">{n}</a>" in html}
    assert shown == {"王明"}


def test_python_and_sql_grams_agree_on_what_a_query_needs():
    assert search.name_grams("王") == ["王"]
    assert search.name_grams("王小明") == ["小明", "王小"]
    assert search.name_grams("王王王") == ["王王"]
    assert search.name_grams("𠀀字") == ["𠀀字"]


names_ = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names_, start=st.integers(0, 11), length=st.integers(1, 12), other=names_)
def test_a_name_s_grams_hold_every_part_of_it(app, pg_only, name, start, length, other):
    """PostgreSQL's name_grams(name) holds the grams Python asks for of any part of the name (no
    name is missed), and the index condition with its LIKE is the LIKE for any other text."""
    part = name[start:start + length] or name
    row = db.session.execute(text("SELECT name_grams(:n) @> CAST(:g AS text[]), "
                                  "(name_grams(:n) @> CAST(:o AS text[])) AND :n LIKE '%' || :e || '%' ESCAPE '/', "
                                  ":n LIKE '%' || :e || '%' ESCAPE '/'"),
                             {"n": name, "g": search.name_grams(part), "o": search.name_grams(other),
                              "e": other.replace("/", "//").replace("%", "/%").replace("_", "/_")}).one()
    assert row[0] is True
    assert row[1] == row[2]


def test_postgresql_reads_the_grams_index_for_a_short_name(api, pg_only, world, monkeypatch):
    """With a realistic table (2,000 customers, 王 in one in ten) the probe of a 1-, 2- and
    3-character search is read from ix_customers_store_name_grams, not by scanning customers; a
    common surname skips the probe (the statistics say so) and finds the same rows."""
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英"
    rows = [{"store_id": world.store.id, "name": surnames[i % 10] + given[(i // 10) % len(given)] + given[(i // 7) % len(given)],
             "phone": f"+86139{i:08d}", "created_at": clock.now()} for i in range(2000)]
    db.session.execute(insert(Customer), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))
    # the rows as a table of that size holds them: out of GIN's pending list (a bulk insert's rows
    # wait there for VACUUM or the list's 4 MB limit, and the planner counts reading it whole)
    db.session.execute(text("SELECT gin_clean_pending_list('ix_customers_store_name_grams')"))
    for q in ("王伟", "伟", "王伟芳"):
        probe = search.customers_query(world.staff["admin"], q=q, indexed=True).with_only_columns(Customer.id).limit(1001)
        sql = str(probe.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.execute(text("EXPLAIN " + sql.replace("%%", "%"))).scalars())
        assert "ix_customers_store_name_grams" in plan, (q, plan)
        expected = db.session.execute(select(func.count()).where(Customer.name.contains(q))).scalar_one()
        assert len(db.session.execute(probe).all()) == min(expected, 1001), q
    assert not search.common_name("王")  # 200 customers: the probe lists them at once
    monkeypatch.setattr(search, "COMMON_ROWS", 100)
    assert search.common_name("王") and not search.common_name("王伟") and not search.common_name("王伟芳")
    for q in ("王", "王伟"):
        body = api.as_("admin").get("customers", query_string={"q": q, "per_page": 500}).json
        assert [c["id"] for c in body["items"]] == like_ids(q), q
        assert (body["total"], body["total_exact"]) == (len(like_ids(q)), True), q


@pytest.mark.rule("SEC-2")
def test_a_store_s_manager_finds_a_name_common_elsewhere_from_his_store_s_index_entries(api, pg_only, world, monkeypatch):
    """A surname common in the group (the statistics say so) but absent from the manager's store:
    his probe reads ix_customers_store_name_grams by (store, grams) and finds nothing at once,
    where the group's walk in id order would read his whole store; the rows are the LIKE's."""
    surnames = "王李张刘陈杨黄赵吴周"
    rows = [{"store_id": (world.other_store if i % 10 == 0 else world.store).id, "name": surnames[i % 10] + "明",
             "phone": f"+86139{i:08d}", "created_at": clock.now()} for i in range(2000)]
    db.session.execute(insert(Customer), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))
    db.session.execute(text("SELECT gin_clean_pending_list('ix_customers_store_name_grams')"))
    monkeypatch.setattr(search, "COMMON_ROWS", 100)
    assert search.common_name("王")
    manager = world.staff["manager"]
    probe = search.customers_query(manager, q="王", indexed=True).with_only_columns(Customer.id).limit(1001)
    sql = str(probe.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql.replace("%%", "%"))).scalars())
    assert "ix_customers_store_name_grams" in plan and "store_id = " in plan, plan
    assert search.found(manager, q="王")[1] == (0, True)  # the probe's count, not the walk's
    assert search.found(world.staff["admin"], q="王")[1] is None  # the group's search walks (common)
    for who, store in (("manager", world.store), ("manager_b", world.other_store)):
        body = api.as_(who).get("customers", query_string={"q": "王", "per_page": 500}).json
        assert [c["id"] for c in body["items"]] == like_ids("王", [store.id]), who
        assert (body["total"], body["total_exact"]) == (len(like_ids("王", [store.id])), True)
