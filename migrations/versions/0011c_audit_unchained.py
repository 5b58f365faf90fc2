"""audit events sealed in the writer's transaction, chained after it commits (issue 16, SEC-1)

- audit_events.mac: the key's HMAC over the event's own content and its id (loyalty/audit/service.py);
  an event written by this version carries it from its INSERT, and the chain link hashes it.
- audit_events.seq / prev_hash / hash become NULL until a short chaining step after the writer's
  commit gives the event its place (seq), link and hash: writers no longer wait on the head row.
- ix_audit_events_unchained: the events not yet chained (seq IS NULL), in id order, for that step.

Revision ID: 0011c_audit_unchained
Revises: 0010_service_desk
Create Date: 2026-11-30 22:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011c_audit_unchained'
down_revision = '0010_service_desk'
branch_labels = None
depends_on = None

UNCHAINED = sa.text("seq IS NULL")


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        for column in ('seq', 'prev_hash', 'hash'):
            batch_op.alter_column(column, existing_type=sa.Integer() if column == 'seq' else sa.String(length=64),
                                  nullable=True)
    op.create_index('ix_audit_events_unchained', 'audit_events', ['id'], postgresql_where=UNCHAINED,
                    sqlite_where=UNCHAINED)


def downgrade():
    # Events not chained yet cannot be kept by a schema whose seq is NOT NULL: chain them first
    # (any write through the service does, as does `flask audit checkpoint`).
    op.drop_index('ix_audit_events_unchained', table_name='audit_events')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        for column in ('seq', 'prev_hash', 'hash'):
            batch_op.alter_column(column, existing_type=sa.Integer() if column == 'seq' else sa.String(length=64),
                                  nullable=False)
        batch_op.drop_column('mac')
