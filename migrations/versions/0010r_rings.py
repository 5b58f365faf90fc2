"""collusion and ring detection (issue 17)

* staff.phone (E.164) and staff.national_id_hash / national_id_last4, kept exactly as customers'
  (SEC-3: a keyed hash and the last 4), so staff who are also customers can be found.
* store_policies: the ring thresholds (verification/rings/README.md documents each default).
* risk_assessments (one per assessed referral: its score and when) and risk_signals (each signal
  that fired, its weight, the referrals it links to and its evidence).

Revision ID: 0010r_rings
Revises: 0010l_list_indexes
Create Date: 2026-11-30 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010r_rings'
down_revision = "0010l_list_indexes"
branch_labels = None
depends_on = None

# name -> server default (the model's default; verification/rings/README.md explains them)
POLICY = {
    "ring_review_score": 50, "ring_window_days": 180, "ring_concentration_min": 6,
    "ring_concentration_pct": 60, "ring_spread_days": 30, "ring_spread_consultants": 3,
    "ring_shared_min": 3, "ring_fact_edit_days": 7, "ring_pair_min": 8, "ring_pair_factor_pct": 200,
}


def upgrade():
    # plain ADD COLUMN (no batch rebuild: other tables reference staff)
    op.add_column('staff', sa.Column('phone', sa.String(length=20), nullable=True))
    op.add_column('staff', sa.Column('national_id_hash', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('national_id_last4', sa.String(length=4), nullable=True))
    op.create_index('ix_staff_phone', 'staff', ['phone'])
    op.create_index('ix_staff_national_id_hash', 'staff', ['national_id_hash'])
    for name, default in POLICY.items():
        op.add_column('store_policies', sa.Column(name, sa.Integer(), server_default=str(default), nullable=False))
    op.create_index('ix_referrals_referee', 'referrals', ['referee_id'])

    op.create_table(
        'risk_assessments',
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ondelete='CASCADE',
                                name=op.f('fk_risk_assessments_referral_id_referrals')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_risk_assessments_store_id_stores')),
        sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_risk_assessments')),
    )
    op.create_index('ix_risk_assessments_store_score', 'risk_assessments', ['store_id', 'score'])
    op.create_table(
        'risk_signals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('linked', sa.JSON(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['referral_id'], ['risk_assessments.referral_id'], ondelete='CASCADE',
                                name=op.f('fk_risk_signals_referral_id_risk_assessments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_signals')),
    )
    op.create_index('ix_risk_signals_referral_id', 'risk_signals', ['referral_id'])


def downgrade():
    op.drop_index('ix_risk_signals_referral_id', table_name='risk_signals')
    op.drop_table('risk_signals')
    op.drop_index('ix_risk_assessments_store_score', table_name='risk_assessments')
    op.drop_table('risk_assessments')
    op.drop_index('ix_referrals_referee', table_name='referrals')
    for name in reversed(list(POLICY)):
        op.drop_column('store_policies', name)  # SQLite 3.35+ drops a column in place
    op.drop_index('ix_staff_national_id_hash', table_name='staff')
    op.drop_index('ix_staff_phone', table_name='staff')
    for column in ('national_id_last4', 'national_id_hash', 'phone'):
        op.drop_column('staff', column)
