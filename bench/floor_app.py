"""The floor of bench/api.py (issue 16): a minimal Flask app doing one INSERT through SQLAlchemy Core.

    gunicorn -w 4 -b 127.0.0.1:8092 'bench.floor_app:make()'   # FLOOR_DATABASE_URL names its database

What every request of the service pays at least (HTTP parsing, a WSGI worker, a pooled connection,
one INSERT and its commit) measured under the same gunicorn settings, so the service's throughput can
be read as a fraction of what Flask and PostgreSQL do here with no application code at all.
"""
from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, create_engine, func, insert

metadata = MetaData()
hits = Table("floor_hits", metadata, Column("id", BigInteger, primary_key=True),
             Column("at", DateTime(timezone=True), server_default=func.now()), Column("n", Integer))


def make() -> Flask:
    app = Flask(__name__)
    url = os.environ["FLOOR_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, pool_size=5)  # as the app: no pre-ping (DB_POOL_PRE_PING=0)

    @app.post("/hit")
    def hit():
        with engine.begin() as conn:
            new = conn.execute(insert(hits).values(n=request.content_length or 0).returning(hits.c.id)).scalar_one()
        return jsonify(id=new), 201
    return app


def create_table(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    engine.dispose()
