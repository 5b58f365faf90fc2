"""payees' name grams (issue 16): the finance queue searched by a payee's name reads an index

The finance queue's search (loyalty.payouts.service._searched) finds a payout by its payee's name
(payouts.payee_name, LIKE '%q%') or its reference number. The name had no index: a payee no payout
names was a walk of every payout, 0.75 s at 450,000. This indexes it as customers' names are (0012n
name_grams, within a store by btree_gin as 0012t), on PostgreSQL only; SQLite keeps the LIKE.

Revision ID: 0016p_payee_name_grams
Revises: 0015c_claim_name_grams
Create Date: 2026-12-01 20:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016p_payee_name_grams'
down_revision = '0015c_claim_name_grams'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_payouts_store_payee_name_grams", "payouts",
                    ["store_id", sa.text("name_grams(payee_name)")], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_payouts_store_payee_name_grams", table_name="payouts")
