"""The posted balance per (purpose, unit) of all the ledger's accounts, kept current (issue 16).

A balance is signed by its account's normal side (credit - debit for a credit-normal account,
debit - credit for a debit-normal one), so the total of `reward_payable` is what the group owes
its referrers. Every transfer that moves a posted amount (posted, post) appends the change of its
two accounts' (purpose, unit) totals to `ledger_total_deltas`, in its own transaction: the
Python path (`engine.apply`, SQLite and batches) through `append`, PostgreSQL's `ledger_apply`
in SQL (migration 0013l). Pending amounts never move a total. The `ledger_totals` job folds the
deltas into `ledger_totals` (loyalty.reports.totals.compact_posted); `kept` reads both in one
statement; `summed` is the same figure from the accounts (what a rebuild writes and check()
compares with).
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

from sqlalchemy import case, func, insert, select, union_all

from loyalty.extensions import db
from loyalty.ledger.models import Account, PostedTotal, PostedTotalDelta

A = Account.__table__
_INSERT = insert(PostedTotalDelta.__table__)


def changes(rows: Mapping[int, Mapping], deltas: Mapping[int, list[int]]) -> Counter[tuple[str, str]]:
    """(purpose, unit) -> change of its total, from the locked accounts' `rows` and the engine's
    per-account [debits_posted, credits_posted, ...] `deltas`."""
    out: Counter[tuple[str, str]] = Counter()
    for account_id, (dp, cp, *_pending) in deltas.items():
        row = rows[account_id]
        out[(row["purpose"], row["unit"])] += on_normal_side(row["normal"], dp, cp)
    return out


def append(rows: Mapping[int, Mapping], deltas: Mapping[int, list[int]]) -> None:
    """The deltas of one apply, in the caller's transaction (nothing when no posted amount moved)."""
    values = [{"purpose": p, "unit": u, "n": n} for (p, u), n in changes(rows, deltas).items() if n]
    if values:
        db.session.connection().execute(_INSERT, values)


def kept(purposes: Iterable[str], unit: str) -> dict[str, int]:
    """purpose -> posted total of its `unit` accounts (from all_kept, summed by the database)."""
    everything = all_kept()
    return {p: everything.get((p, unit), 0) for p in purposes}


def all_kept() -> dict[tuple[str, str], int]:
    """(purpose, unit) -> every kept total (totals + deltas), zeros left out."""
    rows = union_all(*(select(t.purpose, t.unit, t.n) for t in (PostedTotal, PostedTotalDelta))).subquery()
    return {(p, u): int(n) for p, u, n in db.session.execute(
        select(rows.c.purpose, rows.c.unit, func.sum(rows.c.n)).group_by(rows.c.purpose, rows.c.unit)) if n}


def on_normal_side(normal: str, debits: int, credits: int) -> int:
    """An account's balance on its normal side, in Python (`signed` is the SQL of it)."""
    return credits - debits if normal == "credit" else debits - credits


def signed(debits, credits, normal):
    """An account's balance on its normal side (a column expression)."""
    return case((normal == "credit", credits - debits), else_=debits - credits)


def summed():
    """SELECT purpose, unit, posted total over the accounts (one scan of ledger_accounts): the rebuild's
    source."""
    return (select(A.c.purpose, A.c.unit, func.sum(signed(A.c.debits_posted, A.c.credits_posted, A.c.normal)))
            .group_by(A.c.purpose, A.c.unit))
