"""vehicle plate key (issue 16): a customer search by a whole plate reads an index

The service desk and admins find a customer by a whole plate (loyalty.directory.search.plate_match:
spaces and '·' left out, upper case). Without an index that was a scan of every vehicle: 4M rows at
1M referrals, 600 ms with two parallel workers. The index is on the same expression (PostgreSQL;
SQLite, for small databases, keeps its scan, as with the phone tails of 0012t).

Revision ID: 0014v_vehicle_plate_key
Revises: 0012t_phone_tails
Create Date: 2026-12-01 19:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014v_vehicle_plate_key'
down_revision = '0012t_phone_tails'
branch_labels = None
depends_on = None

PLATE_KEY = "upper(replace(replace(plate, ' ', ''), '·', ''))"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_vehicles_plate_key", "vehicles", [sa.text(PLATE_KEY)])


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_vehicles_plate_key", table_name="vehicles")
