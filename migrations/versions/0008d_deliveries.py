"""deliveries on record whatever the outcome; delivery check records (REG-7, DEL-3)

- deliveries: how each came on record (check, api, dms), the referral whose check recorded
  it, whether the time of day is known (a sales-system export may give only the day), one
  delivery per vehicle, and an index to list a store's deliveries by time.
- delivery_check_records: every decided delivery check with the side-by-side comparison, kept
  for replay, and the one reopening of its rejection. Checks decided before this migration get
  a record with the per-field results they stored (their side-by-side values were never kept).

SQLite: `deliveries` is rebuilt (batch mode); no table references it before this migration.

Revision ID: 0008d_deliveries
Revises: 0008h_hardening
Create Date: 2026-11-27 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008d_deliveries'
down_revision = '0008h_hardening'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_known', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='check', nullable=False))
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deliveries_referral_id_referrals'), 'referrals',
                                    ['referral_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_deliveries_source_known'),
                                         "source IN ('check', 'api', 'dms')")
        batch_op.create_index('uq_deliveries_vehicle_id', ['vehicle_id'], unique=True)
        batch_op.create_index('ix_deliveries_store_delivered', ['store_id', 'delivered_at'], unique=False)
    op.execute(sa.text(
        "UPDATE deliveries SET referral_id = (SELECT min(r.id) FROM referrals r "
        "WHERE r.delivered_vehicle_id = deliveries.vehicle_id)"))

    op.create_table('delivery_check_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('licence', sa.JSON(), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('comparison', sa.JSON(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_by_id', sa.Integer(), nullable=True),
    sa.Column('reopen_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("outcome IN ('passed', 'licence_mismatch', 'late_claim')",
                       name=op.f('ck_delivery_check_records_outcome_known')),
    sa.ForeignKeyConstraint(['checked_by_id'], ['staff.id'],
                            name=op.f('fk_delivery_check_records_checked_by_id_staff')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                            name=op.f('fk_delivery_check_records_delivery_id_deliveries')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                            name=op.f('fk_delivery_check_records_referral_id_referrals')),
    sa.ForeignKeyConstraint(['reopened_by_id'], ['staff.id'],
                            name=op.f('fk_delivery_check_records_reopened_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_check_records'))
    )
    with op.batch_alter_table('delivery_check_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_check_records_referral_id'), ['referral_id'], unique=False)
    _record_earlier_checks()


def _record_earlier_checks():
    """A check record for every delivery check decided before this migration."""
    conn = op.get_bind()
    referrals = sa.table('referrals', sa.column('id', sa.Integer), sa.column('status', sa.String),
                         sa.column('reason', sa.String), sa.column('delivered_at', sa.DateTime(timezone=True)),
                         sa.column('delivery_checked_at', sa.DateTime(timezone=True)),
                         sa.column('delivery_checked_by_id', sa.Integer), sa.column('delivery_checks', sa.JSON),
                         sa.column('delivered_vehicle_id', sa.Integer))
    deliveries = sa.table('deliveries', sa.column('id', sa.Integer), sa.column('vehicle_id', sa.Integer))
    records = sa.table('delivery_check_records', sa.column('referral_id', sa.Integer),
                       sa.column('delivery_id', sa.Integer), sa.column('checked_by_id', sa.Integer),
                       sa.column('checked_at', sa.DateTime(timezone=True)), sa.column('outcome', sa.String),
                       sa.column('delivered_at', sa.DateTime(timezone=True)), sa.column('licence', sa.JSON),
                       sa.column('checks', sa.JSON), sa.column('comparison', sa.JSON))
    rows = conn.execute(
        sa.select(referrals, deliveries.c.id.label('delivery_id'))
        .select_from(referrals.outerjoin(deliveries, deliveries.c.vehicle_id == referrals.c.delivered_vehicle_id))
        .where(referrals.c.delivery_checked_at.is_not(None), referrals.c.delivered_at.is_not(None),
               referrals.c.delivery_checked_by_id.is_not(None))
        .order_by(referrals.c.id)).mappings().all()
    batch = []
    for row in rows:
        if row['status'] == 'rejected' and row['reason'] in ('licence_mismatch', 'late_claim'):
            outcome = row['reason']
        elif row['status'] == 'rejected':
            continue
        else:
            outcome = 'passed'
        batch.append({'referral_id': row['id'], 'delivery_id': row['delivery_id'],
                      'checked_by_id': row['delivery_checked_by_id'], 'checked_at': row['delivery_checked_at'],
                      'outcome': outcome, 'delivered_at': row['delivered_at'], 'licence': {},
                      'checks': row['delivery_checks'] or {}, 'comparison': {}})
    if batch:
        op.bulk_insert(records, batch)


def downgrade():
    with op.batch_alter_table('delivery_check_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_check_records_referral_id'))
    op.drop_table('delivery_check_records')
    # deliveries recorded without a vehicle-matching check (rejections, imports) stay: they are
    # still deliveries; only the new columns go
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_store_delivered')
        batch_op.drop_index('uq_deliveries_vehicle_id')
        batch_op.drop_constraint(batch_op.f('ck_deliveries_source_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_deliveries_referral_id_referrals'), type_='foreignkey')
        batch_op.drop_column('referral_id')
        batch_op.drop_column('source')
        batch_op.drop_column('time_known')
