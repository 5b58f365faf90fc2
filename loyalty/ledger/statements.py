"""Statements (对账单): an account's transfers seen from that account, with the running balance."""
from __future__ import annotations

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.ledger.accounts import balance, get_account
from loyalty.ledger.models import Transfer
from loyalty.paging import page_of


def entries(account_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """The account's statement (对账单), newest first: each transfer seen from this account,
    with the posted balance after it."""
    account = get_account(account_id)
    touches = (Transfer.debit_account_id == account_id) | (Transfer.credit_account_id == account_id)
    rows, total = page_of(select(Transfer).where(touches).order_by(Transfer.id.desc()), page, per_page)
    sign = 1 if account.normal == "credit" else -1
    # posted balance just after the newest row on this page: current minus what came later.
    newer = rows[0].id if rows else 0
    later = _posted_effect_since(account_id, newer, sign)
    running = balance(account_id)["posted"] - later
    items = []
    for t in rows:
        side = "debit" if t.debit_account_id == account_id else "credit"
        change = t.amount if side == "credit" else -t.amount
        change *= sign
        posted_change = change if t.kind in ("posted", "post") else 0
        items.append({"transfer_id": t.id, "at": t.at, "kind": t.kind, "side": side, "amount": t.amount,
                      "unit": t.unit, "change": change, "posted_change": posted_change,
                      "balance_after": running, "reason": t.reason, "subject": t.subject,
                      "pending_id": t.pending_id,
                      "counterparty_id": t.credit_account_id if side == "debit" else t.debit_account_id})
        running -= posted_change
    return items, total


def _posted_effect_since(account_id: int, after_id: int, sign: int) -> int:
    posted = Transfer.kind.in_(("posted", "post"))
    credit = db.session.execute(select(func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.credit_account_id == account_id, Transfer.id > after_id, posted)).scalar_one()
    debit = db.session.execute(select(func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.debit_account_id == account_id, Transfer.id > after_id, posted)).scalar_one()
    return sign * (int(credit) - int(debit))
