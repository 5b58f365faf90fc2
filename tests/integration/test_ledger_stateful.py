"""A hypothesis state machine drives random transfers, posts, voids, batches, earnings,
redemptions and expiries against a plain in-memory model and the real ledger, and
compares balances and the invariants after every step (LED-1..LED-5), on SQLite and
PostgreSQL (the `app` fixture runs it on each)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text

from loyalty import clock
from loyalty.directory import service as directory
from loyalty.errors import DomainError
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.points import catalog
from loyalty.points import service as points

T0 = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
# (owner, purpose) of the CNY accounts the machine moves money between
CNY = [("system:0", "adjustment"), ("customer:1", "reward_payable"), ("customer:2", "reward_payable"),
       ("store:1", "cash"), ("store:1", "referral_expense")]
KEYS = [f"k{i}" for i in range(12)]  # a small pool, so keys get reused (replays and conflicts)


class Totals(list):
    """[debits_posted, credits_posted, debits_pending, credits_pending]"""


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        for table in ("points_lot_uses", "points_redemptions", "catalog_items", "points_lots", "ledger_transfers",
                      "ledger_accounts", "idempotency_keys", "ledger_total_deltas", "ledger_totals"):
            db.session.execute(text(f"DELETE FROM {table}"))
        # redemptions name a catalog item (issue 15): n points are n units of a 1-point voucher
        catalog.create_item(None, code="VOUCHER", name_zh="代金券", price=1)
        db.session.commit()
        self.now = T0
        self.accounts = [ledger.account_for(owner, purpose, "CNY") for owner, purpose in CNY]
        self.flags = [(a.debits_must_not_exceed_credits, a.credits_must_not_exceed_debits) for a in self.accounts]
        db.session.commit()
        self.totals = {a.id: [0, 0, 0, 0] for a in self.accounts}
        self.keyed: dict[str, tuple] = {}  # key -> the params it was first used with
        self.pendings: dict[int, tuple] = {}  # pending id -> (debit, credit, amount)
        self.resolved: set[int] = set()
        self.lots: dict[int, list[list]] = {1: [], 2: []}  # customer -> [[expires_at, remaining]] oldest first
        self.redeemed: dict[str, tuple] = {}

    # ---- helpers ---------------------------------------------------------------
    def _overdraws(self, deltas: dict[int, list[int]]) -> bool:
        for i, a in enumerate(self.accounts):
            if a.id not in deltas:
                continue
            dp, cp, dq, cq = (x + y for x, y in zip(self.totals[a.id], deltas[a.id]))
            d_flag, c_flag = self.flags[i]
            if (d_flag and dp + dq > cp) or (c_flag and cp + cq > dp):
                return True
        return False

    @staticmethod
    def _delta(kind: str, debit: int, credit: int, amount: int) -> dict[int, list[int]]:
        d = {debit: [0, 0, 0, 0], credit: [0, 0, 0, 0]}
        if kind == "posted":
            d[debit][0] += amount
            d[credit][1] += amount
        elif kind == "pending":
            d[debit][2] += amount
            d[credit][3] += amount
        elif kind == "post":
            d[debit][0] += amount
            d[debit][2] -= amount
            d[credit][1] += amount
            d[credit][3] -= amount
        else:
            d[debit][2] -= amount
            d[credit][3] -= amount
        return d

    def _apply(self, deltas):
        for aid, d in deltas.items():
            self.totals[aid] = [x + y for x, y in zip(self.totals[aid], d)]

    def _run(self, call, expect_error: str | None):
        saved = clock.now
        clock.now = lambda: self.now
        try:
            result = call()
        except DomainError as exc:
            db.session.rollback()
            assert expect_error == exc.code, f"unexpected {exc.code}: {exc.message} {exc.fields}"
            return None
        finally:
            clock.now = saved
        assert expect_error is None, f"expected {expect_error}, got success"
        db.session.commit()
        return result

    # ---- ledger rules ------------------------------------------------------------
    @rule(d=st.integers(0, 4), c=st.integers(0, 4), amount=st.integers(1, 1000), pending=st.booleans(),
          key=st.sampled_from(KEYS))
    def transfer(self, d, c, amount, pending, key):
        if d == c:
            return
        debit, credit = self.accounts[d].id, self.accounts[c].id
        kind = "pending" if pending else "posted"
        params = (kind, debit, credit, amount, None)
        deltas = self._delta(kind, debit, credit, amount)
        if key in self.keyed:
            expect = None if self.keyed[key] == params else "idempotency_key_reused"
        else:
            expect = "insufficient_funds" if self._overdraws(deltas) else None
        t = self._run(lambda: ledger.transfer(debit=debit, credit=credit, amount=amount, unit="CNY", reason="test",
                                              subject=None, key=key, pending=pending), expect)
        if t is not None and key not in self.keyed:
            self.keyed[key] = params
            self._apply(deltas)
            if pending:
                self.pendings[t.id] = (debit, credit, amount)

    @precondition(lambda self: self.pendings)
    @rule(data=st.data(), post=st.booleans(), key=st.sampled_from(KEYS))
    def resolve(self, data, post, key):
        pid = data.draw(st.sampled_from(sorted(self.pendings)))
        debit, credit, amount = self.pendings[pid]
        kind = "post" if post else "void"
        params = (kind, debit, credit, amount, pid)
        if key in self.keyed:
            expect = None if self.keyed[key] == params else "idempotency_key_reused"
            if expect and pid in self.resolved and key not in self.keyed:
                expect = "pending_already_resolved"
        elif pid in self.resolved:
            expect = "pending_already_resolved"
        else:
            expect = None
        fn = ledger.post_pending if post else ledger.void_pending
        t = self._run(lambda: fn(pid, reason="test", key=key), expect)
        if t is not None and key not in self.keyed:
            self.keyed[key] = params
            self.resolved.add(pid)
            self._apply(self._delta(kind, debit, credit, amount))

    @rule(d=st.integers(1, 2), amount=st.integers(1, 500), key=st.sampled_from(KEYS))
    def batch(self, d, amount, key):
        """fund a payable from adjustment and pay part of it to cash, linked"""
        src, payable, cash = self.accounts[0].id, self.accounts[d].id, self.accounts[3].id
        keys = (f"{key}-b1", f"{key}-b2")
        items = [dict(debit=src, credit=payable, amount=amount, unit="CNY", reason="fund", key=keys[0]),
                 dict(debit=payable, credit=cash, amount=amount * 2, unit="CNY", reason="pay", key=keys[1])]
        params = [("posted", src, payable, amount, None), ("posted", payable, cash, amount * 2, None)]
        deltas = {}
        for p in params:
            for aid, dl in self._delta(*p[:4]).items():
                deltas[aid] = [x + y for x, y in zip(deltas.get(aid, [0, 0, 0, 0]), dl)]
        if keys[0] in self.keyed:
            expect = None if [self.keyed[k] for k in keys] == params else "idempotency_key_reused"
        else:
            expect = "insufficient_funds" if self._overdraws(deltas) else None
        done = self._run(lambda: ledger.transfer_batch(items), expect)
        if done is not None and keys[0] not in self.keyed:
            self.keyed.update(zip(keys, params))
            self._apply(deltas)

    # ---- points rules --------------------------------------------------------------
    @rule(c=st.integers(1, 2), amount=st.integers(1, 60_000), key=st.sampled_from(KEYS))
    def earn(self, c, amount, key):
        result = self._run(lambda: points.earn_for_visit(None, c, store_id=1, amount=amount,
                                                         key=f"{c}-{key}-{amount}-{self.now.isoformat()}"), None)
        if result["points"] and result["lot"].points == amount // 1000 and not any(
                lot[2] == result["lot"].id for lot in self.lots[c]):
            self.lots[c].append([points.add_months(self.now, 24), amount // 1000, result["lot"].id])

    @rule(c=st.integers(1, 2), n=st.integers(1, 80), key=st.sampled_from(KEYS))
    def redeem(self, c, n, key):
        live = [lot for lot in self.lots[c] if lot[0] > self.now and lot[1] > 0]
        if key in self.redeemed:
            expect = None if self.redeemed[key] == (c, n) else "idempotency_key_reused"
        else:
            expect = None if sum(lot[1] for lot in live) >= n else "insufficient_points"
        done = self._run(lambda: points.redeem(None, c, item="VOUCHER", quantity=n, key=key), expect)
        if done is not None and key not in self.redeemed:
            self.redeemed[key] = (c, n)
            left = n
            for lot in live:
                take = min(lot[1], left)
                lot[1] -= take
                left -= take

    @rule(days=st.sampled_from([1, 90, 400]))
    def advance(self, days):
        self.now += timedelta(days=days)

    @rule()
    def expire(self):
        def run():
            n = 0
            while points.expire_next_lot(self.now) is not None:
                n += 1
            return n
        self._run(run, None)
        for lots in self.lots.values():
            for lot in lots:
                if lot[0] <= self.now:
                    lot[1] = 0

    # ---- after every step ------------------------------------------------------------
    @invariant()
    def balances_and_invariants_hold(self):
        for a in self.accounts:
            row = db.session.execute(text("SELECT debits_posted, credits_posted, debits_pending, credits_pending "
                                          "FROM ledger_accounts WHERE id = :i"), {"i": a.id}).one()
            assert list(row) == self.totals[a.id], (a.owner, a.purpose)
        for c, lots in self.lots.items():
            assert ledger.balance(points.points_account(c))["posted"] == sum(lot[1] for lot in lots)
        assert ledger.check() == []
        assert points.check() == []
        db.session.rollback()  # read only: nothing to commit


@pytest.mark.rule("LED-1")
@pytest.mark.rule("LED-2")
@pytest.mark.rule("LED-3")
@pytest.mark.rule("LED-4")
@pytest.mark.rule("LED-5")
def test_ledger_matches_a_simple_model(app):
    store = directory.create_store(None, code="S1", name="Store", timezone="Asia/Shanghai")
    directory.create_customer(None, store_id=store.id, name="张三", phone="13800138000")
    directory.create_customer(None, store_id=store.id, name="李四", phone="13900139000")
    db.session.commit()
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
