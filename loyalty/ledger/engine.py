"""The apply engine: the one path every transfer takes (LED-1, LED-2, LED-4).

How a transfer is applied (one transaction, the caller's; we only flush):
1. lock the accounts it touches, ascending id, `FOR NO KEY UPDATE` (PostgreSQL;
   SQLite holds the database write lock from BEGIN IMMEDIATE). A fixed order
   means two transfers never wait on each other in a cycle, and NO KEY UPDATE
   does not conflict with the FOR KEY SHARE the transfer row's foreign keys take;
2. check the flags against the locked totals;
3. claim the key: INSERT ... ON CONFLICT DO NOTHING. Nothing inserted means the
   key (or, for post/void, the pending) is taken: replay the first transfer if
   its parameters are the same, else 409;
4. move the cached totals in one UPDATE, and append what the transfer moved the posted total of
   each (purpose, unit) by (`totals`: insert only, no row every transfer waits on).
On PostgreSQL a single transfer does all four in one statement, the stored function
`ledger_apply` (migration 0006; its posted-total deltas since 0013l): one round trip instead of four.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from loyalty import clock
from loyalty.errors import Conflict, RuleViolation, field_error
from loyalty.extensions import db
from loyalty.ledger import totals as posted_totals
from loyalty.ledger.accounts import LOCK_ACCOUNTS
from loyalty.ledger.digests import digest_of
from loyalty.ledger.models import Account, Transfer
from loyalty.ledger.spec import Spec

A = Account.__table__
T = Transfer.__table__

# Statements built once: building SQLAlchemy constructs per call costs more CPU than running them.
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


def apply(specs: list[Spec], actor, batch: str | None = None) -> list[Transfer]:
    if len(specs) == 1 and batch is None:
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            return [apply_one_pg(_session_execute, specs[0], actor)]
    ids = sorted({s.debit for s in specs} | {s.credit for s in specs})
    rows = {r["id"]: r for r in db.session.execute(LOCK_ACCOUNTS, {"ids": ids}).mappings()}
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
        replay = replay_of(specs)
        if replay is not None:
            return replay
        raise _insufficient(rows[short])
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    values = [dict(key=s.key, kind=s.kind, debit_account_id=s.debit, credit_account_id=s.credit,
                   amount=s.amount, unit=s.unit, pending_id=s.pending_id, reason=s.reason,
                   subject=s.subject, batch=batch, actor_id=actor_id, at=now,
                   digest=digest_of(s, batch, actor_id, now)) for s in specs]
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
        replay = replay_of(specs)
        if replay is not None:
            return replay
        raise Conflict("This pending transfer was already posted or voided.", code="pending_already_resolved")
    _move_totals(deltas)
    posted_totals.append(rows, deltas)
    return created


@dataclass(frozen=True)
class Posted:
    """A transfer's columns, as submit() returns them: building an ORM object costs more than the
    rest of the Python on that one-statement path (issue 16)."""
    id: int
    key: str
    kind: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    unit: str
    pending_id: int | None
    reason: str
    subject: str | None
    batch: str | None
    actor_id: int | None
    at: datetime
    digest: str | None

    @classmethod
    def of(cls, t: Transfer) -> Posted:
        return cls(**{f.name: getattr(t, f.name) for f in fields(cls)})


PG_APPLY = ("SELECT ledger_apply(%(key)s, %(kind)s, %(debit)s, %(credit)s, %(amount)s, %(unit)s, %(pending)s, "
             "%(reason)s, %(subject)s, %(actor)s, %(at)s, %(digest)s)")


def apply_one_pg(execute, s: Spec, actor, attach: bool = True) -> Transfer | Posted:
    """One transfer in one statement (PostgreSQL's `ledger_apply`), run by `execute(params)`;
    the same outcomes as the Python path below, which SQLite and batches take. `attach`: the
    Transfer in the session; else its columns as a Posted (no ORM object: submit()'s path)."""
    now, actor_id = clock.now(), getattr(actor, "id", None)
    digest = digest_of(s, None, actor_id, now)
    outcome = execute(dict(key=s.key, kind=s.kind, debit=s.debit, credit=s.credit, amount=s.amount, unit=s.unit,
                           pending=s.pending_id, reason=s.reason, subject=s.subject, actor=actor_id, at=now,
                           digest=digest))
    if outcome > 0:
        row = dict(id=outcome, key=s.key, kind=s.kind, debit_account_id=s.debit, credit_account_id=s.credit,
                   amount=s.amount, unit=s.unit, pending_id=s.pending_id, reason=s.reason, subject=s.subject,
                   batch=None, actor_id=actor_id, at=now, digest=digest)
        _expire_accounts((s.debit, s.credit))
        return _as_persistent(row) if attach else Posted(**row)
    if outcome in (-1, -2):
        field = "debit" if outcome == -1 else "credit"
        raise field_error(field, "No such account.", code="account_not_found")
    if outcome == -3:
        raise field_error("unit", "Both accounts must be in the transfer's unit.", code="unit_mismatch")
    replay = replay_of([s])
    if replay is not None:
        return replay[0] if attach else Posted.of(replay[0])
    if outcome == 0:
        raise Conflict("This pending transfer was already posted or voided.", code="pending_already_resolved")
    acct = db.session.execute(select(A).where(A.c.id == (s.debit if outcome == -4 else s.credit))).mappings().one()
    raise _insufficient(acct)


def _session_execute(params: dict) -> int:
    return db.session.connection().exec_driver_sql(PG_APPLY, params).scalar_one()


def _insufficient(acct) -> RuleViolation:
    return RuleViolation("The account does not hold enough for this transfer.", code="insufficient_funds",
                         fields={"amount": [f"Exceeds what account {acct['owner']}/{acct['purpose']} holds."]})


def _expire_accounts(ids: Iterable[int]) -> None:
    """ORM copies of these accounts in this session are stale once their totals moved."""
    for account_id in ids:
        obj = db.session.identity_map.get(identity_key(Account, account_id))
        if obj is not None:
            db.session.expire(obj, ["debits_posted", "credits_posted", "debits_pending", "credits_pending"])


def _deltas(specs: Iterable[Spec]) -> dict[int, list[int]]:
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


def _load_transfers(ids: list[int], specs: list[Spec]) -> list[Transfer]:
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


def replay_of(specs: list[Spec]) -> list[Transfer] | None:
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
