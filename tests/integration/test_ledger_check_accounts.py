"""`ledger.check()` compares each account with its transfers inside the database and reads back only
the accounts that may not hold (issue 16). These tests hold that comparison against the plainest
one: every account and every transfer read into Python and summed there, after random tampering
written behind the service's back, with the database's constraints out of the way."""
from __future__ import annotations

import random
from collections import defaultdict

import pytest
from sqlalchemy import text

from loyalty.extensions import db
from loyalty.ledger import check as ledger_check
from loyalty.ledger import service as ledger

# per unit: accounts debited and credited freely, accounts that may not be debited past their credits,
# one that may not be credited past its debits (cash), one that nothing but a tampering touches
KINDS = {"CNY": ((("store:1", "referral_expense"), ("store:1", "cash_clearing"), ("store:2", "referral_expense")),
                 (("customer:1", "reward_payable"), ("customer:2", "reward_payable"),
                  ("customer:3", "reward_payable")),
                 (("store:1", "cash"),), (("store:9", "adjustment"),)),
         "PTS": ((("store:1", "points_issued"),),
                 (("customer:1", "points_reserved"), ("customer:2", "points_reserved")),  # "points" has lots (LED-5)
                 (), (("store:9", "points_breakage"),))}


def _accounts():
    made = {unit: tuple([ledger.account_for(o, p, unit).id for o, p in group] for group in groups)
            for unit, groups in KINDS.items()}
    db.session.commit()
    return made


def _history(rng: random.Random, made: dict) -> None:
    """Transfers through the service: only the free accounts are debited, so none is refused."""
    pendings = []
    for n in range(40):
        unit = rng.choice(("CNY", "PTS"))
        free, capped, debits_only, _ = made[unit]
        debit = rng.choice(free + debits_only)
        credit = rng.choice([a for a in free + capped if a != debit])
        t = ledger.transfer(debit=debit, credit=credit, amount=rng.randint(1, 500), unit=unit, reason="r",
                            subject=None, key=f"t{n}", pending=rng.random() < 0.3)
        if t.kind == "pending":
            pendings.append(t.id)
    for n, pending_id in enumerate(pendings):
        if rng.random() < 0.7:
            (ledger.post_pending if rng.random() < 0.5 else ledger.void_pending)(pending_id, reason="r", key=f"r{n}")
    db.session.commit()


def _without_constraints() -> None:
    """The ledger's CHECK and foreign-key constraints out of the way, for this transaction only."""
    if db.engine.dialect.name == "postgresql":
        for table, name in db.session.execute(text(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype IN ('c', 'f') "
                "AND conrelid IN ('ledger_accounts'::regclass, 'ledger_transfers'::regclass)")).all():
            db.session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    else:
        db.session.execute(text("PRAGMA ignore_check_constraints = 1"))
        db.session.execute(text("PRAGMA defer_foreign_keys = 1"))  # checked at a commit that never comes


def _tamper(rng: random.Random, made: dict) -> None:
    ids = [a for groups in made.values() for group in groups for a in group]
    at = db.session.execute(text("SELECT at FROM ledger_transfers LIMIT 1")).scalar_one()
    for n in range(rng.randint(1, 4)):
        what = rng.choice(("cache", "overdraw", "negative", "other unit", "delete", "no account"))
        if what == "cache":
            column = rng.choice(("debits_posted", "credits_posted", "debits_pending", "credits_pending"))
            db.session.execute(text(f"UPDATE ledger_accounts SET {column} = {column} + :d WHERE id = :i"),
                               {"d": rng.choice((-3, 7)), "i": rng.choice(ids)})
            continue
        if what == "delete":
            db.session.execute(text("DELETE FROM ledger_transfers WHERE id = (SELECT min(id) FROM ledger_transfers "
                                    "WHERE kind = 'posted' AND id NOT IN (SELECT pending_id FROM ledger_transfers "
                                    "WHERE pending_id IS NOT NULL))"))
            continue
        unit = rng.choice(("CNY", "PTS"))
        free, capped, debits_only, untouched = made[unit]
        debit, credit, amount = rng.choice(free), rng.choice(capped), rng.randint(1, 50)
        if what == "overdraw":
            debit, credit, amount = rng.choice(capped), rng.choice(free), 100_000
            if debits_only and rng.random() < 0.5:
                debit, credit = rng.choice(free), rng.choice(debits_only)
        elif what == "negative":
            credit, amount = rng.choice(untouched), -amount
        elif what == "other unit":
            unit = "PTS" if unit == "CNY" else "CNY"
        elif what == "no account":
            debit = 987_654 + n
        db.session.execute(text(
            "INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, reason, at) "
            "VALUES (:k, 'posted', :d, :c, :a, :u, 'x', :at)"),
            {"k": f"behind-{n}", "d": debit, "c": credit, "a": amount, "u": unit, "at": at})
        if rng.random() < 0.6:  # covered up: both accounts' caches moved to match, as the service would
            db.session.execute(text("UPDATE ledger_accounts SET debits_posted = debits_posted + :a WHERE id = :d"),
                               {"a": amount, "d": debit})
            db.session.execute(text("UPDATE ledger_accounts SET credits_posted = credits_posted + :a WHERE id = :c"),
                               {"a": amount, "c": credit})


