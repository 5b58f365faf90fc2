"""The deliveries list searched by `q` (verification.delivery.records._searched, issue 16): a probe
reads the customers' names and phones through their indexes; when it finds at most COUNT_BOUND
deliveries the list is read among them, else walked. Whatever the bound, searcher, search or page,
the rows and their order are the plain search's (every delivery's customer tested: the oracle)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from loyalty import paging
from loyalty.extensions import db
from verification.delivery import records
from verification.delivery.models import Delivery

NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
BUYERS = [("王小明", "13911119000"), ("王小红", "13922229000"), ("李四", "13933330001"), ("赵六", "13944449000")]
SEARCHES = ["王", "王小", "李四", "9000", "13933330001", "无此人"]


@pytest.fixture
def delivered(api, world):
    """14 deliveries in two stores to the buyers above, at three instants (ties on time)."""
    for i in range(14):
        name, phone = BUYERS[i % len(BUYERS)]
        store = world.store if i % 3 else world.other_store
        body = {"store_id": store.id, "customer": {"name": name, "phone": phone if i % 3 else "137" + phone[3:]},
                "delivered_at": (NOW - timedelta(hours=i % 3)).isoformat(),
                "vehicle": {"model": "高尔夫", "colour": "红色", "transmission": "manual", "vin": f"LSVAB2BR5NN1234{i:02d}"}}
        with time_machine.travel(NOW, tick=False):
            resp = api.as_("admin").post("deliveries", json=body)
        assert resp.status_code == 201, resp.json


def oracle(actor, q: str) -> list[int]:
    query = records._deliveries(actor, q=q).with_only_columns(Delivery.id)
    return list(db.session.execute(query.order_by(Delivery.delivered_at.desc(), Delivery.id.desc())).scalars())


@pytest.mark.rule("SEC-3")
@pytest.mark.parametrize("bound", [1, 3, 1000])
def test_a_searched_deliveries_list_is_the_plain_search_s_whatever_the_bound(app, world, delivered, monkeypatch,
                                                                           bound):
    monkeypatch.setattr(paging, "COUNT_BOUND", bound)
    for who in ("admin", "manager", "manager_b"):
        actor = world.staff[who]
        for q in SEARCHES:
            want, ids, cursor, first = oracle(actor, q), [], None, None
            while True:
                page = records.delivery_page(actor, q=q, cursor=cursor, per_page=2)
                first = first or (page.count, page.count_exact)
                ids += [d.id for d in page.items]
                if not (cursor := page.next):
                    break
            assert ids == want and first == ((len(want), True) if len(want) <= bound else (bound, False)), \
                (who, q, bound)
            for number in (1, 2, 5):
                items, total = records.list_deliveries(actor, q=q, page=number, per_page=3)
                assert ([d.id for d in items], total) == (want[(number - 1) * 3:number * 3], len(want)), (who, q)
    admin, manager = world.staff["admin"], world.staff["manager"]
    assert len(oracle(admin, "王")) == 8 and oracle(manager, "李四") and not oracle(admin, "无此人")
    # a manager sees phones masked: the last 4 digits and the whole number find, the store's own only
    assert oracle(manager, "9000") and len(oracle(admin, "9000")) > len(oracle(manager, "9000"))
