"""A customer search by a whole plate (service desk, admins) reads ix_vehicles_plate_key on
PostgreSQL (migration 0014v, issue 16): the index is on the very expression search.plate_match
compares, so changing either one alone makes the search scan every vehicle again."""
from __future__ import annotations

from sqlalchemy import insert, text

from loyalty import clock
from loyalty.directory import search
from loyalty.directory.models import Customer, Vehicle
from loyalty.extensions import db


def _plates(world) -> list[int]:
    """2,000 customers of the store, the n-th newest with the car 沪A{n:05d}; their ids, newest first."""
    db.session.execute(insert(Customer), [{"store_id": world.store.id, "name": f"客{i}", "phone": f"+86137{i:08d}",
                                           "created_at": clock.now()} for i in range(2000)])
    ids = db.session.scalars(text("SELECT id FROM customers ORDER BY id DESC LIMIT 2000")).all()
    db.session.execute(insert(Vehicle), [{"customer_id": cid, "model": "速腾", "colour": "白色",
                                          "transmission": "automatic", "plate": f"沪A{n:05d}", "desk": "import",
                                          "created_at": clock.now()} for n, cid in enumerate(ids)])
    db.session.commit()
    db.session.execute(text("ANALYZE vehicles"))
    return ids


def _plan(query) -> str:
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    return "\n".join(db.session.execute(text("EXPLAIN " + sql.replace("%%", "%"))).scalars())


def test_postgresql_finds_a_plate_through_its_index(app, pg_only, world):
    ids = _plates(world)
    query = search.customers_query(world.staff["service"]).where(search.plate_match("沪a 00042")).with_only_columns(
        Customer.id)
    plan = _plan(query)
    assert "ix_vehicles_plate_key" in plan and "Seq Scan on vehicles" not in plan, plan
    assert db.session.execute(query).scalars().all() == [ids[42]]


def test_a_search_probe_reads_the_plate_and_the_name_from_their_indexes(app, pg_only, world):
    """The search's probe (search._found: `indexed`) ORs the name and the plate; PostgreSQL must be
    able to answer that OR from both indexes (a BitmapOr), not only by walking the store's customers
    with the plate's subquery as a filter (3.2 s at 1M referrals). Scans are switched off so that
    the plan shows what the form allows, not what a small table makes cheap."""
    db.session.execute(text("INSERT INTO customers (store_id, name, phone, created_at) SELECT :store, '客' || n, "
                            "'+86136' || lpad(n::text, 8, '0'), now() FROM generate_series(1, 30000) AS n"),
                       {"store": world.store.id})  # a store whose walk costs more than two index reads
    ids = _plates(world)
    namesake = Customer(store_id=world.store.id, name="沪A00042的车主", phone="+8613900000042", created_at=clock.now())
    db.session.add(namesake)
    db.session.commit()
    db.session.execute(text("ANALYZE customers"))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    probe = search.customers_query(world.staff["service"], q="沪A00042", indexed=True).with_only_columns(Customer.id)
    plan = _plan(probe)
    assert "BitmapOr" in plan and "ix_vehicles_plate_key" in plan and "name_grams" in plan, plan
    assert sorted(db.session.execute(probe).scalars()) == sorted([ids[42], namesake.id])
