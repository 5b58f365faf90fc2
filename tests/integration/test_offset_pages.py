"""The referral list's OFFSET pages (the API's `page`, kept for old callers) through a deferred
join (issue 16): the page's ids are read with OFFSET from the list's order alone, then those rows
are loaded. Whatever the role, filter or page, the rows, their order and the exact total are the
plain OFFSET query's (db.paginate over the same query: the oracle) on the same data."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from loyalty.extensions import db
from verification.referrals import lists
from verification.referrals.models import Referral

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
WHO = ["admin", "manager", "manager_b", "consultant", "consultant_b"]
FILTERS = [{}, {"status": "rejected"}, {"store": "other"}, {"consultant": "consultant"}, {"q": "老客户1"},
           {"q": "9000"}, {"date_from": T0 + timedelta(minutes=1), "date_to": T0 + timedelta(minutes=3)}]


@pytest.fixture
def referrals(app, world, people):
    """23 referrals in two stores by three registrants, at four instants only (ties on time)."""
    rows = []
    for i in range(23):
        store, who = [(world.store, "consultant"), (world.store, "manager"), (world.other_store, "consultant_b")][i % 3]
        rows.append(Referral(store_id=store.id, referrer_id=people["zhang"].id, referee_id=people["li"].id,
                             registered_by_id=world.staff[who].id, status="rejected" if i % 4 == 0 else "verified",
                             claim_referrer_name=f"老客户{i}", claim_referrer_phone="+8613800138000",
                             claim_referrer_model="速腾", claim_referrer_colour="白色",
                             registered_at=T0 + timedelta(minutes=i % 4)))
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _filters(world, spec: dict) -> dict:
    out = {k: v for k, v in spec.items() if k not in ("store", "consultant")}
    if "store" in spec:
        out["store_id"] = world.other_store.id
    if "consultant" in spec:
        out["consultant_id"] = world.staff[spec["consultant"]].id
    return out


def oracle(actor, page: int, per_page: int, **filters) -> tuple[list[int], int]:
    """The plain OFFSET query (no deferred join): Flask-SQLAlchemy's paginate of the same query."""
    query = lists.referral_query(actor, **filters).order_by(Referral.registered_at.desc(), Referral.id.desc())
    found = db.paginate(query, page=page, per_page=per_page, max_per_page=None, error_out=False)
    return [r.id for r in found.items], found.total


@pytest.mark.rule("SEC-2")
def test_every_offset_page_is_the_plain_offset_s(app, world, referrals):
    for who in WHO:
        actor = world.staff[who]
        for spec in FILTERS:
            filters = _filters(world, spec)
            for per_page in (1, 4, 7):
                expected_total = oracle(actor, 1, per_page, **filters)[1]
                for page in range(1, expected_total // per_page + 3):  # and past the end
                    items, total, exact = lists.list_referrals(actor, page=page, per_page=per_page, **filters)
                    assert exact and ([r.id for r in items], total) == oracle(actor, page, per_page, **filters), \
                        (who, spec, per_page, page)


@pytest.mark.rule("SEC-2")
def test_a_manager_s_offset_pages_hold_only_his_store_s_referrals(app, api, world, referrals):
    mine = {r.id for r in db.session.query(Referral).filter(Referral.store_id == world.store.id)}
    seen = []
    for page in (1, 2, 3, 4):
        body = api.as_("manager").get("referrals", query_string={"page": page, "per_page": 5}).json
        assert body["total"] == len(mine) and body["total_exact"] is True and body["page"] == page
        seen += [r["id"] for r in body["items"]]
    assert sorted(seen) == sorted(mine) and len(seen) == len(set(seen))
    body = api.as_("admin").get("referrals", query_string={"page": 2, "per_page": 7}).json
    assert [r["id"] for r in body["items"]] == oracle(world.staff["admin"], 2, 7)[0]


def test_postgresql_skips_over_an_index_only_scan_of_ids(app, pg_only, world, people):
    """With 3,000 referrals the page's ids come from the list's (…, registered_at, id) index
    alone, for the group, a store, a registrant and a date range (a consultant's own list is his
    store's and his: the registrant's index, whose rows the heap confirms are the store's)."""
    from sqlalchemy import insert
    rows = [{"store_id": (world.store if i % 2 else world.other_store).id, "referrer_id": people["zhang"].id,
             "referee_id": people["li"].id, "registered_by_id": world.staff["consultant"].id, "status": "verified",
             "claim_referrer_name": "老客户", "claim_referrer_phone": "+8613800138000",
             "claim_referrer_model": "速腾", "claim_referrer_colour": "白色",
             "registered_at": T0 - timedelta(minutes=i), "updated_at": T0} for i in range(3000)]
    db.session.execute(insert(Referral), rows)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE referrals"))  # the visibility map a live table's autovacuum keeps
    order = (Referral.registered_at.desc(), Referral.id.desc())
    cases = [("admin", {}, "ix_referrals_registered_id"), ("manager", {}, "ix_referrals_store_registered_id"),
             ("admin", {"consultant_id": world.staff["consultant"].id}, "ix_referrals_registrant_registered_id"),
             ("admin", {"date_from": T0 - timedelta(days=1), "date_to": T0}, "ix_referrals_registered_id")]
    for who, filters, index in cases:
        ids = lists.referral_query(world.staff[who], **filters).order_by(*order).with_only_columns(Referral.id)
        sql = str(ids.offset(1000).limit(50).compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
        assert f"Index Only Scan Backward using {index}" in plan, (who, filters, plan)


def test_a_deep_page_counts_a_bounded_stretch_past_itself(app, world, referrals, monkeypatch):
    """Issue 16: an OFFSET page's total counts at most COUNT_BOUND rows past the page, so it costs
    its depth, not the whole list: exact when the list ends within them, else a lower bound."""
    from loyalty import paging
    admin = world.staff["admin"]
    everything = oracle(admin, 1, 1)[1]
    monkeypatch.setattr(paging, "COUNT_BOUND", 2)
    items, total, exact = lists.list_referrals(admin, page=1, per_page=3)
    assert [r.id for r in items] == oracle(admin, 1, 3)[0]
    assert (total, exact) == ((5, False) if everything > 5 else (everything, True))
    last = (everything - 1) // 3 + 1
    assert lists.list_referrals(admin, page=last, per_page=3)[1:] == (everything, True)
