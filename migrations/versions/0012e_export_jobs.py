"""payout exports as background jobs (issue 16)

payout_exports: one row per export too large for a request: who asked, the filters, the status
(queued, running, done, failed, expired), rows done of rows total, the file once complete (name,
size, sha256), the attempts, a heartbeat (a running export silent too long died and is requeued)
and when its file expires.

Revision ID: 0012e_export_jobs
Revises: 0011c_audit_unchained
Create Date: 2026-12-01 03:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012e_export_jobs'
down_revision = '0012n_name_grams'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payout_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=120), nullable=True),
        sa.Column('size_bytes', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'expired')",
                           name=op.f('ck_payout_exports_status_known')),
        sa.CheckConstraint('rows_done >= 0', name=op.f('ck_payout_exports_rows_done_not_negative')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['staff.id'],
                                name=op.f('fk_payout_exports_requested_by_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_exports')),
    )
    op.create_index('ix_payout_exports_status_id', 'payout_exports', ['status', 'id'])
    op.create_index('ix_payout_exports_requested_by_id', 'payout_exports', ['requested_by_id', 'id'])


def downgrade():
    op.drop_index('ix_payout_exports_requested_by_id', table_name='payout_exports')
    op.drop_index('ix_payout_exports_status_id', table_name='payout_exports')
    op.drop_table('payout_exports')
