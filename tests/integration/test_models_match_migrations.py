"""The models and the migrations describe the same schema (issue 13 item 11).

The database every integration test gets was built by `upgrade head` (never create_all), so
Alembic's autogenerate comparison against the models must find nothing: a column, index,
constraint, type or server default added on one side only fails here, on SQLite and PostgreSQL.
Nothing is filtered but what the models declare for another database only (`ddl_if(dialect=...)`,
such as PostgreSQL's ix_customers_name_grams): every difference the comparison reports counts.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from loyalty.extensions import db

OPTIONS = {"compare_type": True, "compare_server_default": True}


def _differences(metadata: sa.MetaData) -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=OPTIONS), _declared_for(metadata, conn.dialect.name))


def _declared_for(metadata: sa.MetaData, dialect: str) -> sa.MetaData:
    """The models as `dialect` should hold them: without the indexes declared for another database only
    (in the models or in `metadata`: a copy by `to_metadata` keeps an index but not its ddl_if)."""
    def elsewhere(index: sa.Index) -> bool:
        only = getattr(index, "_ddl_if", None)  # SQLAlchemy's record of ddl_if()
        return only is not None and only.dialect not in (None, dialect)
    names = {index.name for source in (db.metadata, metadata) for table in source.sorted_tables
             for index in table.indexes if elsewhere(index)}
    if not names:
        return metadata
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        copied = table.to_metadata(copy)
        for index in [index for index in copied.indexes if index.name in names]:
            copied.indexes.discard(index)
    return copy


def test_models_match_the_migrated_schema(app):
    assert _differences(db.metadata) == []


def test_the_comparison_sees_a_column_the_migrations_lack(app):
    """The check above can fail: a model with one more column than its migrated table is reported."""
    metadata = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["stores"].append_column(sa.Column("not_migrated", sa.Integer, nullable=True))
    assert [d[:3] for d in _differences(metadata)] == [("add_column", None, "stores")]


def test_an_index_declared_for_this_database_only_is_still_compared(app):
    """The ddl_if filter leaves out only other databases' objects: an index the models declare for
    this database, missing from its migrated schema, is reported; one for another is not."""
    metadata = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    here = db.engine.dialect.name
    other = "sqlite" if here == "postgresql" else "postgresql"
    stores = metadata.tables["stores"]
    sa.Index("ix_stores_code_here", stores.c.code).ddl_if(dialect=here)
    sa.Index("ix_stores_code_other", stores.c.code).ddl_if(dialect=other)
    assert [(d[0], d[1].name) for d in _differences(metadata)] == [("add_index", "ix_stores_code_here")]
