"""Migrations that change data as well as the schema."""
from __future__ import annotations

from sqlalchemy import text

from loyalty.config import TestConfig as Config


def test_occupation_templates_join_a_bank_that_already_holds_the_defaults(tmp_path):
    """0007: a bank copied from the defaults before occupation existed gets its two templates once;
    an empty bank is left empty (it takes the defaults from the code on first use)."""
    from flask_migrate import downgrade, upgrade

    from loyalty.app import create_app
    from loyalty.extensions import db
    for name, seeded in (("bank-seeded.sqlite3", True), ("bank-empty.sqlite3", False)):
        app = create_app(Config(f"sqlite:///{tmp_path / name}"))
        with app.app_context():
            upgrade(revision="0006_ledger_apply")
            if seeded:
                with db.engine.begin() as conn:
                    conn.execute(text("INSERT INTO question_templates (code, kind, fact, text_zh, text_en, active, "
                                      "updated_at) VALUES ('open_employer', 'open', 'employer', '{who}在哪上班?', "
                                      "'Where does {who} work?', 1, '2026-11-01 00:00:00')"))
            upgrade()
            with db.engine.connect() as conn:
                codes = conn.execute(text("SELECT code FROM question_templates ORDER BY id")).scalars().all()
                conn.execute(text("SELECT occupation FROM customers")).all()
            assert codes == (["open_employer", "open_occupation", "stmt_occupation"] if seeded else [])
            with db.engine.begin() as conn:  # the downgrade must keep customers and what hangs on them
                conn.execute(text("INSERT INTO stores (id, code, name, timezone, active, created_at) "
                                  "VALUES (1, 'S1', 'S', 'Asia/Shanghai', 1, '2026-11-01 00:00:00')"))
                conn.execute(text("INSERT INTO customers (id, store_id, name, phone, occupation, created_at) "
                                  "VALUES (1, 1, '张三', '+8613800138000', '工程师', '2026-11-01 00:00:00')"))
                conn.execute(text("INSERT INTO vehicles (customer_id, model, colour, transmission, created_at) "
                                  "VALUES (1, '速腾', '白色', 'automatic', '2026-11-01 00:00:00')"))
            downgrade(revision="0006_ledger_apply")
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM vehicles")).scalar() == 1
                assert conn.execute(text("SELECT name FROM customers")).scalar() == "张三"
            upgrade()  # and back: nothing doubled
            with db.engine.connect() as conn:
                again = conn.execute(text("SELECT code FROM question_templates ORDER BY id")).scalars().all()
            assert again == codes
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM vehicles"))
                conn.execute(text("DELETE FROM customers"))
                conn.execute(text("DELETE FROM stores"))
            db.engine.dispose()
