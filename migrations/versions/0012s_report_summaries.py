"""report summaries (issue 16): the referral reports read counts per day and store, not every referral

- report_counts: (day, store_id, staff_id, metric, bucket) -> n, what the `report_summaries` job
  has folded in (verification/reports/models.py says what each metric counts);
- report_count_deltas: what writers appended since, in their own transaction (insert only);
- payout_totals / payout_total_deltas: the same for the open payables per store and status
  (the liabilities report; loyalty/reports/models.py).
Filled from the base rows by `flask reports rebuild` (set-based SQL): run it once after this
upgrade on a database that already holds referrals.

Revision ID: 0012s_report_summaries
Revises: 0011c_audit_unchained
Create Date: 2026-12-01 02:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012s_report_summaries'
down_revision = '0011c_audit_unchained'
branch_labels = None
depends_on = None


def _columns():
    return [sa.Column('day', sa.Date(), nullable=False), sa.Column('store_id', sa.Integer(), nullable=False),
            sa.Column('staff_id', sa.Integer(), nullable=False), sa.Column('metric', sa.String(length=20), nullable=False),
            sa.Column('bucket', sa.Integer(), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False)]


def upgrade():
    op.create_table('report_counts', *_columns(),
                    sa.PrimaryKeyConstraint('day', 'store_id', 'staff_id', 'metric', 'bucket', name=op.f('pk_report_counts')))
    op.create_table('report_count_deltas', sa.Column('id', sa.Integer(), nullable=False), *_columns(),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_count_deltas')))
    op.create_index('ix_report_count_deltas_day', 'report_count_deltas', ['day'])
    op.create_table('payout_totals', sa.Column('store_id', sa.Integer(), nullable=False),
                    sa.Column('status', sa.String(length=20), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('store_id', 'status', name=op.f('pk_payout_totals')))
    op.create_table('payout_total_deltas', sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('store_id', sa.Integer(), nullable=False), sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_total_deltas')))


def downgrade():
    op.drop_table('payout_total_deltas')
    op.drop_table('payout_totals')
    op.drop_index('ix_report_count_deltas_day', table_name='report_count_deltas')
    op.drop_table('report_count_deltas')
    op.drop_table('report_counts')
