"""audit chain keyed with HMAC (SEC-1)

- audit_head.keyed_from: the first seq whose hash is an HMAC under AUDIT_HMAC_KEY (set by
  the first append after this migration; events before it keep plain SHA-256 and still
  verify); audit_head.mac: the key's HMAC over the head, so it cannot be rewound.

Downgrade drops the columns; events appended under the key will not verify with the code
of 0007 (it knows only plain SHA-256).

Revision ID: 0008a_audit_key
Revises: 0007_occupation
Create Date: 2026-11-27 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008a_audit_key'
down_revision = '0007_occupation'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_head', sa.Column('keyed_from', sa.Integer(), nullable=True))
    op.add_column('audit_head', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade():
    # plain DROP COLUMN (SQLite >= 3.35), as 0007 does
    op.execute(sa.text("ALTER TABLE audit_head DROP COLUMN mac"))
    op.execute(sa.text("ALTER TABLE audit_head DROP COLUMN keyed_from"))
