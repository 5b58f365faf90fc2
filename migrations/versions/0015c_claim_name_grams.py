"""claimed referrers' name grams (issue 16): a referral list searched by a name reads an index

A referral list's search (verification.referrals.lists.searched) finds the new customer by name,
phone or plate through the customers' indexes, and the referrer the consultant claimed by the name
he typed (referrals.claim_referrer_name, LIKE '%q%'). That one had no index: a rare name was a walk
of every referral, 1-2 s at 1M. This indexes it as the customers' names are (0012n name_grams,
within a store by btree_gin as 0012t), on PostgreSQL only; SQLite keeps the LIKE.

Revision ID: 0015c_claim_name_grams
Revises: 0014v_vehicle_plate_key
Create Date: 2026-12-01 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015c_claim_name_grams'
down_revision = '0014v_vehicle_plate_key'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_referrals_store_claim_name_grams", "referrals",
                    ["store_id", sa.text("name_grams(claim_referrer_name)")], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_referrals_store_claim_name_grams", table_name="referrals")
