"""bench/api_setup.py (issue 16): a write is captured once per pgbench client; wrk still sends
every prepared request of an endpoint that has no more requests than clients (the captures were
rolled back), and bench/api.py keeps the endpoint in its run. On SQLite through the test app: the
claim's side-connection hold is PostgreSQL's, so the captures run without it here."""
from __future__ import annotations

from loyalty.directory import service as directory
from loyalty.extensions import db


def test_a_write_with_no_more_requests_than_clients_is_still_benchmarked(app, world, monkeypatch, tmp_path):
    import bench.api_setup as setup
    import loyalty.app
    for n in range(6):
        directory.create_customer(None, store_id=world.store.id, name=f"客{n}", phone=f"1361234000{n}")
    db.session.commit()
    monkeypatch.setattr(loyalty.app, "create_app", lambda *a, **k: app)
    real = setup._captures
    monkeypatch.setattr(setup, "_captures", lambda app_, client, db_, items, hold: real(app_, client, db_, items, None))
    clients = 4
    summary = setup.prepare(tmp_path, 4, 4, 0, clients)  # 4 service visits: one per client, none left
    visits = "POST /customers/{id}/service-visits"
    assert summary["captured"][visits]["scripts"] == clients
    assert (tmp_path / f"{setup.slug(visits)}.tsv").read_text().count("\n") == 4  # wrk's file: all 4 again
    # bench/api.py load_runs: chosen = [e for e in ENDPOINTS if prepared["counts"].get(e) ...]
    chosen = [e for e in setup.ENDPOINTS if summary["counts"].get(e)]
    assert visits in chosen, (summary["counts"], summary["captured"])
