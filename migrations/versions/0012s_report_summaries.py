"""report summaries (issue 16): the referral reports read counts per day and store, not every referral

- report_counts: (day, store_id, staff_id, metric, bucket) -> n, what the `report_summaries` job
  has folded in (verification/reports/models.py says what each metric counts);
- report_count_deltas: what writers appended since, in their own transaction (insert only);
- payout_totals / payout_total_deltas: the same for the open payables per store and status
  (the liabilities report; loyalty/reports/models.py);
- ix_ledger_accounts_purpose_unit: the liabilities report's ledger sums by purpose read a purpose
  with few accounts (reward_receivable) without scanning every customer's.
Filled here from the base rows with the rebuild's set-based SQL as of this revision (generated from
verification/reports/sources.py and loyalty/reports/totals.py), so a database upgraded with its
referrals and payouts reports the same figures at once; `flask reports rebuild` does it again.

Revision ID: 0012s_report_summaries
Revises: 0011c_audit_unchained
Create Date: 2026-12-01 02:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012s_report_summaries'
down_revision = '0011c_audit_unchained'
branch_labels = None
depends_on = None


# INSERT ... SELECT of every count, per dialect (the day is the group's, Asia/Shanghai)
COUNTS = {"postgresql": """
WITH decided AS 
(SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, CAST(floor((EXTRACT(epoch FROM referrals.closed_at - referrals.delivered_at) * 1000000 + 180000000) / CAST(360000000 AS NUMERIC)) AS INTEGER) AS tenths, (SELECT count(callback_attempts.id) AS count_1 
FROM callback_attempts JOIN callbacks ON callback_attempts.callback_id = callbacks.id 
WHERE callbacks.referral_id = referrals.id) AS calls 
FROM referrals 
WHERE referrals.status IN ('verified', 'fraudulent', 'unverifiable') AND referrals.delivered_at IS NOT NULL AND referrals.closed_at IS NOT NULL)
 INSERT INTO report_counts (day, store_id, staff_id, metric, bucket, n) SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, referrals.status AS metric, 0 AS bucket, count(*) AS n 
FROM referrals GROUP BY CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE), referrals.store_id, referrals.registered_by_id, referrals.status
UNION ALL
SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'penalties' AS metric, 0 AS bucket, sum(ledger_transfers.amount) AS n 
FROM ledger_transfers JOIN referrals ON referrals.id = CAST(substr(ledger_transfers.subject, 10) AS INTEGER) 
WHERE ledger_transfers.credit_account_id IN (SELECT ledger_accounts.id 
FROM ledger_accounts 
WHERE ledger_accounts.purpose = 'penalty_income') AND ledger_transfers.subject LIKE 'referral:%' AND ledger_transfers.key LIKE 'referral:%\\:penalty' GROUP BY CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'reopened' AS metric, 0 AS bucket, count(distinct(referrals.id)) AS n 
FROM referrals JOIN delivery_check_records ON delivery_check_records.referral_id = referrals.id 
WHERE delivery_check_records.reopened_at IS NOT NULL GROUP BY CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, coalesce(referral_fact_changes.changed_by_id, 0) AS staff_id, 'fact_changes' AS metric, 0 AS bucket, count(referral_fact_changes.id) AS n 
FROM referral_fact_changes JOIN referrals ON referrals.id = referral_fact_changes.referral_id GROUP BY CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE), referrals.store_id, coalesce(referral_fact_changes.changed_by_id, 0)
UNION ALL
SELECT CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE) AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'held' AS metric, 0 AS bucket, count(verification_confirmations.id) AS n 
FROM referrals JOIN verification_confirmations ON verification_confirmations.referral_id = referrals.id GROUP BY CAST(timezone('Asia/Shanghai', referrals.registered_at) AS DATE), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'hours' AS metric, decided.tenths AS bucket, count(*) AS n 
FROM decided GROUP BY decided.day, decided.store_id, decided.tenths
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'calls' AS metric, 0 AS bucket, sum(decided.calls) AS n 
FROM decided GROUP BY decided.day, decided.store_id
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'first_call' AS metric, 0 AS bucket, sum(CASE WHEN (decided.calls <= 1) THEN 1 ELSE 0 END) AS n 
FROM decided GROUP BY decided.day, decided.store_id
""", "sqlite": """
WITH decided AS 
(SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, (((CAST(strftime('%s', substr(referrals.closed_at, 1, 19)) AS INTEGER) * 1000000 + CAST(substr(referrals.closed_at, 21, 6) AS INTEGER)) - (CAST(strftime('%s', substr(referrals.delivered_at, 1, 19)) AS INTEGER) * 1000000 + CAST(substr(referrals.delivered_at, 21, 6) AS INTEGER))) + 180000000) / 360000000 AS tenths, (SELECT count(callback_attempts.id) AS count_1 
FROM callback_attempts JOIN callbacks ON callback_attempts.callback_id = callbacks.id 
WHERE callbacks.referral_id = referrals.id) AS calls 
FROM referrals 
WHERE referrals.status IN ('verified', 'fraudulent', 'unverifiable') AND referrals.delivered_at IS NOT NULL AND referrals.closed_at IS NOT NULL)
 INSERT INTO report_counts (day, store_id, staff_id, metric, bucket, n) SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, referrals.status AS metric, 0 AS bucket, count(*) AS n 
