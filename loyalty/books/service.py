"""The books (账簿): the ledger as staff read and correct it, scoped to whose books a member
of staff may read and move (门店隔离 for the ledger, SEC-2).

The bank (`loyalty.ledger.service`) knows owners only as strings such as
`customer:12`, `store:3`, `staff:5` or `system:0`; it imports nothing of Flask or
of the directory. This layer above it resolves each owner to the store it belongs
to through the directory, and scopes every read and every adjustment the API
offers: group-level staff and admins see all accounts; a store-bound member of
staff sees and moves only the accounts of his store's customers, staff and the
store itself. Anything else answers exactly as a missing account or transfer does
for him (404), so ids of other stores cannot be probed.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from loyalty.auth import access
from loyalty.books import adjustments
from loyalty.directory.models import Customer, Staff
from loyalty.errors import NotFound
from loyalty.extensions import db
from loyalty.ledger import service as ledger
from loyalty.ledger.models import Account, Transfer


def owner_stores(owners: Iterable[str]) -> dict[str, int | None]:
    """owner -> the id of the store it belongs to; None for the group's own accounts (`system:*`,
    group-level staff) and for owners that name nobody on record."""
    found: dict[str, int | None] = {}
    customers: dict[int, str] = {}
    staff: dict[int, str] = {}
    for owner in set(owners):
        kind, ident = ledger.parse_owner(owner)
        found[owner] = None
        if kind == "store":
            found[owner] = ident
        elif kind == "customer":
            customers[ident] = owner
        elif kind == "staff":
            staff[ident] = owner
    for model, wanted in ((Customer, customers), (Staff, staff)):
        ids = list(wanted)
        for i in range(0, len(ids), 500):
            rows = db.session.execute(select(model.id, model.store_id).where(model.id.in_(ids[i:i + 500])))
            for ident, store_id in rows:
                found[wanted[ident]] = store_id
    return found


def may_see_owner(actor, owner: str) -> bool:
    if access.sees_all_stores(actor):
        return True
    return owner_stores([owner])[owner] == actor.store_id


def _visible(actor, accounts: list[Account]) -> list[Account]:
    if access.sees_all_stores(actor):
        return accounts
    stores = owner_stores(a.owner for a in accounts)
    return [a for a in accounts if stores[a.owner] == actor.store_id]


def accounts_of(actor, owner: str) -> list[Account]:
    """The owner's accounts; 404 when the owner is outside a store-bound actor's store."""
    accounts = ledger.accounts_of(owner)
    if not may_see_owner(actor, owner):
        raise NotFound(code="account_not_found")
    return accounts


def get_account(actor, account_id: int) -> Account:
    account = ledger.get_account(account_id)
    if not _visible(actor, [account]):
        raise NotFound(code="account_not_found")
    return account


def entries(actor, account_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    get_account(actor, account_id)
    return ledger.entries(account_id, page=page, per_page=per_page)


def get_transfer(actor, transfer_id: int) -> Transfer:
    """A transfer is visible with either of its accounts: it is a line of that account's statement."""
    t = ledger.get_transfer(transfer_id)
    if access.sees_all_stores(actor):
        return t
    sides = [a for a in (db.session.get(Account, t.debit_account_id), db.session.get(Account, t.credit_account_id))
             if a is not None]
    if not _visible(actor, sides):
        raise NotFound(code="transfer_not_found")
    return t


def adjust(actor, *, debit_account_id: int, credit_account_id: int, **body) -> Transfer:
    """An adjustment (调账) between two accounts the actor may both see; for a store-bound actor an
    account of another store is a 404, as a missing one is, before anything moves."""
    if not access.sees_all_stores(actor):
        for account_id in (debit_account_id, credit_account_id):
            account = db.session.get(Account, account_id)
            if account is None or not _visible(actor, [account]):
                raise NotFound(code="account_not_found")
    return adjustments.admin_adjustment(actor, debit_account_id=debit_account_id,
                                        credit_account_id=credit_account_id, **body)
