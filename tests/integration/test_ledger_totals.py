"""The ledger's posted totals per (purpose, unit) (issue 16): kept by every way a transfer is written
(ledger_apply on PostgreSQL, the Python engine on SQLite and for batches, submit()), they equal the
sum of the accounts' posted balances before and after the job folds the deltas and after a rebuild;
`ledger check` reports a kept total that differs; concurrent transfers never wait on a total."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, insert, select, text

from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger import totals as kept_totals
from loyalty.ledger.models import Account, PostedTotal, PostedTotalDelta, Transfer
from loyalty.reports import service as money
from loyalty.reports import totals
from tests import report_oracle as oracle
from tests.flows import new_referee, payout_of, post, verified_referral
from tests.helpers import in_threads

PURPOSES = (("store:1", "referral_expense"), ("customer:1", "reward_payable"), ("customer:2", "reward_payable"),
            ("customer:1", "reward_receivable"), ("store:1", "cash_clearing"), ("store:1", "penalty_receivable"),
            ("store:1", "penalty_income"), ("system:0", "adjustment"))


def _summed_in_python() -> Counter:
    """(purpose, unit) -> the posted balances of its accounts, each on its normal side, read one by one."""
    out: Counter = Counter()
    for a in db.session.execute(select(Account)).scalars():
        bal = a.credits_posted - a.debits_posted if a.normal == "credit" else a.debits_posted - a.credits_posted
        out[(a.purpose, a.unit)] += bal
    return Counter({k: n for k, n in out.items() if n})  # zeros dropped, as the kept totals drop them


def _agree() -> None:
    db.session.commit()
    db.session.expire_all()
    assert kept_totals.all_kept() == _summed_in_python()
    for unit in ("CNY", "PTS"):
        want = _summed_in_python()
        assert ledger.posted_totals([p for _o, p in PURPOSES], unit) == {p: want[(p, unit)] for _o, p in PURPOSES}
    assert ledger.check() == []


def _deltas() -> int:
    return db.session.execute(select(func.count()).select_from(PostedTotalDelta)).scalar_one()


def _step(rng: random.Random, accounts: list[int], pendings: list[int], n: int) -> None:
    """One random ledger write: posted, pending, post or void of a pending, a batch, or submit()."""
    what = rng.choice(("posted", "posted", "pending", "resolve", "resolve", "batch", "submit"))
    d, c = rng.sample(accounts, 2)  # ids
    amount, key = rng.randint(1, 5000), f"mix-{n}"
    try:
        if what == "resolve" and pendings:
            resolve = ledger.post_pending if rng.random() < 0.6 else ledger.void_pending
            resolve(pendings.pop(rng.randrange(len(pendings))), reason="decided", key=key)
        elif what == "batch":
            ledger.transfer_batch([dict(debit=d, credit=c, amount=amount, unit="CNY", reason="b", key=f"{key}-a",
                                        pending=rng.random() < 0.3),
                                   dict(debit=c, credit=d, amount=amount // 2 + 1, unit="CNY", reason="b",
                                        key=f"{key}-b")])
        elif what == "submit":
            db.session.commit()
            ledger.submit(debit=d, credit=c, amount=amount, unit="CNY", reason="s", subject=None, key=key)
        else:
            t = ledger.transfer(debit=d, credit=c, amount=amount, unit="CNY", reason="t", subject=None, key=key,
                                pending=what == "pending")
            if t.kind == "pending":
                pendings.append(t.id)
    except DomainError:  # a flagged account would be overdrawn: nothing moved
        db.session.rollback()
    db.session.commit()


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("seed", [16, 1616])
def test_kept_totals_equal_the_accounts_through_a_random_mix(app, seed):
    rng = random.Random(seed)
    accounts = [ledger.account_for(owner, purpose, "CNY").id for owner, purpose in PURPOSES]
    points = [ledger.account_for("store:1", "points_issued", "PTS"), ledger.account_for("store:1", "points_redeemed", "PTS")]
    db.session.commit()
    ledger.transfer(debit=points[0], credit=points[1], amount=70, unit="PTS", reason="earn", subject=None, key="pts")
    pendings: list[int] = []
    for n in range(60):
        _step(rng, accounts, pendings, n)
        if rng.random() < 0.2:
            totals.compact_posted(limit=rng.randint(1, 4))
        if n % 10 == 9:
            _agree()
    assert _deltas() > 0 and db.session.execute(select(func.count()).select_from(Transfer)).scalar_one() > 60
    assert set(db.session.execute(select(Transfer.kind)).scalars()) == {"posted", "pending", "post", "void"}
    assert db.session.execute(select(func.count(func.distinct(Transfer.batch)))).scalar_one() > 1
    _agree()
    while totals.compact_posted(limit=3):
        db.session.commit()
    assert _deltas() == 0
    _agree()
    before = sorted(tuple(r) for r in db.session.execute(select(PostedTotal.__table__)))
    assert totals.rebuild_posted() == len([r for r in before if r[2]])
    _agree()
    assert sorted(tuple(r) for r in db.session.execute(select(PostedTotal.__table__))) == [r for r in before if r[2]]


@pytest.mark.rule("LED-4")
@pytest.mark.rule("LED-8")
def test_paid_rewards_clawbacks_and_offsets_move_the_group_line(api, world, people, due_at_once, monkeypatch):
    from tests.integration.test_unwind import pay, unwind
    rid = verified_referral(api, world, people, monkeypatch)
    assert money.liabilities(world["admin"]).ledger_payable == 50000
    pay(api, payout_of(api, rid)["id"])
    assert unwind(api, rid).json["clawback"] == "receivable"
    report = money.liabilities(world["admin"])
    assert (report.ledger_payable, report.ledger_receivable) == (0, 50000)
    totals.compact_posted()
    people["n"] = new_referee(world, "王小二", "13512345679")
    payout = payout_of(api, verified_referral(api, world, people, monkeypatch, referee="n"))
    assert payout["offset_amount"] == 50000
    assert post(api, "finance", f"payouts/{payout['id']}/approve", "a2").status_code == 200
    for _ in range(2):  # before and after the fold
        got, want = money.liabilities(world["admin"]), oracle.liabilities(world["admin"])
        assert (got.ledger_payable, got.ledger_receivable) == (want.ledger_payable, want.ledger_receivable) == (50000, 50000)
        _agree()
        totals.compact_posted()
    pay_resp = post(api, "finance", f"payouts/{payout['id']}/paid", "p2", method="cash", external_reference="X")
    assert pay_resp.status_code == 200
    got = money.liabilities(world["admin"])
    assert (got.ledger_payable, got.ledger_receivable) == (0, 0)
    _agree()


def test_check_reports_a_kept_total_that_differs(app, runner):
    expense = ledger.account_for("store:1", "referral_expense", "CNY")
    payable = ledger.account_for("customer:7", "reward_payable", "CNY")
    ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", reason="r", subject=None, key="k")
    db.session.commit()
    totals.compact_posted()
    db.session.commit()
    assert db.session.get(PostedTotal, ("reward_payable", "CNY")).n == 300
    db.session.execute(insert(PostedTotalDelta.__table__), [{"purpose": "reward_payable", "unit": "CNY", "n": 7}])
    db.session.commit()
    assert ledger.check() == ["posted total of reward_payable CNY: kept 307 differs from its accounts' transfers 300"]
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "posted total of reward_payable CNY" in result.output
    assert runner.invoke(args=["reports", "rebuild"]).exit_code == 0
    assert ledger.check() == []


# ---- PostgreSQL, real threads ------------------------------------------------------------------

N = 8


def test_concurrent_transfers_and_folds_keep_every_total(app, pg_only):
    pairs = [(ledger.account_for(f"store:{i}", "referral_expense", "CNY").id,
              ledger.account_for(f"customer:{i}", "reward_payable", "CNY").id) for i in range(N)]
    db.session.commit()

    def write(i):
        if i == N:  # one thread folds while the others write
            for _ in range(30):
                totals.compact_posted(limit=5)
                db.session.commit()
            return
        d, c = pairs[i]
        for k in range(10):
            if k % 3 == 2:
                ledger.submit(debit=d, credit=c, amount=10 + k, unit="CNY", reason="s", subject=None, key=f"s{i}-{k}")
            else:
                ledger.transfer(debit=d, credit=c, amount=10 + k, unit="CNY", reason="t", subject=None, key=f"t{i}-{k}")
                db.session.commit()
    assert in_threads(app, N + 1, write) == []
    want = N * sum(10 + k for k in range(10))
    assert ledger.posted_totals(["reward_payable", "referral_expense"], "CNY") == \
        {"reward_payable": want, "referral_expense": want}
    _agree()


def test_a_transfer_open_in_one_transaction_holds_up_no_other_nor_the_fold(app, pg_only):
    """The writer's delta is a row of its own: another transfer of the same purposes, and the job's
    fold, go on at once (a lock wait would end in lock_timeout), and the fold leaves the open one alone."""
    a = [ledger.account_for(f"store:{i}", "referral_expense", "CNY").id for i in (1, 2)]
    b = [ledger.account_for(f"customer:{i}", "reward_payable", "CNY").id for i in (1, 2)]
    ledger.transfer(debit=a[0], credit=b[0], amount=100, unit="CNY", reason="done", subject=None, key="done")
    db.session.commit()
    ledger.transfer(debit=a[0], credit=b[0], amount=40, unit="CNY", reason="open", subject=None, key="open")  # open

    def other(i):
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        if i == 0:
            ledger.transfer(debit=a[1], credit=b[1], amount=5, unit="CNY", reason="other", subject=None, key="other")
        else:
            assert totals.compact_posted()
        db.session.commit()
    for i in (0, 1):
        assert in_threads(app, 1, lambda _i, i=i: other(i)) == []
    db.session.commit()  # the open transfer, with its delta
    assert _deltas() >= 1  # what the fold could not see
    assert ledger.posted_totals(["reward_payable"], "CNY") == {"reward_payable": 145}
    while totals.compact_posted():
        db.session.commit()
    assert _deltas() == 0
    _agree()
