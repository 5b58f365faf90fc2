"""indexes for keyset-paged lists (issue 15 item 3, issue 16)

Referral, payout and delivery lists are paged by (time, id), newest first, for a store or the
whole group, and a consultant's list by its registrant: each order gets an index that reads a
page without sorting or counting the table.

Revision ID: 0010l_list_indexes
Revises: 0009_payout_label
Create Date: 2026-11-30 19:00:00
"""
from alembic import op

revision = '0010l_list_indexes'
down_revision = '0009_payout_label'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_referrals_registered_id", "referrals", ["registered_at", "id"]),
    ("ix_referrals_store_registered_id", "referrals", ["store_id", "registered_at", "id"]),
    ("ix_referrals_registrant_registered_id", "referrals", ["registered_by_id", "registered_at", "id"]),
    ("ix_payouts_requested_id", "payouts", ["requested_at", "id"]),
    ("ix_payouts_store_requested_id", "payouts", ["store_id", "requested_at", "id"]),
    ("ix_payouts_status_requested_id", "payouts", ["status", "requested_at", "id"]),
    ("ix_deliveries_delivered_id", "deliveries", ["delivered_at", "id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