FROM referrals GROUP BY date(referrals.registered_at, '+480 minutes'), referrals.store_id, referrals.registered_by_id, referrals.status
UNION ALL
SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'penalties' AS metric, 0 AS bucket, sum(ledger_transfers.amount) AS n 
FROM ledger_transfers JOIN referrals ON referrals.id = CAST(substr(ledger_transfers.subject, 10) AS INTEGER) 
WHERE ledger_transfers.credit_account_id IN (SELECT ledger_accounts.id 
FROM ledger_accounts 
WHERE ledger_accounts.purpose = 'penalty_income') AND ledger_transfers.subject LIKE 'referral:%' AND ledger_transfers."key" LIKE 'referral:%\\:penalty' GROUP BY date(referrals.registered_at, '+480 minutes'), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'reopened' AS metric, 0 AS bucket, count(distinct(referrals.id)) AS n 
FROM referrals JOIN delivery_check_records ON delivery_check_records.referral_id = referrals.id 
WHERE delivery_check_records.reopened_at IS NOT NULL GROUP BY date(referrals.registered_at, '+480 minutes'), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, coalesce(referral_fact_changes.changed_by_id, 0) AS staff_id, 'fact_changes' AS metric, 0 AS bucket, count(referral_fact_changes.id) AS n 
FROM referral_fact_changes JOIN referrals ON referrals.id = referral_fact_changes.referral_id GROUP BY date(referrals.registered_at, '+480 minutes'), referrals.store_id, coalesce(referral_fact_changes.changed_by_id, 0)
UNION ALL
SELECT date(referrals.registered_at, '+480 minutes') AS day, referrals.store_id AS store_id, referrals.registered_by_id AS staff_id, 'held' AS metric, 0 AS bucket, count(verification_confirmations.id) AS n 
FROM referrals JOIN verification_confirmations ON verification_confirmations.referral_id = referrals.id GROUP BY date(referrals.registered_at, '+480 minutes'), referrals.store_id, referrals.registered_by_id
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'hours' AS metric, decided.tenths AS bucket, count(*) AS n 
FROM decided GROUP BY decided.day, decided.store_id, decided.tenths
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'calls' AS metric, 0 AS bucket, sum(decided.calls) AS n 
FROM decided GROUP BY decided.day, decided.store_id
UNION ALL
SELECT decided.day AS day, decided.store_id AS store_id, 0 AS staff_id, 'first_call' AS metric, 0 AS bucket, sum(CASE WHEN (decided.calls <= 1) THEN 1 ELSE 0 END) AS n 
FROM decided GROUP BY decided.day, decided.store_id
"""}

PAYOUT_TOTALS = """
INSERT INTO payout_totals (store_id, status, n) SELECT payouts.store_id, payouts.status, sum(payouts.gross_amount) AS sum_1 
FROM payouts 
WHERE payouts.status IN ('awaiting_approval', 'approved') GROUP BY payouts.store_id, payouts.status
"""


def _columns():
    return [sa.Column('day', sa.Date(), nullable=False), sa.Column('store_id', sa.Integer(), nullable=False),
            sa.Column('staff_id', sa.Integer(), nullable=False), sa.Column('metric', sa.String(length=20), nullable=False),
            sa.Column('bucket', sa.Integer(), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False)]


def upgrade():
    op.create_table('report_counts', *_columns(),
                    sa.PrimaryKeyConstraint('day', 'store_id', 'staff_id', 'metric', 'bucket', name=op.f('pk_report_counts')))
    op.create_table('report_count_deltas', sa.Column('id', sa.Integer(), nullable=False), *_columns(),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_count_deltas')))
    op.create_index('ix_report_count_deltas_day', 'report_count_deltas', ['day'])
    op.create_table('payout_totals', sa.Column('store_id', sa.Integer(), nullable=False),
                    sa.Column('status', sa.String(length=20), nullable=False), sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('store_id', 'status', name=op.f('pk_payout_totals')))
    op.create_table('payout_total_deltas', sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('store_id', sa.Integer(), nullable=False), sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_total_deltas')))
    op.create_index('ix_ledger_accounts_purpose_unit', 'ledger_accounts', ['purpose', 'unit'])
    dialect = op.get_bind().dialect.name
    op.execute(sa.text(COUNTS["postgresql" if dialect == "postgresql" else "sqlite"]))
    op.execute(sa.text("DELETE FROM report_counts WHERE n = 0"))
    op.execute(sa.text(PAYOUT_TOTALS))


def downgrade():
    op.drop_index('ix_ledger_accounts_purpose_unit', table_name='ledger_accounts')
    op.drop_table('payout_total_deltas')
    op.drop_table('payout_totals')
    op.drop_index('ix_report_count_deltas_day', table_name='report_count_deltas')
    op.drop_table('report_count_deltas')
    op.drop_table('report_counts')
