"""A customer search by a whole plate (service desk, admins) reads ix_vehicles_plate_key on
PostgreSQL (migration 0014v, issue 16): the index is on the very expression search.plate_match
compares, so changing either one alone makes the search scan every vehicle again."""
from __future__ import annotations

from sqlalchemy import insert, text

from loyalty import clock
from loyalty.directory import search
from loyalty.directory.models import Customer, Vehicle
from loyalty.extensions import db


def test_postgresql_finds_a_plate_through_its_index(app, pg_only, world):
    db.session.execute(insert(Customer), [{"store_id": world.store.id, "name": f"客{i}", "phone": f"+86137{i:08d}",
                                           "created_at": clock.now()} for i in range(2000)])
    ids = db.session.scalars(text("SELECT id FROM customers ORDER BY id DESC LIMIT 2000")).all()
    db.session.execute(insert(Vehicle), [{"customer_id": cid, "model": "速腾", "colour": "白色",
                                          "transmission": "automatic", "plate": f"沪A{n:05d}", "desk": "import",
                                          "created_at": clock.now()} for n, cid in enumerate(ids)])
    db.session.commit()
    db.session.execute(text("ANALYZE vehicles"))
    query = search.customers_query(world.staff["service"]).where(search.plate_match("沪a 00042")).with_only_columns(
        Customer.id)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = "\n".join(db.session.execute(text("EXPLAIN " + sql.replace("%%", "%"))).scalars())
    assert "ix_vehicles_plate_key" in plan and "Seq Scan on vehicles" not in plan, plan
    assert db.session.execute(query).scalars().all() == [ids[42]]
