"""Accounts (账户): what each is for, one per owner, purpose and unit, and their balances.

The bank knows owners as strings (`customer:7`, `store:3`, `staff:5`, `system:0`), never
as people or stores."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from loyalty import clock
from loyalty.errors import NotFound, field_error
from loyalty.extensions import db
from loyalty.ledger.models import UNITS, Account
from loyalty.ledger.spec import as_account_id

A = Account.__table__


@dataclass(frozen=True)
class Purpose:
    """What an account is for: the side its balance sits on and which side may not overdraw."""
    normal: str  # "credit": a balance owed to the owner (payable, points); "debit": an expense/receivable
    no_overdraw: bool = False  # forbid the side opposite `normal` exceeding it (pending included)


PURPOSES: dict[str, Purpose] = {
    # CNY, a referral reward: the store's expense, the referrer's payable, the clearing account cash leaves by.
    "referral_expense": Purpose("debit"),
    "reward_payable": Purpose("credit", no_overdraw=True),
    "reward_receivable": Purpose("debit"),  # a paid reward clawed back (LED-8): owed to the store
    "cash": Purpose("debit", no_overdraw=True),
    "cash_clearing": Purpose("debit"),
    "penalty_receivable": Purpose("debit"),  # a fraud penalty owed by a consultant (LED-9)
    "penalty_income": Purpose("credit"),
    "adjustment": Purpose("debit"),  # the other side of an admin correction
    # PTS, loyalty points: issued by a store, held by a customer, redeemed or expired (breakage).
    "points": Purpose("credit", no_overdraw=True),
    "points_issued": Purpose("debit"),
    "points_redeemed": Purpose("credit"),
    "points_breakage": Purpose("credit"),
    "points_reserved": Purpose("credit", no_overdraw=True),  # points rewards held pending (LED-5)
}
OWNER_KINDS = ("store", "customer", "staff", "system")

# Built once: building SQLAlchemy constructs per call costs more CPU than running them.
LOCK_ACCOUNTS = (select(A).where(A.c.id.in_(bindparam("ids", expanding=True))).order_by(A.c.id)
                 .with_for_update(key_share=True))  # PostgreSQL: FOR NO KEY UPDATE; SQLite: nothing (BEGIN IMMEDIATE)


def parse_owner(owner: str) -> tuple[str, int]:
    kind, _, ident = (owner or "").partition(":")
    if kind not in OWNER_KINDS or not ident.isdigit():
        raise field_error("owner", "Use kind:id, kind one of store, customer, staff, system.")
    return kind, int(ident)


def account_for(owner: str, purpose: str, unit: str) -> Account:
    """Get or create the one account of `owner` for `purpose` in `unit` (flags from the purpose)."""
    return accounts_for((owner, purpose, unit))[0]


def accounts_for(*wanted: tuple[str, str, str]) -> list[Account]:
    """account_for() of each (owner, purpose, unit), in order: those that exist read in one
    statement (a transfer's two sides, issue 16), each missing one created in one more."""
    keys = [_account_key(*w) for w in wanted]
    match = _is(keys[0]) if len(set(keys)) == 1 else tuple_(Account.owner, Account.purpose, Account.unit).in_(keys)
    found = {(a.owner, a.purpose, a.unit): a for a in db.session.scalars(select(Account).where(match))}
    for key in keys:
        if key not in found:
            found[key] = _create(*key)
    return [found[key] for key in keys]


def _is(key: tuple[str, str, str]):
    owner, purpose, unit = key
    return and_(Account.owner == owner, Account.purpose == purpose, Account.unit == unit)


def _account_key(owner: str, purpose: str, unit: str) -> tuple[str, str, str]:
    kind, ident = parse_owner(owner)
    if purpose not in PURPOSES:
        raise field_error("purpose", f"Unknown account purpose {purpose!r}.")
    if unit not in UNITS:
        raise field_error("unit", "Must be CNY or PTS.")
    return f"{kind}:{ident}", purpose, unit


def _create(owner: str, purpose: str, unit: str) -> Account:
    spec = PURPOSES[purpose]
    values = dict(owner=owner, purpose=purpose, unit=unit, normal=spec.normal,
                  debits_must_not_exceed_credits=spec.no_overdraw and spec.normal == "credit",
                  credits_must_not_exceed_debits=spec.no_overdraw and spec.normal == "debit",
                  debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
                  created_at=clock.now())
    # Two requests may create the same account at once: the unique constraint picks one, and the
    # one that lost reads the winner's
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    made = db.session.scalars(insert(Account).values(**values).on_conflict_do_nothing().returning(Account)).first()
    if made is not None:
        return made
    return db.session.execute(select(Account).where(_is((owner, purpose, unit)))).scalar_one()


def get_account(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound(code="account_not_found")
    return account


def accounts_of(owner: str) -> list[Account]:
    kind, ident = parse_owner(owner)
    return list(db.session.execute(
        select(Account).where(Account.owner == f"{kind}:{ident}").order_by(Account.id)).scalars())


def balance(account: Account | int) -> dict[str, int]:
    """{posted, pending, available} on the account's normal side, read fresh from the database.

    pending is the net reserved toward the account; available = posted minus what
    pending transfers have reserved away from it (what may be spent now)."""
    account_id = account if isinstance(account, int) else account.id
    row = db.session.execute(select(A).where(A.c.id == account_id)).mappings().one_or_none()
    if row is None:
        raise NotFound(code="account_not_found")
    return balance_of(row)


def balance_of(row: Any) -> dict[str, int]:
    get = (lambda k: getattr(row, k)) if isinstance(row, Account) else row.__getitem__
    dp, cp, dq, cq = get("debits_posted"), get("credits_posted"), get("debits_pending"), get("credits_pending")
    if get("normal") == "credit":
        return {"posted": cp - dp, "pending": cq - dq, "available": cp - dp - dq}
    return {"posted": dp - cp, "pending": dq - cq, "available": dp - cp - cq}


def lock(*accounts: Account | int) -> None:
    """Lock these accounts now, in the ledger's order (ascending id, FOR NO KEY UPDATE), to
    serialise a larger operation on them (e.g. one customer's redemptions). Later transfers
    in the same transaction on these accounts lock nothing new out of order."""
    db.session.execute(LOCK_ACCOUNTS, {"ids": sorted({as_account_id(a) for a in accounts})})
