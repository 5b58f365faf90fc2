"""ledger: one transfer in one statement on PostgreSQL (ledger_apply)

`ledger_apply` locks both accounts (ascending id, FOR NO KEY UPDATE), checks units
and overdraw flags against the locked totals, claims the key with INSERT ... ON
CONFLICT DO NOTHING and moves the cached totals: the whole of a transfer in one
round trip instead of four. It returns the new transfer's id, or a code the
service turns into the same errors the Python path raises:
 0 key or pending already taken, -1 no debit account, -2 no credit account,
-3 unit mismatch, -4 debit account would overdraw, -5 credit account would overdraw.
SQLite keeps the Python path (no stored functions there).

Revision ID: 0006_ledger_apply
Revises: 0005_payouts
Create Date: 2026-11-25 22:00:00
"""
from alembic import op

revision = '0006_ledger_apply'
down_revision = '0005_payouts'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_apply(
    p_key varchar, p_kind varchar, p_debit integer, p_credit integer, p_amount bigint, p_unit varchar,
    p_pending bigint, p_reason varchar, p_subject varchar, p_actor integer, p_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    d ledger_accounts%ROWTYPE;
    c ledger_accounts%ROWTYPE;
    r ledger_accounts%ROWTYPE;
    -- what the transfer adds to each side's posted and pending totals (both sides alike)
    dp bigint := CASE WHEN p_kind IN ('posted', 'post') THEN p_amount ELSE 0 END;
    dq bigint := CASE p_kind WHEN 'pending' THEN p_amount WHEN 'posted' THEN 0 ELSE -p_amount END;
    new_id bigint;
BEGIN
    -- the ledger's lock order: ascending id; NO KEY UPDATE does not conflict with the
    -- KEY SHARE the transfer row's foreign keys take below
    FOR r IN SELECT * FROM ledger_accounts WHERE id IN (p_debit, p_credit) ORDER BY id FOR NO KEY UPDATE LOOP
        IF r.id = p_debit THEN d := r; ELSE c := r; END IF;
    END LOOP;
    IF d.id IS NULL THEN RETURN -1; END IF;
    IF c.id IS NULL THEN RETURN -2; END IF;
    IF d.unit <> p_unit OR c.unit <> p_unit THEN RETURN -3; END IF;
    IF (d.debits_must_not_exceed_credits AND d.debits_posted + dp + d.debits_pending + dq > d.credits_posted)
       OR (d.credits_must_not_exceed_debits AND d.credits_posted + d.credits_pending > d.debits_posted + dp) THEN
        RETURN -4;
    END IF;
    IF (c.credits_must_not_exceed_debits AND c.credits_posted + dp + c.credits_pending + dq > c.debits_posted)
       OR (c.debits_must_not_exceed_credits AND c.debits_posted + c.debits_pending > c.credits_posted + dp) THEN
        RETURN -5;
    END IF;
    INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, pending_id,
                                  reason, subject, actor_id, at)
    VALUES (p_key, p_kind, p_debit, p_credit, p_amount, p_unit, p_pending, p_reason, p_subject, p_actor, p_at)
    ON CONFLICT DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN RETURN 0; END IF;
    UPDATE ledger_accounts
       SET debits_posted = debits_posted + CASE WHEN id = p_debit THEN dp ELSE 0 END,
           debits_pending = debits_pending + CASE WHEN id = p_debit THEN dq ELSE 0 END,
           credits_posted = credits_posted + CASE WHEN id = p_credit THEN dp ELSE 0 END,
           credits_pending = credits_pending + CASE WHEN id = p_credit THEN dq ELSE 0 END
     WHERE id IN (p_debit, p_credit);
    RETURN new_id;
END $$;
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_apply(varchar, varchar, integer, integer, bigint, varchar, "
                   "bigint, varchar, varchar, integer, timestamptz)")
