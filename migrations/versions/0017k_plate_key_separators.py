"""plate key without separators (issue 16): '.' and '-' are left out as ' ' and '·' are

A search by a whole plate compares models.plate_key_of(plate) with the typed plate keyed the same
way in Python (search.plate_key). 0014v's key left out spaces and '·' only, while the typed text
was stripped of every other character too: a plate stored as 沪A-12347 or 沪A.12346 (add_vehicle
keeps what was typed but spaces) was found by no search. The key now leaves out ' ', '·', '.' and
'-' on both sides; its index is built again on the new expression (PostgreSQL only, as 0014v).

Revision ID: 0017k_plate_key_separators
Revises: 0016p_payee_name_grams
Create Date: 2026-12-01 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017k_plate_key_separators'
down_revision = '0016p_payee_name_grams'
branch_labels = None
depends_on = None

BEFORE = "upper(replace(replace(plate, ' ', ''), '·', ''))"
AFTER = "upper(replace(replace(replace(replace(plate, ' ', ''), '·', ''), '.', ''), '-', ''))"


def _key(expression: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_vehicles_plate_key", table_name="vehicles")
    op.create_index("ix_vehicles_plate_key", "vehicles", [sa.text(expression)])


def upgrade():
    _key(AFTER)


def downgrade():
    _key(BEFORE)
