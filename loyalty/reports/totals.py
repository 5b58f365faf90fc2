"""Keeping the open payables per store current (issue 16): what the liabilities report reads
instead of summing every open payout.

Every flush that creates a payout, changes its status or moves it appends the difference of the
open gross per (store, status) to `payout_total_deltas`, in the writer's transaction (insert only,
so concurrent approvals never wait on a store's total); the `payout_totals` job folds them into
`payout_totals`; `open_payables` reads both in one statement. `rebuild` recomputes from the payouts.
The ledger's posted totals per (purpose, unit) (loyalty.ledger.totals) are folded and rebuilt here
the same way (`compact_posted`, `rebuild_posted`; job `ledger_totals`).
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, event, func, insert, inspect, select, text, union_all
from sqlalchemy.orm import Session

from loyalty.extensions import db
from loyalty.ledger import totals as posted_totals
from loyalty.ledger.models import PostedTotal, PostedTotalDelta
from loyalty.payouts.models import OPEN, Payout
from loyalty.reports.models import PayoutTotal, PayoutTotalDelta

FIELDS = ("store_id", "status", "gross_amount")
_OLD = "payout_totals.old"


def watch() -> None:
    """Called once by the composition root: every session's flushes keep the totals."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _before_flush(session: Session, _context, _instances) -> None:
    session.info[_OLD] = old = {}  # this flush's own (a flush that failed leaves nothing behind)
    changed = [obj for obj in session.dirty if isinstance(obj, Payout)
               and any(inspect(obj).attrs[name].history.has_changes() for name in FIELDS)]
    unknown = []
    for obj in changed:
        before = [inspect(obj).attrs[name].history for name in FIELDS]
        if all(h.deleted or h.unchanged for h in before):
            old[obj.id] = tuple((h.deleted or h.unchanged)[0] for h in before)
        else:  # set on an expired attribute: the old value was never loaded
            unknown.append(obj.id)
    if unknown:
        for row in session.connection().execute(select(Payout.id, Payout.store_id, Payout.status,
                                                       Payout.gross_amount).where(Payout.id.in_(unknown))):
            old[row.id] = tuple(row[1:])


def _after_flush(session: Session, _context) -> None:
    old = session.info.pop(_OLD, {})
    deltas: Counter[tuple[int, str]] = Counter()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Payout) or (obj not in session.new and obj.id not in old):
            continue
        if obj.id in old:
            store_id, status, gross = old[obj.id]
            if status in OPEN:
                deltas[(store_id, status)] -= gross
        if obj.status in OPEN:
            deltas[(obj.store_id, obj.status)] += obj.gross_amount
    rows = [{"store_id": s, "status": st, "n": n} for (s, st), n in deltas.items() if n]
    if rows:
        session.connection().execute(insert(PayoutTotalDelta.__table__), rows)


def open_payables(store_ids: list[int]) -> dict[tuple[int, str], int]:
    """(store, status) -> gross fen of the open payouts, from the totals and the deltas in one statement."""
    parts = [select(t.store_id, t.status, t.n).where(t.store_id.in_(store_ids)) for t in (PayoutTotal, PayoutTotalDelta)]
    rows = union_all(*parts).subquery()
    return {(s, st): int(n) for s, st, n in db.session.execute(
        select(rows.c.store_id, rows.c.status, func.sum(rows.c.n)).group_by(rows.c.store_id, rows.c.status)) if n}


def fold_sql(summary: str, deltas: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The fold of `deltas` into `summary` by `keys` (as verification.reports.counts.compact): on PostgreSQL
    one statement deletes the deltas it folds (rows locked, SKIP LOCKED: two schedulers never fold one
    twice, a writer's delta not yet committed stays for the next run) and upserts their sums in key
    order (no deadlock); on SQLite, which holds the write lock, the deltas up to :top. `fold` runs it."""
    cols = ", ".join(keys)
    return {"postgresql": f"""
WITH moved AS (
  DELETE FROM {deltas} WHERE id IN (
    SELECT id FROM {deltas} ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
  RETURNING {cols}, n)
INSERT INTO {summary} AS t ({cols}, n)
SELECT {cols}, sum(n) FROM moved GROUP BY {cols} ORDER BY {cols}
ON CONFLICT ({cols}) DO UPDATE SET n = t.n + excluded.n""", "sqlite": f"""
INSERT INTO {summary} ({cols}, n)
SELECT {cols}, sum(n) FROM {deltas} WHERE id <= :top GROUP BY {cols}
ON CONFLICT ({cols}) DO UPDATE SET n = {summary}.n + excluded.n"""}


_PAYOUTS = fold_sql("payout_totals", "payout_total_deltas", ("store_id", "status"))
_POSTED = fold_sql("ledger_totals", "ledger_total_deltas", ("purpose", "unit"))


def fold(sql: dict[str, str], deltas, limit: int) -> bool:
    if db.session.get_bind().dialect.name == "postgresql":
        return bool(db.session.execute(text(sql["postgresql"]), {"limit": limit}).rowcount)
    top = db.session.execute(select(deltas.id).order_by(deltas.id).offset(limit - 1).limit(1)).scalar() or \
        db.session.execute(select(func.max(deltas.id))).scalar()
    if top is None:
        return False
    db.session.execute(text(sql["sqlite"]), {"top": top})
    db.session.execute(delete(deltas).where(deltas.id <= top))
    return True


def compact(limit: int = 50_000) -> bool:
    """Fold up to `limit` open-payable deltas into the totals; True when some were folded."""
    return fold(_PAYOUTS, PayoutTotalDelta, limit)


def compact_posted(limit: int = 50_000) -> bool:
    """Fold up to `limit` of the ledger's posted-total deltas (loyalty.ledger.totals); True when some were."""
    return fold(_POSTED, PostedTotalDelta, limit)


def rebuild() -> int:
    """Recompute the totals from the payouts, set-based, replacing totals and deltas. The caller commits."""
    return replace_summary(PayoutTotal, PayoutTotalDelta, ["store_id", "status", "n"], select(
        Payout.store_id, Payout.status, func.sum(Payout.gross_amount))
        .where(Payout.status.in_(OPEN)).group_by(Payout.store_id, Payout.status))


def rebuild_posted() -> int:
    """The ledger's posted totals per (purpose, unit) recomputed from the accounts (one scan), replacing
    totals and deltas. The caller commits."""
    return replace_summary(PostedTotal, PostedTotalDelta, ["purpose", "unit", "n"], posted_totals.summed())


def replace_summary(summary, deltas, columns: list[str], source) -> int:
    """A summary table and its deltas replaced by what `source` selects (set-based; the rows counted
    zero dropped). On PostgreSQL in one REPEATABLE READ transaction that first locks the summary
    against its compaction job: the base rows and the deltas are read in one snapshot, so a writer's
    delta is either folded into the rebuilt counts (seen, deleted) or left for the job (not seen,
    kept). Runs in the session's transaction; the caller commits. Returns the rows written."""
    if db.session.get_bind().dialect.name == "postgresql":
        if not db.session().in_transaction():
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        db.session.execute(text(f"LOCK TABLE {summary.__tablename__} IN EXCLUSIVE MODE"))
    db.session.execute(delete(deltas))
    db.session.execute(delete(summary))
    db.session.execute(insert(summary.__table__).from_select(columns, source))
    db.session.execute(delete(summary).where(summary.n == 0))
    return db.session.execute(select(func.count()).select_from(summary)).scalar_one()
