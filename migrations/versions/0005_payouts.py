"""payouts: finance approvals, payment and clawback of cash rewards

Cash rewards verified before this revision get their payouts from
`flask --app wsgi payouts backfill` (idempotent; it writes the audit events a
plain SQL data migration could not).

Revision ID: 0005_payouts
Revises: 0004_callbacks
Create Date: 2026-11-25 19:23:18.767151

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_payouts'
down_revision = '0004_callbacks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('payee', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=3), nullable=False),
    sa.Column('gross_amount', sa.BigInteger(), nullable=False),
    sa.Column('offset_amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('blocked_approver_ids', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by_id', sa.Integer(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=True),
    sa.Column('external_reference', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('reverse_transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('offset_transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('paid_transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('clawback_transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('awaiting_approval', 'approved', 'paid', 'rejected', 'cancelled', 'clawed_back')", name=op.f('ck_payouts_status_known')),
    sa.CheckConstraint("unit = 'CNY'", name=op.f('ck_payouts_unit_cny')),
    sa.CheckConstraint('approvals_required IN (1, 2)', name=op.f('ck_payouts_approvals_required_known')),
    sa.CheckConstraint('gross_amount > 0', name=op.f('ck_payouts_gross_positive')),
    sa.CheckConstraint('offset_amount >= 0 AND offset_amount <= gross_amount', name=op.f('ck_payouts_offset_within_gross')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['staff.id'], name=op.f('fk_payouts_paid_by_id_staff')),
    sa.ForeignKeyConstraint(['rejected_by_id'], ['staff.id'], name=op.f('fk_payouts_rejected_by_id_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_payouts_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('subject', name=op.f('uq_payouts_subject'))
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payouts_payee'), ['payee'], unique=False)
        batch_op.create_index('ix_payouts_status_store', ['status', 'store_id'], unique=False)

    op.create_table('payout_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('request_key', sa.String(length=160), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['staff.id'], name=op.f('fk_payout_approvals_approver_id_staff')),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_approvals_payout_id_payouts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_approvals')),
    sa.UniqueConstraint('payout_id', 'approver_id', name='uq_payout_approvals_payout_approver')
    )
    with op.batch_alter_table('payout_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_approvals_payout_id'), ['payout_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payout_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_approvals_payout_id'))

    op.drop_table('payout_approvals')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index('ix_payouts_status_store')
        batch_op.drop_index(batch_op.f('ix_payouts_payee'))

    op.drop_table('payouts')
