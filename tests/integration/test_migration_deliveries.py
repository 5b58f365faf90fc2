"""Migration 0008d: deliveries learn their source and referral; checks decided before it get a record."""
from __future__ import annotations

import json

from sqlalchemy import text

from loyalty.config import TestConfig as Config

AT = "'2026-11-01 02:00:00'"
ROWS = [
    "INSERT INTO stores (id, code, name, timezone, active, created_at) VALUES (1, 'S1', 'S', 'Asia/Shanghai', 1, {at})",
    "INSERT INTO staff (id, username, display_name, role, store_id, password_hash, active, created_at) "
    "VALUES (1, 'm', 'M', 'manager', 1, 'x', 1, {at})",
    "INSERT INTO customers (id, store_id, name, phone, created_at) VALUES (1, 1, '张三', '+8613800138000', {at})",
    "INSERT INTO customers (id, store_id, name, phone, created_at) VALUES (2, 1, '李四', '+8613900139000', {at})",
    "INSERT INTO customers (id, store_id, name, phone, created_at) VALUES (3, 1, '赵六', '+8613512345670', {at})",
    "INSERT INTO vehicles (id, customer_id, model, colour, transmission, created_at) "
    "VALUES (7, 2, '高尔夫', '红色', 'manual', {at})",
    "INSERT INTO deliveries (id, store_id, customer_id, vehicle_id, delivered_at, recorded_by_id, recorded_at) "
    "VALUES (1, 1, 2, 7, {at}, 1, {at})",
    # passed: the delivery above; rejected at the check: only its time on the referral
    "INSERT INTO referrals (id, store_id, referrer_id, referee_id, registered_by_id, status, claim_referrer_name, "
    "claim_referrer_phone, claim_referrer_model, claim_referrer_colour, registered_at, delivered_at, "
    "delivery_checked_at, delivery_checked_by_id, delivery_checks, delivered_vehicle_id, updated_at) VALUES "
    "(1, 1, 1, 2, 1, 'verified', '张三', '+8613800138000', '速腾', '白色', {at}, {at}, {at}, 1, "
    "'{{\"plate\": \"match\"}}', 7, {at})",
    "INSERT INTO referrals (id, store_id, referrer_id, referee_id, registered_by_id, status, reason, "
    "claim_referrer_name, claim_referrer_phone, claim_referrer_model, claim_referrer_colour, registered_at, "
    "delivered_at, delivery_checked_at, delivery_checked_by_id, delivery_checks, updated_at) VALUES "
    "(2, 1, 1, 3, 1, 'rejected', 'licence_mismatch', '张三', '+8613800138000', '速腾', '白色', {at}, {at}, {at}, "
    "1, '{{\"model\": \"mismatch\"}}', {at})",
]


def test_0008d_links_deliveries_records_earlier_checks_and_downgrades_keeping_deliveries(tmp_path):
    from flask_migrate import downgrade, upgrade

    from loyalty.app import create_app
    from loyalty.extensions import db
    app = create_app(Config(f"sqlite:///{tmp_path / 'deliveries-0008.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0007_occupation")
        with db.engine.begin() as conn:
            for row in ROWS:
                conn.execute(text(row.format(at=AT)))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT referral_id, source, time_known FROM deliveries")).one() == (1, "check", 1)
            records = conn.execute(text("SELECT referral_id, delivery_id, outcome, checks, checked_by_id "
                                        "FROM delivery_check_records ORDER BY referral_id")).all()
        assert [(r[0], r[1], r[2], r[4]) for r in records] == [(1, 1, "passed", 1), (2, None, "licence_mismatch", 1)]
        assert json.loads(records[1][3])["model"] == "mismatch"
        downgrade(revision="0007_occupation")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM deliveries")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM referrals")).scalar() == 2
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM delivery_check_records")).scalar() == 2
        db.engine.dispose()
