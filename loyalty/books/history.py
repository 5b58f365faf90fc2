"""Where the bank's signed history begins (SEC-1): transfers written before migration 0008a carry
no digest, and that migration recorded the last of them as an audit event."""
from __future__ import annotations

from sqlalchemy import select

from loyalty.audit.models import AuditEvent
from loyalty.extensions import db


def unsigned_transfers_up_to() -> int:
    """Transfers up to this id were written before digests existed: migration 0008a recorded
    the boundary as an audit event, which the keyed chain after it protects. The composition
    root hands this to the bank (`ledger.configure`), which imports nothing of audit."""
    after = db.session.execute(select(AuditEvent.after).where(
        AuditEvent.entity == "ledger_transfers", AuditEvent.action == "digests_introduced")
        .order_by(AuditEvent.seq).limit(1)).scalar_one_or_none()
    return int((after or {}).get("unsigned_up_to_id") or 0)
