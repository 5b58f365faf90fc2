"""The finance queue searched by `q` (loyalty.payouts.service._searched, issue 16): a probe reads the
payees' names (migration 0016p's index) and the reference numbers; when it finds at most
COUNT_BOUND matches the queue is read among them, else walked. Whatever the bound, searcher, search
or page, the rows and their order are the plain search's (every payout tested: the oracle)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from loyalty import paging
from loyalty.directory import search
from loyalty.extensions import db
from loyalty.payouts import service as payouts
from loyalty.payouts.models import Payout
from tests.helpers import plan_of_the_probe
from tests.web import Browser, login

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PAYEES = ["王小明", "王小红", "李四", "收款人12", "赵六"]
SEARCHES = ["王", "王小", "李四", "12", "1234", "收款人", "无此人"]


@pytest.fixture
def queue(app, world):
    """25 payouts in two stores, requested at four instants only (ties on time); references 0-24
    and 1234."""
    rows = [Payout(subject=f"test:{i}", label="Referral", reference=1234 if i == 24 else i,
                   store_id=(world.store if i % 3 else world.other_store).id, payee=f"customer:{i}",
                   payee_name=PAYEES[i % len(PAYEES)], unit="CNY", gross_amount=50000, offset_amount=0,
                   status="awaiting_approval", approvals_required=1, blocked_approver_ids=[], evidence={},
                   evidence_rows=[], reason="测试", requested_at=T0 + timedelta(minutes=i % 4))
            for i in range(25)]
    db.session.add_all(rows)
    db.session.commit()


def oracle(actor, q: str, **filters) -> list[int]:
    query = payouts._filtered(actor, q=q, **filters).with_only_columns(Payout.id)
    return list(db.session.execute(query.order_by(Payout.requested_at, Payout.id)).scalars())


def walked(actor, q: str, **filters) -> tuple[list[int], tuple[int, bool]]:
    ids, cursor, first = [], None, None
    while True:
        page = payouts.payout_page(actor, q=q, cursor=cursor, per_page=3, **filters)
        first = first or (page.count, page.count_exact)
        ids += [p.id for p in page.items]
        if not page.next:
            return ids, first
        cursor = page.next


@pytest.mark.parametrize("bound", [1, 4, 1000])
def test_a_searched_queue_is_the_plain_search_s_whatever_the_bound(app, world, queue, monkeypatch, bound):
    monkeypatch.setattr(paging, "COUNT_BOUND", bound)
    for who, filters in [("finance", {}), ("admin", {}), ("finance", {"store_id": world.other_store.id})]:
        actor = world.staff[who]
        for q in SEARCHES:
            want = oracle(actor, q, **filters)
            ids, count = walked(actor, q, **filters)
            assert ids == want and count == ((len(want), True) if len(want) <= bound else (bound, False)), \
                (who, filters, q, bound)
            for number in (1, 2, 9):
                items, total = payouts.list_payouts(actor, q=q, page=number, per_page=4, **filters)
                assert ([p.id for p in items], total) == (want[(number - 1) * 4:number * 4], len(want)), (who, q)
    assert len(oracle(world.staff["admin"], "王")) == 10 and len(oracle(world.staff["admin"], "12")) == 6  # 5 names, 1 reference
    assert oracle(world.staff["finance"], "1234") and not oracle(world.staff["finance"], "无此人")


def test_a_name_common_in_the_group_is_walked_with_a_bounded_count(app, world, queue, monkeypatch):
    monkeypatch.setattr(search, "common_name", lambda q, *a: True)
    monkeypatch.setattr(paging, "COUNT_BOUND", 4)
    finance = world.staff["finance"]
    assert walked(finance, "王") == (oracle(finance, "王"), (4, False))
    # a store asked for: its own index entries answer, so the probe runs (an exact count)
    theirs = oracle(finance, "王", store_id=world.other_store.id)
    assert walked(finance, "王", store_id=world.other_store.id) == (theirs, (len(theirs), True)) and theirs


def test_the_probe_reads_the_payees_names_through_their_index(app, pg_only, world, queue):
    """On PostgreSQL the probe reads ix_payouts_store_payee_name_grams (migration 0016p): the index
    is on the very expression the probe compares. Among 25,000 payouts, scans off, so the plan
    shows what the form allows."""
    db.session.execute(text(
        "INSERT INTO payouts (subject, label, reference, store_id, payee, payee_name, unit, gross_amount, "
        "offset_amount, status, approvals_required, blocked_approver_ids, evidence, evidence_rows, reason, "
        "requested_at, updated_at) SELECT subject || ':' || n, label, reference, store_id, payee, '客' || n, unit, gross_amount, "
        "offset_amount, status, approvals_required, blocked_approver_ids, evidence, evidence_rows, reason, "
        "requested_at, updated_at FROM payouts, generate_series(1, 1000) AS n"))
    db.session.commit()
    db.session.execute(text("ANALYZE payouts"))
    plan = plan_of_the_probe(lambda: payouts.payout_page(world.staff["finance"], q="李四"), "name_grams(payouts.payee_name)")
    assert "ix_payouts_store_payee_name_grams" in plan, plan


@pytest.mark.parametrize("q, reference", [("²", None), ("12²", None), ("①", None), ("１２", 12)])
def test_digits_int_cannot_read_search_names_not_references(app, world, queue, q, reference):
    """str.isdigit() holds for '²' and '①', which int() refuses: the search compares them with names
    only, and the page answers (it was a 500). Full-width digits are a reference, as typed in ASCII."""
    finance = world.staff["finance"]
    found = [p.id for p in payouts.payout_page(finance, q=q).items]
    by_reference = [pid for pid in oracle(finance, str(reference)) if db.session.get(Payout, pid).reference == reference]
    assert found == oracle(finance, q) == (by_reference if reference else []) and (by_reference or not reference)
    browser = Browser(app)
    login(browser, "finance")
    assert browser.get("/payouts", query_string={"q": q}).status_code == 200
