"""customer names indexed by their characters and character pairs (issue 16: name search at 1M)

Chinese names are 2-3 characters and people type 1-3 of them. ix_customers_name_trgm (pg_trgm)
serves `name LIKE '%q%'` only when q holds a whole trigram, 3 characters or more: a 1- or
2-character name search read the whole table, or worse, the whole trigram index (a pattern with
no trigram matches every entry) when the planner took its LIKE estimate for a few rows.

On PostgreSQL:
- name_grams(text): the array of a text's single characters and pairs of adjacent characters, as
  typed (case and spaces kept: LIKE compares them so). IMMUTABLE, so it can be indexed.
- ix_customers_name_grams: a GIN index on name_grams(name). A name containing q contains every
  pair of q (or, for one character, that character), so `name_grams(name) @> grams(q)` finds a
  superset of the LIKE's rows from the index (the same rows up to 2 characters), and the LIKE
  beside it decides (loyalty/directory/search.py: a probe through the index, then the page).
- ix_customers_name_trgm goes, on both databases: the grams serve 3+ characters too (all of q's
  pairs, then the LIKE), and SQLite's was a plain index no `LIKE '%q%'` can use.

SQLite keeps the plain LIKE (a small database scans its table), and no function or index.

Revision ID: 0012n_name_grams
Revises: 0011c_audit_unchained
Create Date: 2026-12-01 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012n_name_grams'
down_revision = '0012s_report_summaries'
branch_labels = None
depends_on = None

# plpgsql: about 3 us a name, a tenth of a SQL function built on generate_series and array_agg.
# PARALLEL RESTRICTED keeps a query through the index in one process: it reads a few index rows,
# and parallel workers cost more to start (15 ms on the loaded 2-core bench machine) than that.
NAME_GRAMS = """
CREATE FUNCTION name_grams(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL RESTRICTED
AS $$
DECLARE
    grams text[] := string_to_array(name, NULL);
BEGIN
    FOR i IN 1 .. char_length(name) - 1 LOOP
        grams := grams || substr(name, i, 2);
    END LOOP;
    RETURN grams;
END
$$
"""


def upgrade():
    op.drop_index("ix_customers_name_trgm", table_name="customers")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NAME_GRAMS)
    op.create_index("ix_customers_name_grams", "customers", [sa.text("name_grams(name)")], postgresql_using="gin")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_customers_name_grams", table_name="customers")
        op.execute("DROP FUNCTION name_grams(text)")
    op.create_index("ix_customers_name_trgm", "customers", ["name"], postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})
