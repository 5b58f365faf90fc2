"""Migration 0009: payouts requested before it get their label, reference, payee name and evidence rows
from what they already hold, so the finance page, the export and the API show them as before (issue 13)."""
from __future__ import annotations

import json

from sqlalchemy import text

from loyalty.config import TestConfig as Config
from tests.conftest import _TMP

AT = "'2026-11-01 02:00:00'"
EVIDENCE = {"referral_id": 1, "referrer": {"id": 1, "name": "张三", "phone": "138****8000"},
            "referee": {"id": 2, "name": "李四", "phone": "139****9000"},
            "claim": {"referrer_name": "张三", "referrer_model": "速腾", "referrer_colour": "白色"},
            "registered_by": "M", "registered_at": "2026-11-01T02:00:00+00:00", "verdict": "verified",
            "checks": {"plate": "match"}, "callback": {"party": "referee", "agent": "A", "attempts": 1,
                                                       "grades": ["correct", "wrong"]},
            "reviews": [{"reviewer": "R", "decision": "correct", "at": "2026-11-01T03:00:00+00:00"}]}
ROWS = [
    "INSERT INTO stores (id, code, name, timezone, active, created_at) VALUES (1, 'S1', 'S', 'Asia/Shanghai', 1, {at})",
    "INSERT INTO payouts (id, subject, store_id, payee, unit, gross_amount, offset_amount, status, approvals_required, "
    "blocked_approver_ids, evidence, reason, requested_at, updated_at) VALUES (1, 'referral:42', 1, 'customer:1', "
    "'CNY', 50000, 0, 'awaiting_approval', 1, '[]', :evidence, 'r', {at}, {at})",
    "INSERT INTO payouts (id, subject, store_id, payee, unit, gross_amount, offset_amount, status, approvals_required, "
    "blocked_approver_ids, evidence, reason, requested_at, updated_at) VALUES (2, 'bonus:x', 1, 'customer:1', "
    "'CNY', 100, 0, 'awaiting_approval', 1, '[]', '{{}}', 'r', {at}, {at})",
]


def test_0009_gives_earlier_payouts_their_label_reference_payee_name_and_rows():
    from flask_migrate import downgrade, upgrade

    from loyalty.app import create_app
    from loyalty.extensions import db
    app = create_app(Config(f"sqlite:///{_TMP / 'payouts-0009.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0008a_audit_key")
        with db.engine.begin() as conn:
            for row in ROWS:
                conn.execute(text(row.format(at=AT)), {"evidence": json.dumps(EVIDENCE, ensure_ascii=False)})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, label, reference, payee_name, evidence_rows FROM payouts "
                                     "ORDER BY id")).all()
        (_, label, reference, name, sections), other = rows[0], rows[1]
        assert (label, reference, name) == ("Referral", 42, "张三")
        sections = json.loads(sections)
        assert [s["name"] for s in sections] == ["facts", "checks"]
        facts = {r["label"]: r["parts"] for r in sections[0]["rows"]}
        assert facts["New customer"] == [{"text": "李四"}] and facts["Verdict"][0] == {"msg": "Verified"}
        assert [p["tag"] for p in facts["Callback"] if "tag" in p] == ["Correct", "Wrong"]
        assert sections[1]["rows"] == [{"label": "Plate", "parts": [{"tag": "Match", "ok": True, "prefix": ""}]}]
        assert other[1:4] == (None, None, None) and json.loads(other[4]) == []
        downgrade(revision="0008a_audit_key")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM payouts")).scalar() == 2
        db.engine.dispose()
