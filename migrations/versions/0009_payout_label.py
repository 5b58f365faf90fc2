"""payouts carry a label, a reference, the payee's name and evidence rows (issue 13 item 1)

Money no longer reads referrals: the requesting side hands over what the finance page,
the export and the API show. Rows requested before this migration get them here from
what they already hold: a subject "referral:N" gives the label "Referral" (a message id,
translated on display) and the reference N; the evidence snapshot gives the payee's name
(its referrer) and the evidence rows, built by the same function verification uses when
it requests a payout now.

Columns are added (nullable), never rebuilt, so SQLite keeps the table and its foreign keys.

Revision ID: 0009_payout_label
Revises: 0008a_audit_key
Create Date: 2026-11-30 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_payout_label'
down_revision = '0008a_audit_key'
branch_labels = None
depends_on = None

payouts = sa.table("payouts", sa.column("id", sa.Integer), sa.column("subject", sa.String),
                   sa.column("evidence", sa.JSON), sa.column("label", sa.String),
                   sa.column("reference", sa.BigInteger), sa.column("payee_name", sa.String),
                   sa.column("evidence_rows", sa.JSON))


def upgrade():
    op.add_column("payouts", sa.Column("label", sa.String(length=60), nullable=True))
    op.add_column("payouts", sa.Column("reference", sa.BigInteger(), nullable=True))
    op.add_column("payouts", sa.Column("payee_name", sa.String(length=120), nullable=True))
    op.add_column("payouts", sa.Column("evidence_rows", sa.JSON(), nullable=True))
    op.create_index("ix_payouts_reference", "payouts", ["reference"])
    _backfill()


def _backfill():
    # The rows' builder is verification's (a pure function of the snapshot); imported here so
    # old and new payouts show the same rows.
    from verification.callbacks.rewards import evidence_rows
    conn = op.get_bind()
    for pid, subject, evidence in conn.execute(sa.select(payouts.c.id, payouts.c.subject, payouts.c.evidence)).all():
        kind, _, ident = (subject or "").partition(":")
        evidence = evidence or {}
        values = {"evidence_rows": evidence_rows(evidence) if evidence else [],
                  "payee_name": ((evidence.get("referrer") or {}).get("name") or None)}
        if kind == "referral" and ident.isdigit():
            values.update(label="Referral", reference=int(ident))
        conn.execute(payouts.update().where(payouts.c.id == pid).values(**values))


def downgrade():
    op.drop_index("ix_payouts_reference", table_name="payouts")
    for column in ("evidence_rows", "payee_name", "reference", "label"):
        op.drop_column("payouts", column)  # SQLite 3.35+ drops a column in place