def _plain_account_violations() -> list[str]:
    """The same findings as check() gives of accounts, from every row, summed in Python."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for kind, debit, credit, amount in db.session.execute(text(
            "SELECT kind, debit_account_id, credit_account_id, amount FROM ledger_transfers")):
        posted = amount if kind in ("posted", "post") else 0
        pending = amount if kind == "pending" else 0 if kind == "posted" else -amount
        sums[debit][0] += posted
        sums[debit][2] += pending
        sums[credit][1] += posted
        sums[credit][3] += pending
    said = []
    for aid, owner, purpose, unit, dp_, cp_, dq_, cq_, debits_capped, credits_capped in db.session.execute(text(
            "SELECT id, owner, purpose, unit, debits_posted, credits_posted, debits_pending, credits_pending, "
            "debits_must_not_exceed_credits, credits_must_not_exceed_debits FROM ledger_accounts ORDER BY id")):
        have, want = (dp_, cp_, dq_, cq_), tuple(sums.pop(aid, (0, 0, 0, 0)))
        dp, cp, dq, cq = want
        name = f"account {aid} ({owner}/{purpose} {unit})"
        if have != want:
            said.append(f"{name}: cached totals {ledger_check._fmt(have)} differ from its transfers "
                        f"{ledger_check._fmt(want)}")
        if min(want) < 0:
            said.append(f"{name}: negative total from its transfers {ledger_check._fmt(want)}")
        if debits_capped and dp + dq > cp:
            said.append(f"{name}: overdrawn, debits {dp} + pending {dq} exceed credits {cp}")
        if credits_capped and cp + cq > dp:
            said.append(f"{name}: overdrawn, credits {cp} + pending {cq} exceed debits {dp}")
    return said + [f"transfers reference account {aid}, which does not exist" for aid in sorted(sums)]


def _of_accounts(violations: list[str]) -> list[str]:
    return [v for v in violations if v.startswith(("account ", "transfers reference account"))]


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("seed", range(16))
def test_the_accounts_compared_in_the_database_say_what_python_says(app, seed):
    rng = random.Random(seed)
    made = _accounts()
    _history(rng, made)
    assert ledger.check() == []
    _without_constraints()
    try:
        _tamper(rng, made)
        found = ledger.check()
        assert found  # no tampering goes unseen (a row written behind the ledger carries no digest)
        assert _of_accounts(found) == _plain_account_violations()
    finally:
        db.session.rollback()
    assert ledger.check() == []


@pytest.mark.rule("LED-4")
@pytest.mark.parametrize("every", [False, True])
def test_a_transfer_in_a_unit_not_its_accounts_is_named(app, every):
    """Found from the sums alone: an account whose transfers are all, or only some, in another unit."""
    made = _accounts()
    (expense, *_), (payable, *_), *_ = made["CNY"]
    first = ledger.transfer(debit=expense, credit=payable, amount=5, unit="CNY", reason="r", subject=None, key="a")
    if not every:
        ledger.transfer(debit=expense, credit=payable, amount=6, unit="CNY", reason="r", subject=None, key="b")
    db.session.commit()
    db.session.execute(text("UPDATE ledger_transfers SET unit = 'PTS' WHERE id = :i"), {"i": first.id})
    try:
        assert [v for v in ledger.check() if "does not balance" in v] == [
            f"transfer {first.id} does not balance (posted 5 PTS: accounts {expense}[CNY] -> {payable}[CNY])"]
    finally:
        db.session.rollback()


@pytest.mark.rule("LED-4")
def test_the_posted_totals_are_taken_from_the_transfers(app):
    made = _accounts()
    (expense, clearing, _), (payable, other, _), *_ = made["CNY"]
    ledger.transfer(debit=expense, credit=payable, amount=300, unit="CNY", reason="r", subject=None, key="a")
    ledger.transfer(debit=clearing, credit=other, amount=40, unit="CNY", reason="r", subject=None, key="b")
    db.session.commit()
    _, posted, suspect = ledger_check._account_violations()
    assert not suspect
    assert {k: n for k, n in posted.items() if n} == {("reward_payable", "CNY"): 340, ("referral_expense", "CNY"): 300,
                                                     ("cash_clearing", "CNY"): 40}
    db.session.rollback()


def _pair_with_a_transfer():
    (expense, *_), (payable, *_), *_ = _accounts()["CNY"]
    ledger.transfer(debit=expense, credit=payable, amount=10, unit="CNY", reason="r", subject=None, key="k1")
    db.session.commit()
    return expense, payable


@pytest.mark.rule("LED-4")
def test_a_cached_total_made_null_is_named(app, pg_only):
    """A NULL compares as unknown in SQL: the statement must still send the account back."""
    expense, _ = _pair_with_a_transfer()
    _without_constraints()
    try:
        db.session.execute(text("ALTER TABLE ledger_accounts ALTER COLUMN debits_posted DROP NOT NULL"))
        db.session.execute(text("UPDATE ledger_accounts SET debits_posted = NULL WHERE id = :i"), {"i": expense})
        assert [v for v in _of_accounts(ledger.check()) if v.startswith(f"account {expense} ")] == [
            f"account {expense} (store:1/referral_expense CNY): cached totals debits_posted=None credits_posted=0 "
            f"debits_pending=0 credits_pending=0 differ from its transfers debits_posted=10 credits_posted=0 "
            f"debits_pending=0 credits_pending=0"]
    finally:
        db.session.rollback()


@pytest.mark.rule("LED-4")
def test_a_transfer_without_account_ids_is_named_once(app, pg_only):
    _pair_with_a_transfer()
    _without_constraints()
    try:
        for side in ("debit", "credit"):
            db.session.execute(text(f"ALTER TABLE ledger_transfers ALTER COLUMN {side}_account_id DROP NOT NULL"))
        db.session.execute(text(
            "INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, reason, at) "
            "SELECT 'nn', 'posted', NULL, NULL, 5, 'CNY', 'x', at FROM ledger_transfers LIMIT 1"))
        assert [v for v in ledger.check() if v.startswith("transfers reference")] == [
            "transfers reference account None, which does not exist"]
    finally:
        db.session.rollback()


@pytest.mark.rule("LED-4")
def test_a_purpose_total_beyond_bigint_is_reported_not_raised(app):
    """Two transfers of 5 * 10**18 written behind the service into two payables: their purpose's total
    is beyond a 64-bit integer (SQLite's sum() would raise), and is still compared exactly."""
    made = _accounts()
    (expense, clearing, _), (first, second, _), *_ = made["CNY"]
    ledger.transfer(debit=expense, credit=first, amount=1, unit="CNY", reason="r", subject=None, key="a")
    db.session.commit()
    try:
        for n, (debit, credit) in enumerate(((expense, first), (clearing, second))):
            db.session.execute(text(
                "INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, reason, "
                "at) SELECT :k, 'posted', :d, :c, :a, 'CNY', 'x', at FROM ledger_transfers LIMIT 1"),
                {"k": f"big{n}", "d": debit, "c": credit, "a": 5 * 10**18})
        found = ledger.check()
        assert ("posted total of reward_payable CNY: kept 1 differs from its accounts' transfers "
                "10000000000000000001") in found
        assert len([v for v in found if v.startswith(f"account {second} ")]) == 1
    finally:
        db.session.rollback()
