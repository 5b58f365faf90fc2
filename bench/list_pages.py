"""How a list page's cost grows with history: keyset paging (loyalty.paging.keyset, with its
bounded count) against OFFSET paging with an exact count (db.paginate), on the finance queue.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wt_lists python bench/list_pages.py 10000 200000

It DROPS the public schema of the database it is given, migrates it, and loads N payouts
(requested at few distinct instants, so ties on time are the rule) for each N in turn. For each
N it prints the median milliseconds of: page 1, a page 90 % of the way in, and the count shown.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text


def _load(db, n: int) -> None:
    from loyalty.payouts.models import Payout
    db.session.execute(text("TRUNCATE payouts RESTART IDENTITY CASCADE"))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    for i in range(n):
        batch.append({"subject": f"bench:{i}", "label": "Referral", "reference": i, "store_id": 1,
                      "payee": f"customer:{i}", "payee_name": f"收款人{i}", "unit": "CNY", "gross_amount": 50000,
                      "offset_amount": 0, "status": "awaiting_approval", "approvals_required": 1,
                      "blocked_approver_ids": [], "evidence": {}, "evidence_rows": [], "reason": "bench",
                      "requested_at": t0 + timedelta(seconds=i // 7), "updated_at": t0})
        if len(batch) == 5000:
            db.session.execute(insert(Payout), batch)
            batch = []
    if batch:
        db.session.execute(insert(Payout), batch)
    db.session.commit()
    db.session.execute(text("ANALYZE payouts"))
    db.session.commit()


def _ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        from loyalty.extensions import db
        db.session.rollback()
    return statistics.median(times)


def main(sizes: list[int]) -> None:
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.config import TestConfig
    from loyalty.extensions import db
    from loyalty.paging import _encode
    from loyalty.payouts import service
    app = create_app(TestConfig(os.environ["DATABASE_URL"]))
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade()
        db.session.execute(text("INSERT INTO stores (id, code, name, timezone, active, created_at) "
                                "VALUES (1, 'B1', 'bench', 'Asia/Shanghai', true, now())"))
        db.session.commit()
        print(f"{'payouts':>9} | {'keyset p1':>9} {'keyset 90%':>10} | {'offset p1':>9} {'offset 90%':>10}  (ms, median of 7)")
        for n in sizes:
            _load(db, n)
            deep_page = max(int(n * 0.9) // 50, 1)
            # the cursor of the page 90 % in, as a pager link would carry it: the last row before it
            row = db.session.execute(text("SELECT requested_at, id FROM payouts ORDER BY requested_at, id "
                                          "OFFSET :o LIMIT 1"), {"o": (deep_page - 1) * 50 - 1}).one()
            cursor = _encode("n", [row[0].astimezone(UTC), row[1]])
            same = [p.id for p in service.payout_page(None, per_page=50, cursor=cursor).items]
            assert same == [p.id for p in service.list_payouts(None, page=deep_page, per_page=50)[0]]
            service.payout_page(None, per_page=50)  # warm the connection and the caches
            k1 = _ms(lambda: service.payout_page(None, per_page=50))
            k90 = _ms(lambda c=cursor: service.payout_page(None, per_page=50, cursor=c))
            o1 = _ms(lambda: service.list_payouts(None, page=1, per_page=50))
            o90 = _ms(lambda p=deep_page: service.list_payouts(None, page=p, per_page=50))
            print(f"{n:>9,} | {k1:>9.1f} {k90:>10.1f} | {o1:>9.1f} {o90:>10.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
