"""audit chain keyed with HMAC, ledger transfers with digests (SEC-1, LED-4)

- audit_head.keyed_from: the first seq whose hash is an HMAC under AUDIT_HMAC_KEY (set by
  the first append after this migration; events before it keep plain SHA-256 and still
  verify); audit_head.mac: the key's HMAC over the head, so it cannot be rewound.
- ledger_transfers.digest: each transfer's HMAC over the fields it was written with,
  computed by the service before the insert; ledger_apply() takes it as a new last argument
  (the 11-argument function is dropped, so no path can insert a transfer without one).
- Transfers already in the table have no digest. The highest such id is recorded as an
  audit event (entity ledger_transfers, action digests_introduced), hashed like the events
  before it; once the next keyed event links to it, the boundary cannot be moved without
  breaking the chain, so a digest removed from a later transfer is always reported.

Downgrade drops the columns and restores the 11-argument function; events appended under
the key will not verify with the code of 0007 (it knows only plain SHA-256).

Revision ID: 0008a_audit_key
Revises: 0008d_deliveries
Create Date: 2026-11-27 10:00:00
"""
import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0008a_audit_key'
down_revision = '0008d_deliveries'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

APPLY_BODY = """
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
                                  reason, subject, actor_id, at{digest_column})
    VALUES (p_key, p_kind, p_debit, p_credit, p_amount, p_unit, p_pending, p_reason, p_subject, p_actor,
            p_at{digest_value})
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
OLD_ARGS = ("varchar, varchar, integer, integer, bigint, varchar, bigint, varchar, varchar, integer, "
            "timestamptz")
SIGNATURE = """ledger_apply(
    p_key varchar, p_kind varchar, p_debit integer, p_credit integer, p_amount bigint, p_unit varchar,
    p_pending bigint, p_reason varchar, p_subject varchar, p_actor integer, p_at timestamptz{digest_arg})
RETURNS bigint"""
NEW_FUNCTION = ("CREATE OR REPLACE FUNCTION " + SIGNATURE.format(digest_arg=", p_digest varchar")
                + APPLY_BODY.replace("{digest_column}", ", digest").replace("{digest_value}", ", p_digest"))
OLD_FUNCTION = ("CREATE OR REPLACE FUNCTION " + SIGNATURE.format(digest_arg="")
                + APPLY_BODY.replace("{digest_column}", "").replace("{digest_value}", ""))

EVENTS = sa.table("audit_events", sa.column("seq", sa.Integer), sa.column("at", sa.DateTime),
                  sa.column("actor_id", sa.Integer), sa.column("actor", sa.String),
                  sa.column("entity", sa.String), sa.column("entity_id", sa.String), sa.column("action", sa.String),
                  sa.column("after", sa.JSON), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


def upgrade():
    op.add_column('audit_head', sa.Column('keyed_from', sa.Integer(), nullable=True))
    op.add_column('audit_head', sa.Column('mac', sa.String(length=64), nullable=True))
    op.add_column('ledger_transfers', sa.Column('digest', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS ledger_apply({OLD_ARGS})")
        op.execute(NEW_FUNCTION)
    _record_unsigned_transfers(conn)


def _record_unsigned_transfers(conn) -> None:
    """The audit event naming the transfers written before digests, hashed as the chain was then."""
    last_id, count = conn.execute(sa.text("SELECT max(id), count(*) FROM ledger_transfers")).one()
    if not count:
        return
    head = conn.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).one_or_none()
    seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    at = datetime.now(timezone.utc)
    after = {"unsigned_up_to_id": int(last_id), "transfers": int(count)}
    body = {"seq": seq + 1, "at": at.isoformat(timespec="microseconds"), "actor_id": None, "actor": "system",
            "entity": "ledger_transfers", "entity_id": "legacy", "action": "digests_introduced",
            "before": None, "after": after, "prev_hash": prev_hash}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode()).hexdigest()
    stored_at = at.replace(tzinfo=None) if conn.dialect.name == "sqlite" else at  # as UTCDateTime stores it
    conn.execute(EVENTS.insert().values(seq=seq + 1, at=stored_at, actor_id=None, actor="system",
                                        entity="ledger_transfers", entity_id="legacy", action="digests_introduced",
                                        after=after, prev_hash=prev_hash, hash=digest))
    if head is None:
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"), {"s": seq + 1, "h": digest})
    else:
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq + 1, "h": digest})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_apply(" + OLD_ARGS + ", varchar)")
        op.execute(OLD_FUNCTION)
    # plain DROP COLUMN (SQLite >= 3.35), as 0007 does: no batch rebuild of referenced tables
    op.execute(sa.text("ALTER TABLE ledger_transfers DROP COLUMN digest"))
    op.execute(sa.text("ALTER TABLE audit_head DROP COLUMN mac"))
    op.execute(sa.text("ALTER TABLE audit_head DROP COLUMN keyed_from"))
