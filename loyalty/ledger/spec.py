"""What a transfer asks for, checked before anything moves (LED-1, LED-7).

Every door into the bank (transfer, submit, a batch, post/void) turns its arguments into
a `Spec` here; the apply engine and the digests read only specs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty.errors import field_error
from loyalty.ledger.models import UNITS, Account, Transfer

MAX_AMOUNT = 2**62  # far above any real sum, and the running totals stay inside bigint


@dataclass
class Spec:
    key: str
    kind: str
    debit: int
    credit: int
    amount: int
    unit: str
    reason: str
    subject: str | None
    pending_id: int | None = None
    pending_key: str | None = None  # what the digest of a post/void names its pending by

    def __post_init__(self) -> None:
        if self.debit == self.credit:
            raise field_error("credit", "Must differ from the debit account.")

    def same_as(self, t: Transfer) -> bool:
        return (t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.unit, t.pending_id, t.subject) == \
               (self.kind, self.debit, self.credit, self.amount, self.unit, self.pending_id, self.subject)


def spec_of(debit, credit, amount, unit, reason, subject, key, pending) -> Spec:
    """A posted or pending transfer's parameters, checked (transfer(), submit(), a batch's items)."""
    return Spec(key=as_key(key), kind="pending" if pending else "posted", debit=as_account_id(debit),
                credit=as_account_id(credit), amount=as_amount(amount), unit=as_unit(unit),
                reason=as_reason(reason), subject=as_subject(subject))


def spec_resolving(pending: Transfer, kind: str, *, reason: str, key: str) -> Spec:
    """The post or void of `pending`: its accounts, amount, unit and subject."""
    return Spec(key=as_key(key), kind=kind, debit=pending.debit_account_id, credit=pending.credit_account_id,
                amount=pending.amount, unit=pending.unit, reason=as_reason(reason),
                subject=pending.subject, pending_id=pending.id, pending_key=pending.key)


def as_account_id(account: Account | int) -> int:
    if isinstance(account, Account):
        return account.id
    if isinstance(account, bool) or not isinstance(account, int):
        raise field_error("account", "An account or its id.")
    return account


def as_amount(amount: Any) -> int:
    # bool is an int in Python; a float or Decimal is never money here (LED-1).
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise field_error("amount", "A whole number of minor units (fen or points).")
    if not 0 < amount <= MAX_AMOUNT:
        raise field_error("amount", "Must be greater than 0.")
    return amount


def as_unit(unit: str) -> str:
    if unit not in UNITS:
        raise field_error("unit", "Must be CNY or PTS.")
    return unit


def as_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Say what this transfer is for (LED-7).")
    return _without_nul("reason", reason[:200])


def _without_nul(field: str, value: str) -> str:
    """A NUL ends a text parameter on its way to PostgreSQL (libpq: submit()'s path), which would
    store less than the digest covers; no database text column holds one anyway."""
    if "\x00" in value:
        raise field_error(field, "Text may not contain a NUL character.")
    return value


def as_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 160:
        raise field_error("key", "An idempotency key of 1 to 160 characters.")
    return _without_nul("key", key)


def as_subject(subject: str | None) -> str | None:
    subject = (subject or "").strip() or None
    if subject is not None and len(subject) > 60:
        raise field_error("subject", "At most 60 characters.")
    return subject if subject is None else _without_nul("subject", subject)
