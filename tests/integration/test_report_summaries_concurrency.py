"""Report summaries under concurrency (issue 16), PostgreSQL with real threads: writers of the same
counter never wait on one another nor lose a count, folds never fold a delta twice, and a
writer's delta not yet committed is neither lost nor folded early."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select

from loyalty.extensions import db
from tests import report_oracle as oracle
from tests.flows import CLAIM, new_referee
from tests.helpers import in_threads
from verification.reports import counts, service
from verification.reports.models import ReportCount, ReportCountDelta

N = 8


def _fold_all() -> None:
    while counts.compact(limit=5):
        db.session.commit()
    db.session.commit()


def test_concurrent_registrations_and_folds_count_every_referral_once(app, api, world, people, pg_only):
    referees = [new_referee(world, f"并发{i}", f"1361234560{i}") for i in range(N)]
    token = api.token("consultant")

    def register(i):
        client = app.test_client()
        body = {"store_id": world.store.id, "referrer_id": people["zhang"].id, "referee_id": referees[i].id,
                "claim": dict(CLAIM)}
        resp = client.post("/api/v1/referrals", json=body, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 201, resp.get_json()

    assert in_threads(app, N // 2, register) == []  # the same counter (day, store, consultant, status)
    assert in_threads(app, N, lambda i: register(N // 2 + i) if i < N // 2 else _fold_all()) == []
    db.session.expire_all()
    [row] = service.fraud_rates(world["admin"], by="consultant")
    assert row["registered"] == N
    assert service.fraud_rates(world["admin"], by="store") == oracle.fraud_rates(world["admin"], by="store")
    _fold_all()
    assert service.fraud_rates(world["admin"], by="store") == oracle.fraud_rates(world["admin"], by="store")
    assert db.session.execute(select(func.count()).select_from(ReportCountDelta)).scalar_one() == 0


def _delta(n: int, bucket: int = 0) -> dict:
    return {"day": date(2026, 11, 3), "store_id": 1, "staff_id": 0, "metric": "hours", "bucket": bucket, "n": n}


def test_two_folds_at_once_fold_each_delta_once(app, world, pg_only):
    rows = [_delta(i % 7 + 1, bucket=i % 5) for i in range(600)]
    db.session.execute(insert(ReportCountDelta.__table__), rows)
    db.session.commit()

    def fold(_i):
        while counts.compact(limit=40):
            db.session.commit()
        db.session.commit()

    assert in_threads(app, 2, fold) == []
    got = dict(db.session.execute(select(ReportCount.bucket, ReportCount.n)).all())
    want: dict[int, int] = {}
    for r in rows:
        want[r["bucket"]] = want.get(r["bucket"], 0) + r["n"]
    assert got == want
    assert db.session.execute(select(func.count()).select_from(ReportCountDelta)).scalar_one() == 0


def test_a_delta_not_yet_committed_is_kept_for_the_next_fold(app, world, pg_only):
    db.session.execute(insert(ReportCountDelta.__table__), [_delta(2)])
    db.session.commit()
    with db.engine.connect() as writer:
        writer.execute(insert(ReportCountDelta.__table__), [_delta(5)])  # its transaction still open
        _fold_all()
        assert db.session.execute(select(ReportCount.n)).scalar_one() == 2
        writer.commit()
    assert db.session.execute(select(func.count()).select_from(ReportCountDelta)).scalar_one() == 1
    _fold_all()
    assert db.session.execute(select(ReportCount.n)).scalar_one() == 7
