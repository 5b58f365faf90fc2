"""indexes for a dealer group's scale (issue 16): the callback queue, the referral lists' order,
points lots by transfer, customer search by any part of a name or phone

- ix_callbacks_due: (due_at, id) of the callbacks an agent may claim (planned, or claimed on a
  lease that may have run out), the filter and order of claim_next, so a claim reads one row
  instead of sorting every due callback;
- (the referral lists' order is indexed by 0010l_list_indexes, which keyset paging walks);
- ix_points_lots_transfer_id: the lot of a transfer (reports, unwinds) without a scan;
- ix_customers_name_trgm / ix_customers_phone_trgm: on PostgreSQL a GIN trigram index (pg_trgm)
  serving `LIKE '%q%'`; SQLite gets a plain index of the same name (the models declare one index
  for both databases).

Revision ID: 0010p_scale
Revises: 0010r_rings
Create Date: 2026-11-30 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010p_scale'
down_revision = '0010r_rings'
branch_labels = None
depends_on = None

CLAIMABLE = sa.text("status IN ('planned', 'claimed')")


def upgrade():
    op.create_index("ix_callbacks_due", "callbacks", ["due_at", "id"], postgresql_where=CLAIMABLE,
                    sqlite_where=CLAIMABLE)
    op.create_index("ix_points_lots_transfer_id", "points_lots", ["transfer_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in ("name", "phone"):
        op.create_index(f"ix_customers_{column}_trgm", "customers", [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    for column in ("name", "phone"):
        op.drop_index(f"ix_customers_{column}_trgm", table_name="customers")
    op.drop_index("ix_points_lots_transfer_id", table_name="points_lots")
    op.drop_index("ix_callbacks_due", table_name="callbacks")
