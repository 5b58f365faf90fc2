"""The ledger's invariants (LED-4): one check behind `flask ledger check`, GET /ledger/check and
the test suite's after-test check, and the registry of sub-ledgers it also runs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from sqlalchemy import bindparam, case, exists, func, select, text, union, union_all

from loyalty.extensions import db
from loyalty.ledger import totals
from loyalty.ledger.accounts import PURPOSES
from loyalty.ledger.digest_walk import REPORTED
from loyalty.ledger.digests import finish_digest_pass, progress_record, start_digest_pass
from loyalty.ledger.models import Account, Transfer

A = Account.__table__
T = Transfer.__table__


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


def check(progress: Callable[[int], None] | None = None, jobs: int = 1, progress_path: str | Path | None = None,
          resume: bool = False) -> list[str]:
    """Every violation of the ledger's invariants, in words; [] when the ledger holds. The one
    check behind `flask ledger check`, GET /ledger/check and the test suite's after-test check:

    - every transfer balances: amount > 0, two distinct accounts, both in the transfer's unit;
      a post/void matches its pending (same accounts, amount, unit) and the pending is a pending;
    - each account's cached totals equal the sums of its transfers;
    - the posted totals kept per (purpose, unit) equal the sum of those accounts' posted balances;
    - no account flagged against overdraw is overdrawn, pending included (from the sums);
    - no pending is resolved more than once;
    - every transfer matches its digest (SEC-1);
    - every registered sub-ledger holds (the points lots add up to the points accounts).

    `progress(n)` is told as the digest pass (the one walk over every transfer in Python) goes; it
    runs in `jobs` processes, and with `progress_path` keeps how far it got there, so that with
    `resume` a check that was interrupted continues after the last span it finished (the digests
    are each transfer's own: the spans already checked need no second look; the sums below are
    taken again in full). A check that completes removes that record.
    """
    record = progress_record(progress_path) if progress_path else None
    if record is not None and not resume:
        record.clear()  # a fresh check: an older interrupted one's progress is not this one's
    begun = start_digest_pass(jobs, record, resume)  # with more jobs, its processes hash while the sums run
    try:
        violations = _invariant_violations()
    except BaseException:
        begun.walked.close()
        raise
    violations += finish_digest_pass(begun, progress)
    if record is not None:
        record.clear()
    for keeper in SUBLEDGERS.values():
        violations += keeper.check()
    return violations


def _invariant_violations() -> list[str]:
    sums = _sums_by_account()
    by_account, posted, other_units = _account_violations(sums)
    # the scan for a transfer's own faults runs only when the sums saw one (issue 16: a full scan
    # joined to the accounts, at 10M transfers); a post or void is always held against its pending
    ids = db.session.execute(_unbalanced_ids_query(own=other_units or sums.faulty)).scalars().all()
    bad = db.session.execute(_unbalanced_query(), {"ids": ids}).all() if ids else []
    violations = [f"transfer {row[0]} does not balance ({row[3]} {row[1]} {row[2]}: accounts "
                  f"{row[6]}[{row[4]}] -> {row[7]}[{row[5]}]"
                  + (f", pending {row[8]} {row[9]} {row[12]} {row[13]})" if row[3] in ("post", "void") else ")")
                  for row in bad]
    for pending_id, n in db.session.execute(_twice_resolved_query()):
        violations.append(f"pending transfer {pending_id} is resolved {n} times")
    return violations + by_account + _kept_total_violations(posted)


def _account_violations(sums: Sums) -> tuple[list[str], Counter[tuple[str, str]], bool]:
    """Each account against the sums of its transfers; the posted totals per (purpose, unit) taken
    from those sums; whether any account has transfers in a unit not its own."""
    violations: list[str] = []
    posted: Counter[tuple[str, str]] = Counter()  # (purpose, unit) -> posted total, from the transfers
    other_units = bool(sums.mixed)
    nothing = (0, 0, 0, 0)
    for (aid, owner, purpose, unit, normal, *have, debits_capped, credits_capped) in db.session.execute(
            select(A.c.id, A.c.owner, A.c.purpose, A.c.unit, A.c.normal, A.c.debits_posted, A.c.credits_posted,
                   A.c.debits_pending, A.c.credits_pending, A.c.debits_must_not_exceed_credits,
                   A.c.credits_must_not_exceed_debits).order_by(A.c.id)):
        want, have = sums.totals.pop(aid, nothing), tuple(have)
        other_units = other_units or sums.units.get(aid, unit) != unit
        dp, cp, dq, cq = want
        posted[(purpose, unit)] += totals.on_normal_side(normal, dp, cp)
        said = []
        if have != want:
            said.append(f"cached totals {_fmt(have)} differ from its transfers {_fmt(want)}")
        if min(want) < 0:
            said.append(f"negative total from its transfers {_fmt(want)}")
        if debits_capped and dp + dq > cp:
            said.append(f"overdrawn, debits {dp} + pending {dq} exceed credits {cp}")
        if credits_capped and cp + cq > dp:
            said.append(f"overdrawn, credits {cp} + pending {cq} exceed debits {dp}")
        if said:  # the name only for an account that does not hold (nearly none)
            violations += [f"account {aid} ({owner}/{purpose} {unit}): {what}" for what in said]
    for account_id in sums.totals:
        violations.append(f"transfers reference account {account_id}, which does not exist")
    return violations, posted, other_units


def _kept_total_violations(posted: Counter[tuple[str, str]]) -> list[str]:
    """The posted totals kept per (purpose, unit) (loyalty.ledger.totals: totals + deltas) against the
    sum of the accounts' posted balances. Taken from the transfers' sums, as the cached totals are
    checked above, so an account whose cache alone was changed is reported once, as that account."""
    kept = totals.all_kept()
    return [f"posted total of {purpose} {unit}: kept {kept.get((purpose, unit), 0)} differs from its "
            f"accounts' transfers {posted[(purpose, unit)]}"
            for purpose, unit in sorted(set(kept) | {k for k, n in posted.items() if n})
            if kept.get((purpose, unit), 0) != posted[(purpose, unit)]]


def _fmt(t: tuple) -> str:
    return "debits_posted={} credits_posted={} debits_pending={} credits_pending={}".format(*t)


@cache
def _unbalanced_ids_query(own: bool = True):
    """The first REPORTED transfers that do not balance, in plain scans (no order walked, no transfer
    joined to every other: issue 16, 10M transfers): a post or void without the pending it must
    match; with `own`, also a bad amount, a transfer to itself or a unit that is not its accounts'."""
    da, ca, p = A.alias("da"), A.alias("ca"), T.alias("p")
    own_faults = (select(T.c.id).join(da, da.c.id == T.c.debit_account_id).join(ca, ca.c.id == T.c.credit_account_id)
                  .where((T.c.amount <= 0) | (T.c.debit_account_id == T.c.credit_account_id)
                         | (da.c.unit != T.c.unit) | (ca.c.unit != T.c.unit)))
    resolving = select(T.c.id).where(T.c.kind.in_(("post", "void")), ~exists().where(
        p.c.id == T.c.pending_id, p.c.kind == "pending", p.c.debit_account_id == T.c.debit_account_id,
        p.c.credit_account_id == T.c.credit_account_id, p.c.amount == T.c.amount, p.c.unit == T.c.unit))
    if not own:
        return resolving.order_by(T.c.id).limit(REPORTED)
    bad = union(own_faults, resolving).subquery()
    return select(bad.c.id).order_by(bad.c.id).limit(REPORTED)


