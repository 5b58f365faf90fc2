"""The ledger's invariants (LED-4): one check behind `flask ledger check`, GET /ledger/check and
the test suite's after-test check, and the registry of sub-ledgers it also runs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from sqlalchemy import and_, bindparam, case, exists, func, literal_column, null, or_, select, text, union, union_all

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
    by_account, posted, suspect = _account_violations()
    # the scan for a transfer's own faults runs only when the sums saw one (issue 16: a full scan
    # joined to the accounts, at 10M transfers); a post or void is always held against its pending
    ids = db.session.execute(_unbalanced_ids_query(own=suspect)).scalars().all()
    bad = db.session.execute(_unbalanced_query(), {"ids": ids}).all() if ids else []
    violations = [f"transfer {row[0]} does not balance ({row[3]} {row[1]} {row[2]}: accounts "
                  f"{row[6]}[{row[4]}] -> {row[7]}[{row[5]}]"
                  + (f", pending {row[8]} {row[9]} {row[12]} {row[13]})" if row[3] in ("post", "void") else ")")
                  for row in bad]
    for pending_id, n in db.session.execute(_twice_resolved_query()):
        violations.append(f"pending transfer {pending_id} is resolved {n} times")
    return violations + by_account + _kept_total_violations(posted)


SUMS_WORK_MEM = "256MB"  # PostgreSQL: the sums' hash of every account in memory, not in batches on disk


def _account_violations() -> tuple[list[str], Counter[tuple[str, str]], bool]:
    """Each account against the sums of its transfers, compared by the database, which sends back
    only the accounts that may not hold (issue 16: not every account of a group, 600,000 at 10M
    transfers); the posted totals per (purpose, unit) taken from those sums; and whether a
    transfer's own faults must be looked for (a bad amount or one account on both sides was
    summed, a transfer is in a unit not its account's, or names an account that does not exist)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SET LOCAL work_mem = '{SUMS_WORK_MEM}'"))  # this check's transaction only
    violations: list[str] = []
    posted: Counter[tuple[str, str]] = Counter()  # (purpose, unit) -> posted total, from the transfers
    suspect = False
    missing: set[int | None] = set()
    for (tag, aid, owner, purpose, unit, normal, *have, debits_capped, credits_capped, dp, cp, dq, cq, other_unit,
         faulty) in db.session.execute(_account_check_query(db.session.get_bind().dialect.name)):
        if tag == "t":  # its accounts' posted debits and credits, summed by (purpose, unit, normal side)
            posted[(purpose, unit)] += totals.on_normal_side(normal, int(dp), int(cp))
            suspect = suspect or faulty > 0
            continue
        if tag == "o":
            if aid not in missing:  # (transfers with no account ids at all: a NULL meets no NULL in the joins)
                violations.append(f"transfers reference account {aid}, which does not exist")
            missing.add(aid)
            suspect = True
            continue
        want, have = (int(dp), int(cp), int(dq), int(cq)), tuple(have)
        suspect = suspect or other_unit == 1
        said = []
        if have != want:
            said.append(f"cached totals {_fmt(have)} differ from its transfers {_fmt(want)}")
        if min(want) < 0:
            said.append(f"negative total from its transfers {_fmt(want)}")
        if debits_capped and want[0] + want[2] > want[1]:
            said.append(f"overdrawn, debits {want[0]} + pending {want[2]} exceed credits {want[1]}")
        if credits_capped and want[1] + want[3] > want[0]:
            said.append(f"overdrawn, credits {want[1]} + pending {want[3]} exceed debits {want[0]}")
        violations += [f"account {aid} ({owner}/{purpose} {unit}): {what}" for what in said]
    return violations, posted, suspect


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
def _account_check_query(dialect: str):
    """One statement (issue 16): the transfers summed in one scan per (debit account, credit account,
    kind, unit), a few pairs per account in a real ledger; those sums per account on each side, both
    sides joined to the accounts. Rows tagged `a` are the accounts that may not hold (a cache that
    differs, a negative sum, an overdraw, a transfer in another unit), `o` the accounts transfers
    name that do not exist, `t` each (purpose, unit, normal side)'s debits and credits (on SQLite each
    account's: Python sums them, exactly) and count of bad transfers."""
    pairs = (select(T.c.debit_account_id.label("debit"), T.c.credit_account_id.label("credit"), T.c.kind, T.c.unit,
                    func.sum(T.c.amount).label("n"), func.min(T.c.amount).label("low"))
             .group_by(T.c.debit_account_id, T.c.credit_account_id, T.c.kind, T.c.unit).cte("pairs"))
    kind, n = pairs.c.kind, pairs.c.n
    posted = func.sum(case((kind.in_(("posted", "post")), n), else_=0))
    # a pending adds to the reservation; its post or void takes it away again
    pending = func.sum(case((kind == "pending", n), (kind == "posted", 0), else_=-n))
    faulty = func.sum(case(((pairs.c.low <= 0) | (pairs.c.debit == pairs.c.credit), 1), else_=0))
    debits, credits = (select(account.label("aid"), posted.label("posted"), pending.label("pending"),
                              func.min(pairs.c.unit).label("low_unit"), func.max(pairs.c.unit).label("high_unit"),
                              (faulty if account is pairs.c.debit else literal_column("0")).label("faulty"))
                       .group_by(account).cte(name) for name, account in (("debits", pairs.c.debit),
                                                                           ("credits", pairs.c.credit)))
    zero = func.cast(0, T.c.amount.type)
    dp, cp, dq, cq = (func.coalesce(side.c[c], zero) for c in ("posted", "pending") for side in (debits, credits))
    other_unit = or_(*(side.c[u] != A.c.unit for side in (debits, credits) for u in ("low_unit", "high_unit")))
    joined = (select(A.c.id, func.coalesce(debits.c.aid, credits.c.aid).label("aid"), A.c.owner, A.c.purpose,
                     A.c.unit, A.c.normal, A.c.debits_posted, A.c.credits_posted, A.c.debits_pending,
                     A.c.credits_pending, A.c.debits_must_not_exceed_credits, A.c.credits_must_not_exceed_debits,
                     dp.label("dp"), cp.label("cp"), dq.label("dq"), cq.label("cq"),
                     case((other_unit, 1), else_=0).label("other_unit"),
                     func.coalesce(debits.c.faulty, 0).label("faulty"))
              .select_from(A.outerjoin(debits, debits.c.aid == A.c.id, full=True)
                           .outerjoin(credits, credits.c.aid == func.coalesce(A.c.id, debits.c.aid), full=True))
              .cte("joined"))
    j, none = joined.c, null()
    may_not_hold = or_(j.debits_posted.is_distinct_from(j.dp), j.credits_posted.is_distinct_from(j.cp),
                       j.debits_pending.is_distinct_from(j.dq), j.credits_pending.is_distinct_from(j.cq),
                       j.dp < 0, j.cp < 0, j.dq < 0, j.cq < 0,
                       and_(j.debits_must_not_exceed_credits, j.dp + j.dq > j.cp),
                       and_(j.credits_must_not_exceed_debits, j.cp + j.cq > j.dp), j.other_unit == 1)
    columns = [c for c in joined.c if c.name != "aid"]
    accounts = select(literal_column("'a'").label("tag"), *columns).where(j.id.is_not(None), may_not_hold)
    missing = select(literal_column("'o'"), j.aid, *(none for _ in columns[1:])).where(j.id.is_(None))
    totals_ = select(literal_column("'t'"), none, none, j.purpose, j.unit, j.normal, *(none for _ in range(6)),
                     j.dp, j.cp, none, none, none, j.faulty).where(j.id.is_not(None))
    if dialect != "sqlite":  # summed by (purpose, unit, side) here; SQLite's integer sum() would overflow
        totals_ = (select(literal_column("'t'"), none, none, j.purpose, j.unit, j.normal, *(none for _ in range(6)),
                          func.sum(j.dp), func.sum(j.cp), none, none, none, func.sum(j.faulty))
                   .where(j.id.is_not(None)).group_by(j.purpose, j.unit, j.normal))
    both = union_all(accounts, missing, totals_).subquery()
    return select(both).order_by(both.c.tag, both.c.id)
