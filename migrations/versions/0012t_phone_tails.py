"""phone tails and store-scoped name grams for the customer search (issue 16, helper search16)

A search by a phone's last 4 digits matched a hundred times more customers at 1M referrals than at
10k, and its count and page grew with the matches (the trigram index reads every phone holding
the tail's two trigrams, then the heap). On PostgreSQL:

- ix_customers_phone_tail: a btree on (right(phone, 4), id). The customers whose phone ends with
  the 4 digits, in id order: the first 1,001 of them (a bounded count) and the page after a
  cursor are range reads of this index (loyalty.directory.tails); ix_customers_store_phone_tail,
  (store_id, right(phone, 4), id), the same within a store (a store's staff: without it a
  manager whose store holds none of a tail's 5,000 phones read all of them, 32 ms at 3M).
- customers_phone_length: statistics on length(phone) (masked viewers find only phones whose
  mask shows the tail, length >= 12): without them the planner takes a third of the rows for
  that test and sorts every tail match instead of reading the first 1,001 in order.
- phone_inner_quads(text) and ix_customers_phone_inner_quads: the phone's 4-character windows but
  the last one (the tail), GIN-indexed. An admin's 4-digit search matches any part of a number:
  the tail (the btree above) or one of these windows, each read from its own index.
- btree_gin, and ix_customers_store_name_grams on (store_id, name_grams(name)) in place of
  ix_customers_name_grams: a store's manager searching a name common in the group but absent from
  his store is answered from the index instead of walking his store (the one index serves the
  searches without a store too: a GIN scan reads the columns its conditions name).

SQLite keeps its plain LIKEs and gets none of these. The downgrade leaves btree_gin installed (an
extension may serve others; dropping it is a superuser's decision).

Revision ID: 0012t_phone_tails
Revises: 0013l_ledger_totals
Create Date: 2026-12-01 06:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012t_phone_tails'
down_revision = '0013l_ledger_totals'
branch_labels = None
depends_on = None

# plpgsql as name_grams (0012n): a loop is a tenth of the cost of generate_series + array_agg.
PHONE_INNER_QUADS = """
CREATE FUNCTION phone_inner_quads(phone text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL RESTRICTED
AS $$
DECLARE
    quads text[] := '{}';
BEGIN
    FOR i IN 1 .. char_length(phone) - 4 LOOP
        quads := quads || substr(phone, i, 4);
    END LOOP;
    RETURN quads;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(PHONE_INNER_QUADS)
    op.create_index("ix_customers_phone_tail", "customers", [sa.text("right(phone, 4)"), "id"])
    op.create_index("ix_customers_store_phone_tail", "customers", ["store_id", sa.text("right(phone, 4)"), "id"])
    op.execute("CREATE STATISTICS customers_phone_length ON (length(phone)) FROM customers")
    op.create_index("ix_customers_phone_inner_quads", "customers", [sa.text("phone_inner_quads(phone)")],
                    postgresql_using="gin")
    op.create_index("ix_customers_store_name_grams", "customers", ["store_id", sa.text("name_grams(name)")],
                    postgresql_using="gin")
    op.drop_index("ix_customers_name_grams", table_name="customers")
    # the new expressions' statistics (the planner's share of a tail, a quad, a phone's length)
    # now rather than at autovacuum's next pass: a sample of the table, about a second at 3M rows
    op.execute("ANALYZE customers")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_customers_name_grams", "customers", [sa.text("name_grams(name)")], postgresql_using="gin")
    op.drop_index("ix_customers_store_name_grams", table_name="customers")
    op.drop_index("ix_customers_phone_inner_quads", table_name="customers")
    op.execute("DROP STATISTICS customers_phone_length")
    op.drop_index("ix_customers_store_phone_tail", table_name="customers")
    op.drop_index("ix_customers_phone_tail", table_name="customers")
    op.execute("DROP FUNCTION phone_inner_quads(text)")
