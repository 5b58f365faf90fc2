"""The bank (总账): every reward, penalty and point moves through here, and nothing else
changes a balance (LED-1, LED-2, LED-3, LED-4, LED-7).

    acct = account_for("customer:7", "reward_payable", "CNY")
    t = transfer(debit=expense, credit=acct, amount=50000, unit="CNY", pending=True,
                 reason="Referral 42 reward reserved", subject="referral:42", key="referral:42:reserve")
    post_pending(t.id, reason="Referral 42 verified", key="referral:42:post")

How a transfer is applied (one transaction, the caller's; we only flush):
1. lock the accounts it touches, ascending id, `FOR NO KEY UPDATE` (PostgreSQL;
   SQLite holds the database write lock from BEGIN IMMEDIATE). A fixed order
   means two transfers never wait on each other in a cycle, and NO KEY UPDATE
   does not conflict with the FOR KEY SHARE the transfer row's foreign keys take;
2. check the flags against the locked totals;
3. claim the key: INSERT ... ON CONFLICT DO NOTHING. Nothing inserted means the
   key (or, for post/void, the pending) is taken: replay the first transfer if
   its parameters are the same, else 409;
4. move the cached totals in one UPDATE.
On PostgreSQL a single transfer does all four in one statement, the stored function
`ledger_apply` (migration 0006): one round trip instead of four.

`submit()` is a transfer that is its own transaction (one round trip on PostgreSQL,
committed when it returns), for a transfer that is the whole of a piece of work;
business operations use `transfer()` so the money moves with their own changes.

Audit (SEC-1): the transfer rows are the ledger's own append-only journal: each is
written once, never updated, and carries its actor, time, reason and subject.
The hash-chained audit event is written by the business operation that moved the
money (the referral's verdict, the payout's approval, the visit, the redemption,
the expiry, the admin adjustment), naming what it moved. One chained event per
transfer would serialise every writer on the chain's head row. Instead each transfer
carries its own digest: an HMAC under a key the database does not hold (`configure`,
from AUDIT_HMAC_KEY) over every field it was written with, computed here before the
insert on every path (ledger_apply takes it as an argument), and checked by check():
an amount changed together with both accounts' cached totals, or a changed reason,
no longer balances against its digest.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Callable, Iterable, Iterator, Sequence

import psycopg
from sqlalchemy import bindparam, case, func, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from loyalty import clock
from loyalty.audit import service as audit
from loyalty.errors import Conflict, NotFound, RuleViolation, ValidationFailed, field_error
from loyalty.extensions import db
from loyalty.ledger.models import UNITS, Account, Transfer

log = logging.getLogger(__name__)

A = Account.__table__
T = Transfer.__table__
MAX_AMOUNT = 2**62  # far above any real sum, and the running totals stay inside bigint


@dataclass
class Settings:
    """Set once by the app factory (`configure`): the bank reads no Flask config."""
    mac: Any = None  # _Hmac under the transfer digest key


settings = Settings()


def configure(*, digest_key: bytes) -> None:
    """The key of the transfer digests (SEC-1); the database never holds it."""
    if len(digest_key) < 16:
        raise ValueError("the ledger's digest key is too short")
    settings.mac = _Hmac(digest_key)


@dataclass(frozen=True)
class SubLedger:
    """A package that keeps its own record of some accounts' balances (the points lots of
    customer:{id}/points, LED-5): check() runs its `check`, and an admin adjustment touching
    one of its accounts is made by its `adjust` (transfer()'s keyword arguments), which keeps
    that record true. The bank knows such packages only through this registry."""
    check: Callable[[], list[str]]
    adjust: Callable[..., Transfer]


SUBLEDGERS: dict[str, SubLedger] = {}  # account purpose -> its keeper


def register_subledger(purpose: str, *, check: Callable[[], list[str]], adjust: Callable[..., Transfer]) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown account purpose {purpose!r}")
    SUBLEDGERS[purpose] = SubLedger(check, adjust)


# Statements built once: building SQLAlchemy constructs per call costs more CPU than running them.
_LOCK = (select(A).where(A.c.id.in_(bindparam("ids", expanding=True))).order_by(A.c.id)
         .with_for_update(key_share=True))  # PostgreSQL: FOR NO KEY UPDATE; SQLite: nothing (BEGIN IMMEDIATE)
_MOVE_TWO = update(A).where(A.c.id.in_([bindparam("a"), bindparam("b")])).values(
    debits_posted=A.c.debits_posted + case((A.c.id == bindparam("a"), bindparam("dp_a")), else_=bindparam("dp_b")),
    credits_posted=A.c.credits_posted + case((A.c.id == bindparam("a"), bindparam("cp_a")), else_=bindparam("cp_b")),
    debits_pending=A.c.debits_pending + case((A.c.id == bindparam("a"), bindparam("dq_a")), else_=bindparam("dq_b")),
    credits_pending=A.c.credits_pending + case((A.c.id == bindparam("a"), bindparam("cq_a")),
                                               else_=bindparam("cq_b")))
_MOVE_ONE = update(A).where(A.c.id == bindparam("aid")).values(
    debits_posted=A.c.debits_posted + bindparam("dp"), credits_posted=A.c.credits_posted + bindparam("cp"),
    debits_pending=A.c.debits_pending + bindparam("dq"), credits_pending=A.c.credits_pending + bindparam("cq"))
_INSERT: dict[str, Any] = {}


def _insert_transfers():
    """INSERT ... ON CONFLICT DO NOTHING RETURNING every column (one per dialect, built once)."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in _INSERT:
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        _INSERT[dialect] = make(T).on_conflict_do_nothing().returning(*T.c)
    return _INSERT[dialect]


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


# ---- accounts -------------------------------------------------------------------

def parse_owner(owner: str) -> tuple[str, int]:
    kind, _, ident = (owner or "").partition(":")
    if kind not in OWNER_KINDS or not ident.isdigit():
        raise field_error("owner", "Use kind:id, kind one of store, customer, staff, system.")
    return kind, int(ident)


def account_for(owner: str, purpose: str, unit: str) -> Account:
    """Get or create the one account of `owner` for `purpose` in `unit` (flags from the purpose)."""
    kind, ident = parse_owner(owner)
    owner = f"{kind}:{ident}"
    if purpose not in PURPOSES:
        raise field_error("purpose", f"Unknown account purpose {purpose!r}.")
    if unit not in UNITS:
        raise field_error("unit", "Must be CNY or PTS.")
    query = select(Account).where(Account.owner == owner, Account.purpose == purpose, Account.unit == unit)
    found = db.session.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    spec = PURPOSES[purpose]
    values = dict(owner=owner, purpose=purpose, unit=unit, normal=spec.normal,
                  debits_must_not_exceed_credits=spec.no_overdraw and spec.normal == "credit",
                  credits_must_not_exceed_debits=spec.no_overdraw and spec.normal == "debit",
                  debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
                  created_at=clock.now())
    # Two requests may create the same account at once: the unique constraint picks one.
    db.session.execute(_insert().values(**values).on_conflict_do_nothing())
    return db.session.execute(query).scalar_one()


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
    db.session.execute(_LOCK, {"ids": sorted({_id(a) for a in accounts})})


# ---- transfers ------------------------------------------------------------------

@dataclass
class _Spec:
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


def transfer(*, debit: Account | int, credit: Account | int, amount: int, unit: str, reason: str,
             subject: str | None, key: str, pending: bool = False, actor=None) -> Transfer:
    """Move `amount` (int minor units of `unit`) from `debit` to `credit`: posted now, or
    reserved when `pending`. Idempotent on `key`: the same key with the same parameters
    returns the first transfer and moves nothing; different parameters raise
    Conflict(idempotency_key_reused). Overdrawing a flagged account raises
    RuleViolation(insufficient_funds)."""
    return _apply([_spec_of(debit, credit, amount, unit, reason, subject, key, pending)], actor)[0]


def _spec_of(debit, credit, amount, unit, reason, subject, key, pending) -> _Spec:
    """A single transfer's parameters, checked (transfer() and submit())."""
    return _Spec(key=_key(key), kind="pending" if pending else "posted", debit=_id(debit), credit=_id(credit),
                 amount=_amount(amount), unit=_unit(unit), reason=_reason(reason), subject=_subject(subject))


def submit(*, debit: Account | int, credit: Account | int, amount: int, unit: str, reason: str,
           subject: str | None, key: str, pending: bool = False, actor=None) -> Transfer:
    """transfer() as its own transaction, committed when this returns (TigerBeetle's
    create_transfers): one round trip on PostgreSQL. For a transfer that is the whole of
    a piece of work (an import, an integration); a business operation whose other changes
    must commit with the money uses transfer(). Same idempotency and errors as transfer();
    returns a detached Transfer. Refused inside a transaction, whose work it would commit."""
    if db.session().in_transaction():
        raise RuntimeError("ledger.submit() commits: call it outside a transaction, or use transfer()")
    spec = _spec_of(debit, credit, amount, unit, reason, subject, key, pending)
    try:
        if db.engine.dialect.name == "postgresql":
            # one statement on an autocommit connection: the function is atomic and its commit
            # rides on the same round trip (a transaction would add BEGIN and COMMIT)
            t = _apply_one_pg(_autocommit_execute, spec, actor, attach=False)
        else:
            t = _apply([spec], actor)[0]
            db.session.expunge(t)  # keep its loaded values: commit would expire them
        if db.session().in_transaction():  # what the error paths read; on SQLite, the transfer itself
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return t


_local = threading.local()


def _autocommit_execute(params: dict) -> int:
    """ledger_apply on this thread's own autocommit connection (kept open: a pool checkout
    with its ping, and a transaction's BEGIN and COMMIT, would triple the round trips)."""
    try:
        return _held_connection().execute(_PG_APPLY, params).fetchone()[0]
    except psycopg.OperationalError:  # the connection dropped: once more on a new one (the key makes it safe)
        _held_connection(renew=True)
        return _held_connection().execute(_PG_APPLY, params).fetchone()[0]


def _held_connection(renew: bool = False):
    held = getattr(_local, "conns", None)
    if held is None:
        held = _local.conns = {}
    conn = held.get(db.engine)
    if renew and conn is not None:
        conn.invalidate()
        conn.close()
        conn = None
    if conn is None or conn.closed:
        conn = held[db.engine] = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return conn.connection.driver_connection


def transfer_batch(items: Sequence[dict], *, actor=None, batch: str | None = None) -> list[Transfer]:
    """A linked batch: every transfer applied, or none (a savepoint undoes a partial batch).

    Each item takes transfer()'s keyword arguments. Replayed
    as a whole when every key exists with the same parameters."""
    if not items:
        return []
    specs = [_Spec(key=_key(i["key"]), kind="pending" if i.get("pending") else "posted",
                   debit=_id(i["debit"]), credit=_id(i["credit"]), amount=_amount(i["amount"]),
                   unit=_unit(i["unit"]), reason=_reason(i["reason"]), subject=_subject(i.get("subject")))
             for i in items]
    if len({s.key for s in specs}) != len(specs):
        raise field_error("key", "Keys repeat inside the batch.")
    nested = db.session.begin_nested()
    try:
        result = _apply(specs, actor, batch=batch or uuid.uuid4().hex)
    except Exception:
        nested.rollback()
        raise
    nested.commit()
    return result


def post_pending(pending_id: int, *, reason: str, key: str, actor=None) -> Transfer:
    """Post (确认入账) a pending transfer in full: what it reserved becomes posted."""
    return _resolve(pending_id, "post", reason=reason, key=key, actor=actor)


def void_pending(pending_id: int, *, reason: str, key: str, actor=None) -> Transfer:
    """Void (作废) a pending transfer: what it reserved is released."""
    return _resolve(pending_id, "void", reason=reason, key=key, actor=actor)


def _resolve(pending_id: int, kind: str, *, reason: str, key: str, actor) -> Transfer:
    pending = db.session.execute(select(Transfer).where(Transfer.id == pending_id)).scalar_one_or_none()
    if pending is None:
        raise NotFound("No such pending transfer.", code="pending_not_found")
    if pending.kind != "pending":
        raise RuleViolation("Only a pending transfer can be posted or voided.", code="not_pending")
    spec = _Spec(key=_key(key), kind=kind, debit=pending.debit_account_id, credit=pending.credit_account_id,
                 amount=pending.amount, unit=pending.unit, reason=_reason(reason),
                 subject=pending.subject, pending_id=pending.id, pending_key=pending.key)
    return _apply([spec], actor)[0]


def get_transfer(transfer_id: int) -> Transfer:
    t = db.session.get(Transfer, transfer_id)
    if t is None:
        raise NotFound(code="transfer_not_found")
    return t


def transfer_by_key(key: str) -> Transfer | None:
    return db.session.execute(select(Transfer).where(Transfer.key == _key(key))).scalar_one_or_none()


def resolution_of(pending_id: int) -> Transfer | None:
    return db.session.execute(select(Transfer).where(Transfer.pending_id == pending_id)).scalar_one_or_none()


# ---- the one path every transfer takes -----------------------------------------------

def _apply(specs: list[_Spec], actor, batch: str | None = None) -> list[Transfer]:
    if len(specs) == 1 and batch is None:
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            return [_apply_one_pg(_session_execute, specs[0], actor)]
    ids = sorted({s.debit for s in specs} | {s.credit for s in specs})
    rows = {r["id"]: r for r in db.session.execute(_LOCK, {"ids": ids}).mappings()}
    for s in specs:
        for side in (s.debit, s.credit):
            if side not in rows:
                raise field_error("debit" if side == s.debit else "credit", "No such account.",
                                  code="account_not_found")
            if rows[side]["unit"] != s.unit:
                raise field_error("unit", "Both accounts must be in the transfer's unit.", code="unit_mismatch")
    deltas = _deltas(specs)
    short = _overdrawn(rows, deltas)
    if short:
        replay = _replay(specs)
        if replay is not None:
            return replay
        raise _insufficient(rows[short])
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    values = [dict(key=s.key, kind=s.kind, debit_account_id=s.debit, credit_account_id=s.credit,
                   amount=s.amount, unit=s.unit, pending_id=s.pending_id, reason=s.reason,
                   subject=s.subject, batch=batch, actor_id=actor_id, at=now,
                   digest=_digest_of(s, batch, actor_id, now)) for s in specs]
    conn = db.session.connection()
    stmt = _insert_transfers()
    if len(values) == 1:
        rows_in = list(conn.execute(stmt, values[0]).mappings())
    elif conn.dialect.name == "postgresql":
        # one short statement with an array per column: no 13,000-parameter text to build and parse
        new_ids = [r[0] for r in conn.exec_driver_sql(_PG_UNNEST_INSERT, {
            "key": [v["key"] for v in values], "kind": [v["kind"] for v in values],
            "debit": [v["debit_account_id"] for v in values], "credit": [v["credit_account_id"] for v in values],
            "amount": [v["amount"] for v in values], "unit": [v["unit"] for v in values],
            "pending": [v["pending_id"] for v in values], "reason": [v["reason"] for v in values],
            "subject": [v["subject"] for v in values], "digest": [v["digest"] for v in values],
            "batch": batch, "actor": actor_id, "at": now})]
        rows_in = None
        created = _load_transfers(new_ids, specs)
    else:
        by_key = {r["key"]: r for r in conn.execute(stmt, values).mappings()}
        rows_in = None
        created = _load_transfers([by_key[s.key]["id"] for s in specs if s.key in by_key], specs)
    if rows_in is not None:
        created = [_as_persistent(r) for r in rows_in]
    if len(created) < len(specs):
        if created:  # part of a batch exists already: the savepoint in transfer_batch undoes ours
            raise Conflict("Some keys of this batch were used before.", code="idempotency_key_reused")
        replay = _replay(specs)
        if replay is not None:
            return replay
        raise Conflict("This pending transfer was already posted or voided.", code="pending_already_resolved")
    _move_totals(deltas)
    return created


_PG_APPLY = ("SELECT ledger_apply(%(key)s, %(kind)s, %(debit)s, %(credit)s, %(amount)s, %(unit)s, %(pending)s, "
             "%(reason)s, %(subject)s, %(actor)s, %(at)s, %(digest)s)")


def _apply_one_pg(execute, s: _Spec, actor, attach: bool = True) -> Transfer:
    """One transfer in one statement (PostgreSQL's `ledger_apply`), run by `execute(params)`;
    the same outcomes as the Python path below, which SQLite and batches take."""
    now, actor_id = clock.now(), getattr(actor, "id", None)
    digest = _digest_of(s, None, actor_id, now)
    outcome = execute(dict(key=s.key, kind=s.kind, debit=s.debit, credit=s.credit, amount=s.amount, unit=s.unit,
                           pending=s.pending_id, reason=s.reason, subject=s.subject, actor=actor_id, at=now,
                           digest=digest))
    if outcome > 0:
        row = dict(id=outcome, key=s.key, kind=s.kind, debit_account_id=s.debit, credit_account_id=s.credit,
                   amount=s.amount, unit=s.unit, pending_id=s.pending_id, reason=s.reason, subject=s.subject,
                   batch=None, actor_id=actor_id, at=now, digest=digest)
        _expire_accounts((s.debit, s.credit))
        if attach:
            return _as_persistent(row)
        t = Transfer(**row)
        make_transient_to_detached(t)
        return t
    if outcome in (-1, -2):
        field = "debit" if outcome == -1 else "credit"
        raise field_error(field, "No such account.", code="account_not_found")
    if outcome == -3:
        raise field_error("unit", "Both accounts must be in the transfer's unit.", code="unit_mismatch")
    replay = _replay([s])
    if replay is not None:
        if not attach:
            db.session.expunge(replay[0])
        return replay[0]
    if outcome == 0:
        raise Conflict("This pending transfer was already posted or voided.", code="pending_already_resolved")
    acct = db.session.execute(select(A).where(A.c.id == (s.debit if outcome == -4 else s.credit))).mappings().one()
    raise _insufficient(acct)


def _session_execute(params: dict) -> int:
    return db.session.connection().exec_driver_sql(_PG_APPLY, params).scalar_one()


def _insufficient(acct) -> RuleViolation:
    return RuleViolation("The account does not hold enough for this transfer.", code="insufficient_funds",
                         fields={"amount": [f"Exceeds what account {acct['owner']}/{acct['purpose']} holds."]})


def _expire_accounts(ids: Iterable[int]) -> None:
    """ORM copies of these accounts in this session are stale once their totals moved."""
    for account_id in ids:
        obj = db.session.identity_map.get(identity_key(Account, account_id))
        if obj is not None:
            db.session.expire(obj, ["debits_posted", "credits_posted", "debits_pending", "credits_pending"])


def _deltas(specs: Iterable[_Spec]) -> dict[int, list[int]]:
    """account id -> [debits_posted, credits_posted, debits_pending, credits_pending] changes."""
    d: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for s in specs:
        if s.kind == "posted":
            d[s.debit][0] += s.amount
            d[s.credit][1] += s.amount
        elif s.kind == "pending":
            d[s.debit][2] += s.amount
            d[s.credit][3] += s.amount
        elif s.kind == "post":
            d[s.debit][0] += s.amount
            d[s.debit][2] -= s.amount
            d[s.credit][1] += s.amount
            d[s.credit][3] -= s.amount
        else:  # void
            d[s.debit][2] -= s.amount
            d[s.credit][3] -= s.amount
    return d


def _overdrawn(rows: dict[int, dict], deltas: dict[int, list[int]]) -> int | None:
    for account_id, (dp, cp, dq, cq) in deltas.items():
        r = rows[account_id]
        dp, cp, dq, cq = r["debits_posted"] + dp, r["credits_posted"] + cp, r["debits_pending"] + dq, \
            r["credits_pending"] + cq
        if r["debits_must_not_exceed_credits"] and dp + dq > cp:
            return account_id
        if r["credits_must_not_exceed_debits"] and cp + cq > dp:
            return account_id
    return None


def _move_totals(deltas: dict[int, list[int]]) -> None:
    ids = sorted(deltas)
    conn = db.session.connection()
    if len(ids) == 2:  # the common case: one statement for both accounts
        a, b = ids
        (dp_a, cp_a, dq_a, cq_a), (dp_b, cp_b, dq_b, cq_b) = deltas[a], deltas[b]
        conn.execute(_MOVE_TWO, dict(a=a, b=b, dp_a=dp_a, cp_a=cp_a, dq_a=dq_a, cq_a=cq_a,
                                     dp_b=dp_b, cp_b=cp_b, dq_b=dq_b, cq_b=cq_b))
    else:
        conn.execute(_MOVE_ONE, [dict(aid=i, dp=deltas[i][0], cp=deltas[i][1], dq=deltas[i][2], cq=deltas[i][3])
                                 for i in ids])
    _expire_accounts(ids)


_PG_UNNEST_INSERT = """
INSERT INTO ledger_transfers (key, kind, debit_account_id, credit_account_id, amount, unit, pending_id, reason,
                              subject, batch, actor_id, at, digest)
SELECT k, kd, d, c, a, u, p, r, s, %(batch)s, %(actor)s, %(at)s, g
  FROM unnest(%(key)s::varchar[], %(kind)s::varchar[], %(debit)s::int[], %(credit)s::int[], %(amount)s::bigint[],
              %(unit)s::varchar[], %(pending)s::bigint[], %(reason)s::varchar[], %(subject)s::varchar[],
              %(digest)s::varchar[])
       AS t(k, kd, d, c, a, u, p, r, s, g)
ON CONFLICT DO NOTHING
RETURNING id"""


def _load_transfers(ids: list[int], specs: list[_Spec]) -> list[Transfer]:
    """The ORM objects of a batch just inserted, in the order of its specs."""
    if not ids:
        return []
    by_key = {t.key: t for t in db.session.execute(select(Transfer).where(Transfer.id.in_(ids))).scalars()}
    return [by_key[s.key] for s in specs if s.key in by_key]


def _as_persistent(row) -> Transfer:
    """The ORM object for a row just inserted, without reading it back."""
    t = Transfer(**row)
    make_transient_to_detached(t)
    db.session.add(t)
    return t


def _replay(specs: list[_Spec]) -> list[Transfer] | None:
    """The transfers already written under these keys, if all exist and match; Conflict if one differs."""
    keys = [s.key for s in specs]
    found = {t.key: t for t in db.session.execute(select(Transfer).where(Transfer.key.in_(keys))).scalars()}
    if not found:
        return None
    for s in specs:
        t = found.get(s.key)
        if t is None or not s.same_as(t):
            raise Conflict("This idempotency key was used for a different transfer.",
                           code="idempotency_key_reused", fields={"key": [s.key]})
    return [found[s.key] for s in specs]


def _transfer_snapshot(t: Transfer) -> dict:
    return {"key": t.key, "kind": t.kind, "debit_account_id": t.debit_account_id,
            "credit_account_id": t.credit_account_id, "amount": t.amount, "unit": t.unit,
            "pending_id": t.pending_id, "reason": t.reason, "subject": t.subject}


def _insert(model=Account):
    dialect = db.session.get_bind().dialect.name
    target = A if model is Account else model
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


# ---- parameter checks -------------------------------------------------------------

def _id(account: Account | int) -> int:
    if isinstance(account, Account):
        return account.id
    if isinstance(account, bool) or not isinstance(account, int):
        raise field_error("account", "An account or its id.")
    return account


def _amount(amount: Any) -> int:
    # bool is an int in Python; a float or Decimal is never money here (LED-1).
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise field_error("amount", "A whole number of minor units (fen or points).")
    if not 0 < amount <= MAX_AMOUNT:
        raise field_error("amount", "Must be greater than 0.")
    return amount


def _unit(unit: str) -> str:
    if unit not in UNITS:
        raise field_error("unit", "Must be CNY or PTS.")
    return unit


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Say what this transfer is for (LED-7).")
    return reason[:200]


def _key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 160:
        raise field_error("key", "An idempotency key of 1 to 160 characters.")
    return key


def _subject(subject: str | None) -> str | None:
    subject = (subject or "").strip() or None
    if subject is not None and len(subject) > 60:
        raise field_error("subject", "At most 60 characters.")
    return subject


# ---- statements -------------------------------------------------------------------

def entries(account_id: int, *, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """The account's statement (对账单), newest first: each transfer seen from this account,
    with the posted balance after it."""
    account = get_account(account_id)
    touches = (Transfer.debit_account_id == account_id) | (Transfer.credit_account_id == account_id)
    total = db.session.execute(select(func.count()).select_from(Transfer).where(touches)).scalar_one()
    rows = db.session.execute(select(Transfer).where(touches).order_by(Transfer.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).scalars().all()
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


# ---- transfer digests (SEC-1) ---------------------------------------------------------

REPORTED = 1000  # violations of one kind named one by one; the rest are counted
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta(microseconds=1)


class _Hmac:
    """HMAC-SHA256 with the key's inner and outer pads hashed once: `ledger check` computes
    one per transfer, and re-keying each time would cost about as much as the rest."""

    def __init__(self, key: bytes) -> None:
        key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")  # RFC 2104
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def transfer_digest(key: str, kind: str, debit: int, credit: int, amount: int, unit: str, pending_key: str | None,
                    reason: str, subject: str | None, batch: str | None, actor_id: int | None, at: datetime) -> str:
    """HMAC-SHA256 over every field a transfer is written with. The row id is not among them
    (the database assigns it in the insert itself): the unique key names the row, and a post
    or void names its pending by the pending's key, so re-pointing one shows too. Each text
    field is length-prefixed, so no two different transfers make the same message."""
    if settings.mac is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.service.configure)")
    return settings.mac.hexdigest(_message(key, kind, debit, credit, amount, unit, pending_key, reason, subject,
                                           batch, actor_id, (at - _EPOCH) // _MICROSECOND).encode())


def _message(key, kind, debit, credit, amount, unit, pending_key, reason, subject, batch, actor_id, at_us) -> str:
    """What the digest covers; _PG_DIGEST_ROWS builds the same text in SQL."""
    return (f"ledger-transfer/1|{len(key)}:{key}|{len(kind)}:{kind}|{debit}|{credit}|{amount}|{len(unit)}:{unit}|"
            f"{'-' if pending_key is None else f'{len(pending_key)}:{pending_key}'}|{len(reason)}:{reason}|"
            f"{'-' if subject is None else f'{len(subject)}:{subject}'}|"
            f"{'-' if batch is None else f'{len(batch)}:{batch}'}|{'-' if actor_id is None else actor_id}|{at_us}")


def _digest_of(s: _Spec, batch: str | None, actor_id: int | None, at: datetime) -> str:
    return transfer_digest(s.key, s.kind, s.debit, s.credit, s.amount, s.unit, s.pending_key, s.reason, s.subject,
                           batch, actor_id, at)


@cache
def _digest_query():
    p = T.alias("p")
    return (select(T.c.id, T.c.key, T.c.kind, T.c.debit_account_id, T.c.credit_account_id, T.c.amount, T.c.unit,
                   p.c.key, T.c.reason, T.c.subject, T.c.batch, T.c.actor_id, T.c.at, T.c.digest)
            .outerjoin(p, p.c.id == T.c.pending_id))


# PostgreSQL builds each transfer's message itself (the same text as _message(): length() counts
# characters as Python's len() does in a UTF8 database; the time in whole microseconds, exact
# on every version) and streams (id, message, digest) through a server-side cursor: Python
# only computes the HMAC, so a million rows take seconds.
_PG_DIGEST_ROWS = """
SELECT t.id,
       'ledger-transfer/1|' || length(t.key) || ':' || t.key || '|' || length(t.kind) || ':' || t.kind
       || '|' || t.debit_account_id || '|' || t.credit_account_id || '|' || t.amount
       || '|' || length(t.unit) || ':' || t.unit
       || '|' || coalesce(length(p.key) || ':' || p.key, '-')
       || '|' || length(t.reason) || ':' || t.reason
       || '|' || coalesce(length(t.subject) || ':' || t.subject, '-')
       || '|' || coalesce(length(t.batch) || ':' || t.batch, '-')
       || '|' || coalesce(t.actor_id::text, '-')
       || '|' || (extract(epoch FROM date_trunc('second', t.at))::bigint * 1000000
                  + extract(microseconds FROM t.at)::bigint % 1000000),
       t.digest
  FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id"""


def _digest_rows() -> Iterator[tuple[int, str, str | None]]:
    """(id, the message its digest covers, the digest it carries) for every transfer."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor(name="ledger_digest_check") as cursor:
            cursor.execute(_PG_DIGEST_ROWS)
            while rows := cursor.fetchmany(10_000):  # a list at a time: a quarter faster than row by row
                yield from rows
        return
    result = db.session.execute(_digest_query().execution_options(yield_per=10_000))
    with result:
        for tid, *fields, at, digest in result:
            yield tid, _message(*fields, (at - _EPOCH) // _MICROSECOND), digest


def _unsigned_up_to() -> int:
    """Transfers up to this id were written before digests existed: migration 0008a recorded
    the boundary as an audit event, which the keyed chain after it protects."""
    from loyalty.audit.models import AuditEvent
    after = db.session.execute(select(AuditEvent.after).where(
        AuditEvent.entity == "ledger_transfers", AuditEvent.action == "digests_introduced")
        .order_by(AuditEvent.seq).limit(1)).scalar_one_or_none()
    return int((after or {}).get("unsigned_up_to_id") or 0)


def _digest_violations() -> list[str]:
    unsigned_up_to = _unsigned_up_to()
    changed: list[int] = []
    missing: list[int] = []
    mac = settings.mac
    if mac is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.service.configure)")
    hexdigest = mac.hexdigest
    for tid, message, digest in _digest_rows():
        if digest is None:
            if tid > unsigned_up_to:
                missing.append(tid)
        elif digest != hexdigest(message.encode()):
            changed.append(tid)
    violations = [f"transfer {tid} does not match its digest: its amount, accounts, reason or another field "
                  f"was changed after it was written" for tid in sorted(changed)[:REPORTED]]
    violations += [f"transfer {tid} carries no digest: written behind the ledger's back, or its digest was removed"
                   for tid in sorted(missing)[:REPORTED]]
    for ids, what in ((changed, "do not match their digests"), (missing, "carry no digest")):
        if len(ids) > REPORTED:
            violations.append(f"and {len(ids) - REPORTED} more transfers {what}")
    return violations


# ---- invariants (LED-4) --------------------------------------------------------------

def check() -> list[str]:
    """Every violation of the ledger's invariants, in words; [] when the ledger holds. The one
    check behind `flask ledger check`, GET /ledger/check and the test suite's after-test check:

    - every transfer balances: amount > 0, two distinct accounts, both in the transfer's unit;
      a post/void matches its pending (same accounts, amount, unit) and the pending is a pending;
    - each account's cached totals equal the sums of its transfers;
    - no account flagged against overdraw is overdrawn, pending included (from the sums);
    - no pending is resolved more than once;
    - every transfer matches its digest (SEC-1);
    - every registered sub-ledger holds (the points lots add up to the points accounts).
    """
    violations = _invariant_violations() + _digest_violations()
    for keeper in SUBLEDGERS.values():
        violations += keeper.check()
    return violations


def _invariant_violations() -> list[str]:
    violations: list[str] = []
    bad = db.session.execute(_unbalanced_query()).all()
    for row in bad:
        violations.append(f"transfer {row[0]} does not balance ({row[3]} {row[1]} {row[2]}: accounts "
                          f"{row[6]}[{row[4]}] -> {row[7]}[{row[5]}]"
                          + (f", pending {row[8]} {row[9]} {row[12]} {row[13]})" if row[3] in ("post", "void")
                             else ")"))
    for pending_id, n in db.session.execute(_twice_resolved_query()):
        violations.append(f"pending transfer {pending_id} is resolved {n} times")

    sums = _sums_by_account()
    for acct in db.session.execute(select(A).order_by(A.c.id)).mappings():
        want = sums.pop(acct["id"], (0, 0, 0, 0))
        have = (acct["debits_posted"], acct["credits_posted"], acct["debits_pending"], acct["credits_pending"])
        name = f"account {acct['id']} ({acct['owner']}/{acct['purpose']} {acct['unit']})"
        if have != want:
            violations.append(f"{name}: cached totals {_fmt(have)} differ from its transfers {_fmt(want)}")
        dp, cp, dq, cq = want
        if min(want) < 0:
            violations.append(f"{name}: negative total from its transfers {_fmt(want)}")
        if acct["debits_must_not_exceed_credits"] and dp + dq > cp:
            violations.append(f"{name}: overdrawn, debits {dp} + pending {dq} exceed credits {cp}")
        if acct["credits_must_not_exceed_debits"] and cp + cq > dp:
            violations.append(f"{name}: overdrawn, credits {cp} + pending {cq} exceed debits {dp}")
    for account_id in sums:
        violations.append(f"transfers reference account {account_id}, which does not exist")
    return violations


def _fmt(t: tuple) -> str:
    return "debits_posted={} credits_posted={} debits_pending={} credits_pending={}".format(*t)


@cache
def _unbalanced_query():
    da, ca, p = A.alias("da"), A.alias("ca"), T.alias("p")
    return (select(T.c.id, T.c.amount, T.c.unit, T.c.kind, da.c.unit, ca.c.unit, T.c.debit_account_id,
                   T.c.credit_account_id, p.c.id, p.c.kind, p.c.debit_account_id, p.c.credit_account_id,
                   p.c.amount, p.c.unit)
            .join(da, da.c.id == T.c.debit_account_id).join(ca, ca.c.id == T.c.credit_account_id)
            .outerjoin(p, p.c.id == T.c.pending_id)
            .where((T.c.amount <= 0) | (T.c.debit_account_id == T.c.credit_account_id)
                   | (da.c.unit != T.c.unit) | (ca.c.unit != T.c.unit)
                   | (T.c.kind.in_(("post", "void")) & (p.c.id.is_(None) | (p.c.kind != "pending")
                                                        | (p.c.debit_account_id != T.c.debit_account_id)
                                                        | (p.c.credit_account_id != T.c.credit_account_id)
                                                        | (p.c.amount != T.c.amount) | (p.c.unit != T.c.unit))))
            .order_by(T.c.id).limit(1000))


@cache
def _twice_resolved_query():
    return (select(T.c.pending_id, func.count()).where(T.c.pending_id.is_not(None))
            .group_by(T.c.pending_id).having(func.count() > 1))


@cache
def _sums_query():
    """One pass over the transfers: each side's posted and (net) pending sums per account."""
    kind, amt = T.c.kind, T.c.amount
    zero = func.cast(0, T.c.amount.type)
    posted = case((kind.in_(("posted", "post")), amt), else_=zero)
    # a pending adds to the reservation; its post or void takes it away again
    pending = case((kind == "pending", amt), (kind == "posted", zero), else_=-amt)
    legs = union_all(
        select(T.c.debit_account_id.label("aid"), posted.label("dp"), zero.label("cp"), pending.label("dq"),
               zero.label("cq")),
        select(T.c.credit_account_id.label("aid"), zero, posted, zero, pending),
    ).subquery()
    return select(legs.c.aid, func.sum(legs.c.dp), func.sum(legs.c.cp), func.sum(legs.c.dq),
                  func.sum(legs.c.cq)).group_by(legs.c.aid)


def _sums_by_account() -> dict[int, tuple[int, int, int, int]]:
    rows = db.session.execute(_sums_query())
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


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
    keeper = next((SUBLEDGERS[a.purpose] for a in accounts if a.purpose in SUBLEDGERS), None)
    move = keeper.adjust if keeper else transfer
    t = move(debit=debit_account_id, credit=credit_account_id, amount=amount, unit=unit,
             reason=f"Adjustment: {reason.strip()}", subject=subject or "adjustment", key=f"adjustment:{key}",
             actor=actor)
    if not _audited(t):
        audit.record(actor, "ledger_transfer", t.id, "adjustment", None, _transfer_snapshot(t))
    return t


def _audited(t: Transfer) -> bool:
    """A replayed adjustment was audited the first time."""
    from loyalty.audit.models import AuditEvent
    return db.session.execute(select(AuditEvent.id).where(
        AuditEvent.entity == "ledger_transfer", AuditEvent.entity_id == str(t.id)).limit(1)).first() is not None
