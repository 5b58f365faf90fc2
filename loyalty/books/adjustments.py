"""Admin adjustments (调账): a posted correction by an admin or finance, audited (SEC-1).

They live above the bank because they write the audit chain, which the bank never imports;
the transfer itself goes through the bank (or through the sub-ledger that keeps the account,
so its own record stays true)."""
from __future__ import annotations

from sqlalchemy import select

from loyalty.audit import service as audit
from loyalty.audit.models import AuditEvent
from loyalty.errors import ValidationFailed, field_error
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account, Transfer


def admin_adjustment(actor, *, debit_account_id: int, credit_account_id: int, amount: int, unit: str,
                     reason: str, key: str, subject: str | None = None) -> Transfer:
    """调账: a posted correction by an admin or finance, with the reason they give. On an
    account a sub-ledger keeps (a customer's points) its keeper makes the transfer, so that
    record stays true (points credited become a lot, points debited leave the oldest lots)."""
    accounts = []
    for field, account_id in (("debit_account_id", debit_account_id), ("credit_account_id", credit_account_id)):
        account = db.session.get(Account, account_id)
        if account is None:
            raise field_error(field, "No such account.", code="account_not_found")
        accounts.append(account)
    if debit_account_id == credit_account_id:
        raise ValidationFailed(fields={"credit_account_id": ["Must differ from the debit account."]})
    keeper = next((ledger.SUBLEDGERS[a.purpose] for a in accounts if a.purpose in ledger.SUBLEDGERS), None)
    move = keeper.adjust if keeper else ledger.transfer
    t = move(debit=debit_account_id, credit=credit_account_id, amount=amount, unit=unit,
             reason=f"Adjustment: {reason.strip()}", subject=subject or "adjustment", key=f"adjustment:{key}",
             actor=actor)
    if not _audited(t):
        audit.record(actor, "ledger_transfer", t.id, "adjustment", None, _snapshot(t))
    return t


def _audited(t: Transfer) -> bool:
    """A replayed adjustment was audited the first time."""
    return db.session.execute(select(AuditEvent.id).where(
        AuditEvent.entity == "ledger_transfer", AuditEvent.entity_id == str(t.id)).limit(1)).first() is not None


def _snapshot(t: Transfer) -> dict:
    return {"key": t.key, "kind": t.kind, "debit_account_id": t.debit_account_id,
            "credit_account_id": t.credit_account_id, "amount": t.amount, "unit": t.unit,
            "pending_id": t.pending_id, "reason": t.reason, "subject": t.subject}

