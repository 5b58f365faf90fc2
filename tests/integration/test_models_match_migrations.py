"""The models and the migrations describe the same schema (issue 13 item 11).

The database every integration test gets was built by `upgrade head` (never create_all), so
Alembic's autogenerate comparison against the models must find nothing: a column, index,
constraint, type or server default added on one side only fails here, on SQLite and PostgreSQL.
Nothing is filtered: every difference the comparison reports counts.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from loyalty.extensions import db

OPTIONS = {"compare_type": True, "compare_server_default": True}


def _differences(metadata: sa.MetaData) -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), metadata)


def test_models_match_the_migrated_schema(app):
    assert _differences(db.metadata) == []


def test_the_comparison_sees_a_column_the_migrations_lack(app):
    """The check above can fail: a model with one more column than its migrated table is reported."""
    metadata = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["stores"].append_column(sa.Column("not_migrated", sa.Integer, nullable=True))
    assert [d[:3] for d in _differences(metadata)] == [("add_column", None, "stores")]
