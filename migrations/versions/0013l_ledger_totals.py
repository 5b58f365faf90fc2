"""ledger totals (issue 16): the posted balance per (purpose, unit) of all accounts, kept current

- ledger_totals: (purpose, unit) -> the posted balances of its accounts, each signed by the
  account's normal side, as far as the `ledger_totals` job has folded (loyalty/ledger/totals.py);
- ledger_total_deltas: what transfers appended since, in their own transaction (insert only, so
  concurrent transfers never wait on a total's row);
- ledger_apply: as in 0008a, and a transfer that moves a posted amount (posted, post) appends the
  change of its two accounts' totals (one row per (purpose, unit), none when they cancel).
Filled here from the accounts' cached totals, so an upgraded database reports the same figures at
once; `flask reports rebuild` does it again.

Revision ID: 0013l_ledger_totals
Revises: 0012w_ring_window
Create Date: 2026-12-01 06:30:00
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0013l_ledger_totals'
down_revision = '0012w_ring_window'
branch_labels = None
depends_on = None


def _audit_key():
    """Migration 0008a (its function's body and signature), loaded from its file."""
    spec = importlib.util.spec_from_file_location("m0008a", Path(__file__).with_name("0008a_audit_key.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


APPEND_DELTAS = """
    IF dp <> 0 THEN
        INSERT INTO ledger_total_deltas (purpose, unit, n)
        SELECT v.purpose, v.unit, sum(v.n) FROM (VALUES
            (d.purpose, d.unit, CASE WHEN d.normal = 'credit' THEN -dp ELSE dp END),
            (c.purpose, c.unit, CASE WHEN c.normal = 'credit' THEN dp ELSE -dp END)) AS v(purpose, unit, n)
        GROUP BY v.purpose, v.unit HAVING sum(v.n) <> 0;
    END IF;
    RETURN new_id;
END $$;
"""
END = "\n    RETURN new_id;\nEND $$;\n"

FILL = """
INSERT INTO ledger_totals (purpose, unit, n)
SELECT purpose, unit, sum(CASE WHEN normal = 'credit' THEN credits_posted - debits_posted
                               ELSE debits_posted - credits_posted END)
  FROM ledger_accounts GROUP BY purpose, unit
HAVING sum(CASE WHEN normal = 'credit' THEN credits_posted - debits_posted ELSE debits_posted - credits_posted END) <> 0
"""


def _function(with_deltas: bool) -> str:
    old = _audit_key()
    body = old.APPLY_BODY.replace("{digest_column}", ", digest").replace("{digest_value}", ", p_digest")
    assert body.endswith(END), "0008a's ledger_apply no longer ends as expected"
    if with_deltas:
        body = body[:-len(END)] + APPEND_DELTAS
    return "CREATE OR REPLACE FUNCTION " + old.SIGNATURE.format(digest_arg=", p_digest varchar") + body


def upgrade():
    op.create_table('ledger_totals', sa.Column('purpose', sa.String(length=40), nullable=False),
                    sa.Column('unit', sa.String(length=3), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('purpose', 'unit', name=op.f('pk_ledger_totals')))
    op.create_table('ledger_total_deltas',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('purpose', sa.String(length=40), nullable=False),
                    sa.Column('unit', sa.String(length=3), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_total_deltas')))
    op.execute(sa.text(FILL))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(with_deltas=True))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(with_deltas=False))
    op.drop_table('ledger_total_deltas')
    op.drop_table('ledger_totals')
