"""A referral list searched by `q` (verification.referrals.lists.searched, issue 16): a probe of the
names', phones' and plates' indexes finds at most COUNT_BOUND + 1 matches; when they are all, the
list is read among them, else the plain query is walked and the count is "bound+". Whatever the
bound, role, search or page, the rows and their order are the plain search's (referral_query with
`q`, every row tested: the oracle), and the count is exact when the matches are within the bound."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from loyalty import paging
from loyalty.directory import search
from loyalty.directory import service as directory
from loyalty.extensions import db
from tests.helpers import new_customer, plan_of_the_probe
from verification.referrals import lists
from verification.referrals.models import Referral

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
# (store 0 = world.store, 1 = other_store; name; phone; plate or None)
REFEREES = [(0, "王小明", "13911119000", "沪B12345"), (0, "王小红", "13922229000", None),
            (0, "李四", "13933330001", "沪C 54321"), (1, "王大", "13944449000", "沪B12345"),
            (1, "赵六", "13955550002", None)]
CLAIMS = ["老张", "王老五", "李四", "老张三"]
SEARCHES = ["王", "王小", "李四", "老张", "9000", "13911119000", "沪b12345", "沪C54321", "无此人"]


@pytest.fixture
def listed(app, world):
    """30 referrals over the referees above, registered in each one's store by three registrants at
    five instants (ties on time), with the claimed names above."""
    stores = (world.store, world.other_store)
    made = []
    for store, name, phone, plate in REFEREES:
        customer = new_customer(stores[store].id, name, phone)
        if plate:
            directory.add_vehicle(None, customer.id, model="速腾", colour="白色", transmission="automatic",
                                  plate=plate, desk="import")
        made.append((stores[store], customer))
    referrer = new_customer(world.store.id, "推荐人", "13966660003")
    for i in range(30):
        store, referee = made[i % len(made)]
        who = ("consultant", "manager")[i % 2] if store is world.store else "consultant_b"
        db.session.add(Referral(store_id=store.id, referrer_id=referrer.id, referee_id=referee.id,
                                registered_by_id=world.staff[who].id, status="verified",
                                claim_referrer_name=CLAIMS[i % len(CLAIMS)], claim_referrer_phone="+8613800138000",
                                claim_referrer_model="速腾", claim_referrer_colour="白色",
                                registered_at=T0 + timedelta(minutes=i % 5)))
    db.session.commit()


ORDER = (Referral.registered_at.desc(), Referral.id.desc())


def oracle(actor, q: str) -> list[int]:
    query = lists.referral_query(actor, q=q).with_only_columns(Referral.id).order_by(*ORDER)
    return list(db.session.execute(query).scalars())


def cursor_pages(actor, q: str, per_page: int) -> tuple[list[int], tuple[int, bool]]:
    ids, cursor, first = [], None, None
    while True:
        page = lists.referral_page(actor, q=q, cursor=cursor, per_page=per_page)
        first = first or (page.count, page.count_exact)
        ids += [r.id for r in page.items]
        if not page.next:
            return ids, first
        cursor = page.next


@pytest.mark.rule("SEC-5")
@pytest.mark.parametrize("bound", [1, 4, 1000])
def test_a_searched_list_is_the_plain_search_s_whatever_the_bound(app, world, listed, monkeypatch, bound):
    monkeypatch.setattr(paging, "COUNT_BOUND", bound)
    found_any = set()
    for who in ("admin", "manager", "consultant", "consultant_b"):
        actor = world.staff[who]
        for q in SEARCHES:
            want = oracle(actor, q)
            found_any.add((who, q)) if want else None
            ids, count = cursor_pages(actor, q, per_page=3)
            assert ids == want, (who, q, bound)
            assert count == ((len(want), True) if len(want) <= bound else (bound, False)), (who, q, bound)
            for number in range(1, len(want) // 4 + 3):  # and past the end
                items, total, exact = lists.list_referrals(actor, q=q, page=number, per_page=4)
                assert [r.id for r in items] == want[(number - 1) * 4:number * 4], (who, q, bound, number)
                # exact within the probe's bound; past it, counted up to `bound` rows past the page (deep_page)
                counted = len(want) if len(want) <= bound else min(len(want), number * 4 + bound)
                assert (total, exact) == (counted, counted == len(want)), (who, q, bound, number)
    # the oracle is not empty where it must not be: names of new customers and of claimed referrers,
    # phone tails, whole phones and plates (managers and admins only: SEC-5), in the searcher's scope
    for case in [("admin", "王"), ("admin", "老张"), ("manager", "李四"), ("admin", "9000"),
                 ("manager", "13911119000"), ("manager", "沪b12345"), ("admin", "沪C54321"), ("consultant_b", "王")]:
        assert case in found_any, case
    for case in [("consultant", "沪b12345"), ("consultant", "沪C54321"), ("manager", "无此人")]:
        assert case not in found_any, case


def test_the_probe_reads_the_claimed_names_through_their_index(app, pg_only, world, listed):
    """On PostgreSQL the claims' probe is an index read of ix_referrals_store_claim_name_grams
    (migration 0015c): the index is on the very expression the probe compares. Among 30,000
    referrals of the store, scans off, so the plan shows what the form allows."""
    db.session.execute(text(
        "INSERT INTO referrals (store_id, referrer_id, referee_id, registered_by_id, status, claim_referrer_name, "
        "claim_referrer_phone, claim_referrer_model, claim_referrer_colour, registered_at, updated_at) "
        "SELECT store_id, referrer_id, referee_id, registered_by_id, status, '客' || n, claim_referrer_phone, "
        "claim_referrer_model, claim_referrer_colour, registered_at, updated_at "
        "FROM referrals, generate_series(1, 1000) AS n WHERE store_id = :store"), {"store": world.store.id})
    db.session.commit()
    db.session.execute(text("ANALYZE referrals"))
    plan = plan_of_the_probe(lambda: lists.referral_page(world.staff["manager"], q="老张"), "name_grams(referrals.claim_referrer_name)")
    assert "ix_referrals_store_claim_name_grams" in plan, plan


def test_a_walked_search_reads_the_list_in_order_and_stops_at_the_page(app, pg_only, world, listed):
    """Many matches (more than the probe's bound): the page walks the list newest first and looks
    each new customer up as it reads the row, whatever PostgreSQL guesses of the LIKEs' selectivity.
    As a join (or an EXISTS it could hash) it read every referral and sorted them: 1.1-1.8 s at 1M."""
    db.session.execute(text(
        "INSERT INTO referrals (store_id, referrer_id, referee_id, registered_by_id, status, claim_referrer_name, "
        "claim_referrer_phone, claim_referrer_model, claim_referrer_colour, registered_at, updated_at) "
        "SELECT store_id, referrer_id, referee_id, registered_by_id, status, claim_referrer_name, claim_referrer_phone, "
        "claim_referrer_model, claim_referrer_colour, registered_at - n * interval '1 minute', updated_at "
        "FROM referrals, generate_series(1, 1000) AS n"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    query = paging.after(lists.referral_query(world.staff["admin"], q="9000"), lists.ORDER, None).limit(51)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
    outer = plan.split("SubPlan")[0]  # the plan down to the first referral it reads
    assert "Index Scan Backward using ix_referrals_registered_id on referrals" in outer, plan
    assert not any(node in outer for node in ("Sort", "Hash", "Merge", "Seq Scan on referrals")), plan
    # the new customer is looked up per row read (a correlated SubPlan in the walk's filter), not joined
    # or hashed: what keeps the walk whatever the estimates (this small table's estimates allow a join)
    assert re.search(r"Filter: \(\(SubPlan \d+\) OR", plan) and "hashed SubPlan" not in plan, plan


@pytest.mark.rule("SEC-5")
@pytest.mark.parametrize("stored, typed", [("沪A-12347", "沪A-12347"), ("沪A-12347", "沪a 12347"),
                                           ("沪A.12346", "沪A12346"), ("沪A·12345", "沪A-12345"),
                                           ("粤Z1234港", "粤Z1234港"), ("京A1234学", "京a1234学")])
def test_a_plate_is_found_however_its_separators_were_typed(app, world, stored, typed):
    """A plate stored with a separator ('·', '.', '-') or a suffix (港, 学) is found by the whole plate,
    typed with or without separators, in any case: by a manager in the referral list, by the service
    desk among customers (the same key in Python and in SQL, migration 0017k); never by a consultant."""
    referee = new_customer(world.store.id, "某人", "13911112222")
    directory.add_vehicle(None, referee.id, model="速腾", colour="白色", transmission="automatic", plate=stored,
                          desk="import")
    referrer = new_customer(world.store.id, "推荐人", "13966660003")
    db.session.add(Referral(store_id=world.store.id, referrer_id=referrer.id, referee_id=referee.id,
                            registered_by_id=world.staff["consultant"].id, status="verified",
                            claim_referrer_name="老张", claim_referrer_phone="+8613800138000",
                            claim_referrer_model="速腾", claim_referrer_colour="白色", registered_at=T0))
    db.session.commit()
    assert [r.referee_id for r in lists.referral_page(world.staff["manager"], q=typed).items] == [referee.id]
    assert [c.id for c in search.customer_page(world.staff["service"], q=typed).items] == [referee.id]
    assert lists.referral_page(world.staff["consultant"], q=typed).items == []
