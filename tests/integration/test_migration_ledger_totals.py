"""Migration 0013l: a database upgraded with its accounts gets its posted totals per (purpose, unit) at once
(issue 16), each balance signed by its account's normal side; downgrade removes them."""
from __future__ import annotations

from sqlalchemy import text

from loyalty.config import TestConfig as Config
from tests.conftest import _TMP

ACCOUNT = ("INSERT INTO ledger_accounts (id, owner, purpose, unit, normal, debits_must_not_exceed_credits, "
           "credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending, credits_pending, created_at) "
           "VALUES ({id}, '{owner}', '{purpose}', '{unit}', '{normal}', 0, 0, {dp}, {cp}, {dq}, 0, '2026-11-01 02:00:00')")
ACCOUNTS = [dict(id=1, owner="store:1", purpose="referral_expense", unit="CNY", normal="debit", dp=900, cp=100, dq=7),
            dict(id=2, owner="customer:1", purpose="reward_payable", unit="CNY", normal="credit", dp=300, cp=800, dq=0),
            dict(id=3, owner="customer:2", purpose="reward_payable", unit="CNY", normal="credit", dp=0, cp=400, dq=0),
            dict(id=4, owner="store:1", purpose="cash_clearing", unit="CNY", normal="debit", dp=0, cp=300, dq=0),
            dict(id=5, owner="customer:3", purpose="reward_payable", unit="PTS", normal="credit", dp=5, cp=5, dq=0)]


def test_0013l_fills_the_posted_totals_from_the_accounts():
    from flask_migrate import downgrade, upgrade

    from loyalty.app import create_app
    from loyalty.extensions import db
    app = create_app(Config(f"sqlite:///{_TMP / 'ledger-0013l.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0012w_ring_window")
        with db.engine.begin() as conn:
            for row in ACCOUNTS:
                conn.execute(text(ACCOUNT.format(**row)))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT purpose, unit, n FROM ledger_totals ORDER BY purpose")).all()
        # pending (dq) is not posted; a total of 0 (the PTS account) is not kept
        assert [tuple(r) for r in rows] == [("cash_clearing", "CNY", -300), ("referral_expense", "CNY", 800),
                                            ("reward_payable", "CNY", 900)]
        downgrade(revision="0012w_ring_window")
        with db.engine.connect() as conn:
            assert "ledger_totals" not in {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        db.engine.dispose()