@cache
def _unbalanced_query():
    """What is said of each transfer found by _unbalanced_ids_query (`ids`)."""
    da, ca, p = A.alias("da"), A.alias("ca"), T.alias("p")
    return (select(T.c.id, T.c.amount, T.c.unit, T.c.kind, da.c.unit, ca.c.unit, T.c.debit_account_id,
                   T.c.credit_account_id, p.c.id, p.c.kind, p.c.debit_account_id, p.c.credit_account_id,
                   p.c.amount, p.c.unit)
            .join(da, da.c.id == T.c.debit_account_id).join(ca, ca.c.id == T.c.credit_account_id)
            .outerjoin(p, p.c.id == T.c.pending_id)
            .where(T.c.id.in_(bindparam("ids", expanding=True))).order_by(T.c.id))


@cache
def _twice_resolved_query():
    return (select(T.c.pending_id, func.count()).where(T.c.pending_id.is_not(None))
            .group_by(T.c.pending_id).having(func.count() > 1))


@cache
def _sums_query():
    """One pass over the transfers: per account and unit, each side's posted and (net) pending sums,
    and how many transfers have a bad amount or one account on both sides."""
    kind, amt = T.c.kind, T.c.amount
    zero = func.cast(0, T.c.amount.type)
    posted = case((kind.in_(("posted", "post")), amt), else_=zero)
    # a pending adds to the reservation; its post or void takes it away again
    pending = case((kind == "pending", amt), (kind == "posted", zero), else_=-amt)
    faulty = case(((amt <= 0) | (T.c.debit_account_id == T.c.credit_account_id), 1), else_=0)
    legs = union_all(
        select(T.c.debit_account_id.label("aid"), T.c.unit.label("unit"), posted.label("dp"), zero.label("cp"),
               pending.label("dq"), zero.label("cq"), faulty.label("faulty")),
        select(T.c.credit_account_id.label("aid"), T.c.unit, zero, posted, zero, pending, zero),
    ).subquery()
    return select(legs.c.aid, legs.c.unit, func.sum(legs.c.dp), func.sum(legs.c.cp), func.sum(legs.c.dq),
                  func.sum(legs.c.cq), func.sum(legs.c.faulty)).group_by(legs.c.aid, legs.c.unit)


@dataclass
class Sums:
    totals: dict[int, tuple[int, int, int, int]]  # account -> its transfers' sums (dp, cp, dq, cq)
    units: dict[int, str]  # account -> the unit of its transfers (the first seen, when several)
    mixed: set[int]  # accounts whose transfers are in more than one unit
    faulty: bool  # a transfer with a bad amount or one account on both sides exists


SUMS_WORK_MEM = "256MB"  # PostgreSQL: the sums' hash of every account in memory, not in batches on disk


def _sums_by_account() -> Sums:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL work_mem = '{SUMS_WORK_MEM}'"))  # this check's transaction only
    sums = Sums({}, {}, set(), False)
    totals_of, units = sums.totals, sums.units
    for aid, unit, dp, cp, dq, cq, faulty in db.session.execute(_sums_query()):
        if aid in totals_of:  # the account's transfers are in several units: one row per unit
            was = totals_of[aid]
            totals_of[aid] = (was[0] + int(dp), was[1] + int(cp), was[2] + int(dq), was[3] + int(cq))
            sums.mixed.add(aid)
        else:
            totals_of[aid] = (int(dp), int(cp), int(dq), int(cq))
            units[aid] = unit
        sums.faulty = sums.faulty or faulty > 0
    return sums
