"""the ring hook's consultant window from the report counts (issue 16)

A registration's ring signals count the registering consultant's referrals of the last 180 days
(per manager who acknowledged or delivery-checked them, and the bad ones). That was one scan of his
whole window: 82 ms at 1M referrals for a consultant with a quarter of the group in it. The report
counts now keep, per day and consultant, `ring_acknowledged` / `ring_checked` (bucket: the manager)
and `ring_bad` beside the statuses, so the hook reads the window's whole days from them and only its
two ends from the referrals. ix_report_counts_staff_day finds a consultant's days.
Filled here from the referrals (the rebuild's SQL as of this revision); `flask reports rebuild`
does it again.

Revision ID: 0012w_ring_window
Revises: 0012e_export_jobs
Create Date: 2026-12-01 06:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012w_ring_window'
down_revision = '0012e_export_jobs'
branch_labels = None
depends_on = None

DAY = {"postgresql": "CAST(timezone('Asia/Shanghai', registered_at) AS DATE)",
       "sqlite": "date(registered_at, '+480 minutes')"}
FILL = """
INSERT INTO report_counts (day, store_id, staff_id, metric, bucket, n)
SELECT {day}, store_id, registered_by_id, 'ring_acknowledged', acknowledged_by_id, count(*) FROM referrals
WHERE acknowledged_by_id IS NOT NULL GROUP BY {day}, store_id, registered_by_id, acknowledged_by_id
UNION ALL
SELECT {day}, store_id, registered_by_id, 'ring_checked', delivery_checked_by_id, count(*) FROM referrals
WHERE delivery_checked_by_id IS NOT NULL GROUP BY {day}, store_id, registered_by_id, delivery_checked_by_id
UNION ALL
SELECT {day}, store_id, registered_by_id, 'ring_bad', 0, count(*) FROM referrals
WHERE status = 'fraudulent' OR (status = 'rejected' AND reason = 'review_rejected')
GROUP BY {day}, store_id, registered_by_id
"""


def upgrade():
    op.create_index('ix_report_counts_staff_day', 'report_counts', ['staff_id', 'day'])
    dialect = op.get_bind().dialect.name
    op.execute(sa.text(FILL.format(day=DAY["postgresql" if dialect == "postgresql" else "sqlite"])))


def downgrade():
    op.execute(sa.text("DELETE FROM report_counts WHERE metric IN ('ring_acknowledged', 'ring_checked', 'ring_bad')"))
    op.execute(sa.text("DELETE FROM report_count_deltas WHERE metric IN ('ring_acknowledged', 'ring_checked', 'ring_bad')"))
    op.drop_index('ix_report_counts_staff_day', table_name='report_counts')
