"""Report summaries (issue 16): the fraud and timeliness reports read counts per day and store, the
liabilities report the open payables per store, kept current by the writers' deltas; they give
exactly what the base rows give (tests/report_oracle.py), for every role and period, before and
after the jobs fold the deltas, and after a rebuild."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.payouts.models import Payout
from loyalty.reports import service as money
from loyalty.reports import totals
from loyalty.reports.models import PayoutTotal, PayoutTotalDelta
from loyalty.web.tables import period
from tests import report_oracle as oracle
from tests.flows import LICENCE, T0, VEHICLE, clueless, new_referee, post, register, truthful
from verification.callbacks.models import Callback
from verification.referrals import service as referrals
from verification.referrals.models import Referral
from verification.reports import counts, service, sources
from verification.reports.models import ReportCount, ReportCountDelta

ROLES = ("admin", "manager", "manager_b", "finance")
OUTCOMES = ("registered", "acknowledged", "rejected", "reopened", "verified", "fraudulent", "unwound", "expired",
            "reviewed", "verified", "verified", "verified")  # most paths end in a payout


def _periods():
    """No bound; whole group days; instants inside days (live edges); one part of one day."""
    whole = period(datetime(2026, 11, 3).date(), datetime(2026, 11, 6).date())
    return [(None, None), whole, (None, whole[1]), (whole[0], None),
            (T0 + timedelta(hours=13), T0 + timedelta(days=3, hours=5)),
            (T0 + timedelta(days=1, hours=1), T0 + timedelta(days=1, hours=9)),
            (T0 + timedelta(days=400), None)]


def _agree(world) -> None:
    db.session.expire_all()
    for role in ROLES:
        actor = world[role]
        for start, end in _periods():
            for by in service.GROUPINGS:
                assert service.fraud_rates(actor, by=by, start=start, end=end) == \
                    oracle.fraud_rates(actor, by=by, start=start, end=end), (role, by, start, end)
            assert service.timeliness(actor, start=start, end=end) == \
                oracle.timeliness(actor, start=start, end=end), (role, start, end)
        got, want = money.liabilities(actor), oracle.liabilities(actor)
        assert [s.as_dict() for s in got.stores] == [s.as_dict() for s in want.stores], role
        assert (got.ledger_payable, got.ledger_receivable) == (want.ledger_payable, want.ledger_receivable), role
    db.session.commit()


def _settle_payouts(api, rng: random.Random) -> None:
    """Finance approves, rejects or pays some of the payouts waiting, in random order."""
    waiting = api.as_("finance").get("payouts?status=awaiting_approval").json["items"]
    for n, payout in enumerate(rng.sample(waiting, len(waiting))):
        action, key = rng.choice(("wait", "approve", "reject", "pay")), f"mix-{payout['id']}-{n}"
        if action == "reject":
            post(api, "finance", f"payouts/{payout['id']}/reject", key, reason="资料不全")
        elif action in ("approve", "pay"):
            post(api, "finance", f"payouts/{payout['id']}/approve", key)
        if action == "pay":
            post(api, "finance2", f"payouts/{payout['id']}/paid", key + "p", method="cash", external_reference=key)


def _decide(api, world, people, rid: int, outcome: str, at: datetime, rng: random.Random) -> None:
    """Take referral `rid` to `outcome` at `at` through the API (a step refused leaves it where it is)."""
    if outcome == "reviewed":
        with time_machine.travel(at, tick=False):
            api.as_("manager").post(f"referrals/{rid}/review", json={"decision": "reject", "reason": "重复"})
        return
    with time_machine.travel(at, tick=False):
        api.as_("manager").post(f"referrals/{rid}/acknowledge")
    if outcome == "expired":
        with time_machine.travel(at + timedelta(days=120), tick=False):
            referrals.expire_referral(rid)
            db.session.commit()
        return
    if outcome == "acknowledged":
        return
    delivered = at + timedelta(minutes=rng.choice((0, 9, 27, 33)))  # 0.15 h: half a tenth, rounded up
    licence = dict(LICENCE, owner_name="王五") if outcome in ("rejected", "reopened") else LICENCE
    with time_machine.travel(delivered + timedelta(minutes=1), tick=False):
        api.as_("manager2").post(f"referrals/{rid}/delivery", json={
            "delivered_at": delivered.isoformat(), "vehicle": VEHICLE, "licence": licence})
    if outcome == "reopened":
        with time_machine.travel(at + timedelta(hours=3), tick=False):
            api.as_("admin").post(f"referrals/{rid}/reopen", json={"reason": "车主核对有误"})
        return
    if outcome in ("verified", "fraudulent", "unwound"):
        respond = clueless if outcome == "fraudulent" else truthful
        _work_the_queue(api, respond, delivered + timedelta(hours=rng.choice((1, 2, 5))))
    if outcome == "unwound":
        with time_machine.travel(at + timedelta(days=2), tick=False):
            api.as_("manager").post(f"referrals/{rid}/unwind", json={"reason": "退车"})


def _work_the_queue(api, respond, at: datetime) -> None:
    """Answer every call due (this referral's, and any other party's call still waiting) with `respond`."""
    for n in range(4):
        with time_machine.travel(at + timedelta(minutes=10 * n), tick=False):
            resp = api.as_("agent").post("callbacks/claim")
        if resp.status_code != 200:
            return
        db.session.expire_all()
        plan = db.session.get(Callback, resp.json["id"])
        with time_machine.travel(at + timedelta(minutes=10 * n + 5), tick=False):
            api.as_("agent").post(f"callbacks/{plan.id}/answers", json={"answers": [respond(q) for q in plan.questions]})


@pytest.mark.rule("LED-9")
@pytest.mark.parametrize("seed", [16, 1601])
def test_summaries_equal_the_base_rows_after_a_random_mix(api, world, people, due_at_once, seed):
    rng = random.Random(seed)
    registered = []
    for i in range(18):  # registered over six days, every ~8 h (across the group's midnights)
        referee = new_referee(world, f"客户{i}", f"1351234{seed % 100:02d}{i:02d}")
        people[f"r{i}"] = referee
        with time_machine.travel(T0 + timedelta(hours=8 * i + rng.randint(0, 50) / 10), tick=False):
            resp = register(api, world, people, referee=f"r{i}")
        assert resp.status_code == 201, resp.json
        registered.append(resp.json["id"])
        if rng.random() < 0.4:  # a fact of the referrer recorded while the referral is live (CB-10)
            with time_machine.travel(T0 + timedelta(hours=8 * i + 1), tick=False):
                api.as_(rng.choice(("consultant", "manager"))).post(
                    f"customers/{people['zhang'].id}/vehicles",
                    json={"model": "朗逸", "colour": "黑色", "transmission": "automatic"})
    _agree(world)
    rng.shuffle(registered)
    # decided weeks later, in random order, a fold of the deltas now and then
    for k, rid in enumerate(registered):
        outcome = rng.choice(OUTCOMES)
        _decide(api, world, people, rid, outcome, T0 + timedelta(days=30, hours=7 * k), rng)
        if rng.random() < 0.3:
            counts.compact(limit=rng.randint(1, 20))
            totals.compact(limit=rng.randint(1, 3))
            db.session.commit()
        if rng.random() < 0.3:
            _settle_payouts(api, rng)
        if k % 5 == 4:
            _agree(world)
    statuses = set(db.session.execute(select(Referral.status)).scalars())
    assert len(statuses) >= 4, statuses  # a mix, not one path
    assert db.session.execute(select(func.count()).select_from(ReportCountDelta)).scalar_one() > 0
    _settle_payouts(api, rng)
    assert len(set(db.session.execute(select(Payout.status)).scalars())) >= 2  # payouts moved on, some of them
    assert db.session.execute(select(func.count()).select_from(PayoutTotalDelta)).scalar_one() > 0
    _agree(world)
    while counts.compact(limit=7) or totals.compact(limit=2):
        db.session.commit()
    db.session.commit()
    for table in (ReportCountDelta, PayoutTotalDelta):
        assert db.session.execute(select(func.count()).select_from(table)).scalar_one() == 0
    _agree(world)
    before = [sorted(tuple(r) for r in db.session.execute(select(t.__table__))) for t in (ReportCount, PayoutTotal)]
    sources.rebuild()
    db.session.commit()
    totals.rebuild()
    db.session.commit()
    after = [sorted(tuple(r) for r in db.session.execute(select(t.__table__))) for t in (ReportCount, PayoutTotal)]
    assert after[0] == before[0]
    assert after[1] == [r for r in before[1] if r[2]]  # the job keeps a total that fell to 0; a rebuild has none
    _agree(world)


def test_a_period_is_split_into_whole_group_days_and_live_edges():
    start, end = period(datetime(2026, 11, 3).date(), datetime(2026, 11, 5).date())
    assert counts.split(start, end) == ((start.date(), datetime(2026, 11, 6).date()), [])
    days, live = counts.split(start + timedelta(hours=1), end - timedelta(hours=1))
    assert days == (datetime(2026, 11, 4).date(), datetime(2026, 11, 5).date())
    assert live == [(start + timedelta(hours=1), start + timedelta(days=1)),
                    (end - timedelta(days=1), end - timedelta(hours=1))]
    inside = (start + timedelta(hours=2), start + timedelta(hours=3))
    assert counts.split(*inside) == (None, [inside])
    assert counts.split(None, None) == ((None, None), [])


def test_tenths_of_an_hour_are_exact_and_round_half_up():
    t = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert sources.tenths(t, t + timedelta(minutes=9)) == 2  # 0.15 h (a float would say 0.1)
    assert sources.tenths(t, t + timedelta(minutes=9) - timedelta(microseconds=1)) == 1
    assert sources.tenths(t, t + timedelta(hours=1, minutes=5)) == 11
    assert service.median_tenths({3: 1, 5: 1}) == 4 and service.median_tenths({3: 2, 9: 1}) == 3


def test_rebuild_and_compact_commands(app, runner, api, world, people, due_at_once):
    with time_machine.travel(T0, tick=False):
        assert register(api, world, people).status_code == 201
    result = runner.invoke(args=["reports", "compact"])
    assert result.exit_code == 0 and "folded" in result.output, result.output
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0 and "rebuilt" in result.output, result.output
    db.session.expire_all()
    rows = db.session.execute(select(ReportCount.metric, ReportCount.n)).all()
    assert ("registered", 1) in [tuple(r) for r in rows]
    assert service.fraud_rates(world["admin"], by="store") == oracle.fraud_rates(world["admin"], by="store")


def test_the_jobs_fold_the_deltas_and_the_reports_stay_the_same(app, api, world, people, due_at_once, monkeypatch):
    from loyalty import scheduler
    from tests.flows import verified_referral
    verified_referral(api, world, people, monkeypatch)  # a referral counted, a payout awaiting approval
    before = (service.fraud_rates(world["admin"], by="store"), service.timeliness(world["admin"]),
              money.liabilities(world["admin"]).totals)
    db.session.commit()
    assert scheduler.run_job(app, "report_summaries").done >= 1
    assert scheduler.run_job(app, "payout_totals").done == 1
    for table in (ReportCountDelta, PayoutTotalDelta):
        assert db.session.execute(select(func.count()).select_from(table)).scalar_one() == 0
    assert (service.fraud_rates(world["admin"], by="store"), service.timeliness(world["admin"]),
            money.liabilities(world["admin"]).totals) == before
    assert before[2]["awaiting_approval"] == 50000 and before[1][0]["decided"] == 1


def test_a_change_to_a_referral_whose_old_values_were_never_loaded_moves_its_counts(app, api, world, people):
    with time_machine.travel(T0, tick=False):
        rid = register(api, world, people).json["id"]
    referral = db.session.get(Referral, rid)
    db.session.commit()  # every attribute expired: setting one does not load the old value
    referral.status = "under_review"
    db.session.commit()
    [row] = service.fraud_rates(world["admin"], by="store")
    assert (row["registered"], row["open"]) == (1, 1)
    assert service.fraud_rates(world["admin"], by="store") == oracle.fraud_rates(world["admin"], by="store")
    [(metric, n)] = [(m, n) for (_s, _st, m, _b), n in counts.counts(world["admin"], None, None, ("registered",
                                                                                                  "under_review")).items()]
    assert (metric, n) == ("under_review", 1)
