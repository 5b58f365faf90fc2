"""customers: occupation (职业), a fact callbacks can ask about

A friend knows what the other does for a living about as well as where he works,
and a fake cannot guess it from the claim: bench/verification_power.py measured
the coached-fake pass rate fall from about 5 % to about 2 % once it is asked.
The question bank's two occupation templates are added to a bank that already
holds the shipped defaults (an empty bank gets them from the code on first use).

Revision ID: 0007_occupation
Revises: 0006_ledger_apply
Create Date: 2026-11-26 04:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0007_occupation'
down_revision = '0006_ledger_apply'
branch_labels = None
depends_on = None

TEMPLATES = (
    ("open_occupation", "open", "occupation", "请问{who}是做什么工作的?", "What does {who} do for a living?"),
    ("stmt_occupation", "statement", "occupation", "{who}的职业是{value}吗?", "{who} works as {value}, right?"),
)


def upgrade():
    op.add_column('customers', sa.Column('occupation', sa.String(length=60), nullable=True))
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM question_templates")).scalar():
        now = datetime.now(timezone.utc)
        if conn.dialect.name == "sqlite":  # naive UTC there, as loyalty.types.UTCDateTime stores it
            now = now.replace(tzinfo=None)
        for code, kind, fact, zh, en in TEMPLATES:
            conn.execute(sa.text(
                "INSERT INTO question_templates (code, kind, fact, text_zh, text_en, active, updated_at) "
                "SELECT :code, :kind, :fact, :zh, :en, :active, :now "
                "WHERE NOT EXISTS (SELECT 1 FROM question_templates WHERE code = :code)"),
                {"code": code, "kind": kind, "fact": fact, "zh": zh, "en": en, "active": True, "now": now})


def downgrade():
    op.execute(sa.text("DELETE FROM question_templates WHERE code IN ('open_occupation', 'stmt_occupation')"))
    # a plain DROP COLUMN (SQLite >= 3.35 has it): a batch rebuild of customers would cascade-delete
    # their vehicles, or fail on the rows that reference them, with SQLite's foreign keys on
    op.execute(sa.text("ALTER TABLE customers DROP COLUMN occupation"))
