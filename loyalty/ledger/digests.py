"""Transfer digests (SEC-1): each transfer carries an HMAC over every field it was written with.

The transfer rows are the ledger's own append-only journal: each is written once, never
updated, and carries its actor, time, reason and subject. The hash-chained audit event is
written by the business operation that moved the money (the referral's verdict, the payout's
approval, the visit, the redemption, the expiry, the admin adjustment), naming what it moved.
One chained event per transfer would serialise every writer on the chain's head row. Instead
each transfer carries its own digest: an HMAC under a key the database does not hold
(`configure`, from AUDIT_HMAC_KEY) over every field it was written with, computed before the
insert on every path (ledger_apply takes it as an argument), and checked by check(): an amount
changed together with both accounts' cached totals, or a changed reason, no longer balances
against its digest.
"""
from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.ledger.digest_walk import (  # noqa: F401 - the pass is read through this module too
    _EPOCH,
    _MICROSECOND,
    REPORTED,
    DigestWalk,
    Found,
    _message,
    walk_span,
)
from loyalty.ledger.models import Transfer
from loyalty.ledger.spec import Spec
from loyalty.scanning import Hmac, ProgressRecord, driver_target, here, in_order, spans, start_worker, walk_remote

T = Transfer.__table__


@dataclass
class Settings:
    """Set once by the app factory (`configure`): the bank reads no Flask config."""
    mac: Any = None  # Hmac under the transfer digest key
    key: bytes | None = None
    # Transfers up to this id were written before digests existed (migration 0008a recorded
    # the boundary as an audit event): the composition root says how to read it, so the bank
    # imports nothing of audit. Without it every transfer must carry a digest.
    unsigned_up_to: Callable[[], int] = lambda: 0


settings = Settings()


def configure(*, digest_key: bytes, unsigned_up_to: Callable[[], int] | None = None) -> None:
    """The key of the transfer digests (SEC-1); the database never holds it."""
    if len(digest_key) < 16:
        raise ValueError("the ledger's digest key is too short")
    settings.mac, settings.key = Hmac(digest_key), digest_key
    if unsigned_up_to is not None:
        settings.unsigned_up_to = unsigned_up_to




def transfer_digest(key: str, kind: str, debit: int, credit: int, amount: int, unit: str, pending_key: str | None,
                    reason: str, subject: str | None, batch: str | None, actor_id: int | None, at: datetime) -> str:
    """HMAC-SHA256 over every field a transfer is written with. The row id is not among them
    (the database assigns it in the insert itself): the unique key names the row, and a post
    or void names its pending by the pending's key, so re-pointing one shows too. Each text
    field is length-prefixed, so no two different transfers make the same message."""
    if settings.mac is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.digests.configure)")
    return settings.mac.hexdigest(_message(key, kind, debit, credit, amount, unit, pending_key, reason, subject,
                                           batch, actor_id, (at - _EPOCH) // _MICROSECOND).encode())


def digest_of(s: Spec, batch: str | None, actor_id: int | None, at: datetime) -> str:
    return transfer_digest(s.key, s.kind, s.debit, s.credit, s.amount, s.unit, s.pending_key, s.reason, s.subject,
                           batch, actor_id, at)


def transfers_to_check(after: int = 0) -> int:
    """About how many transfers the digest pass reads (ids after `after` up to the highest: no count
    over the table), for a progress bar."""
    return max(0, db.session.execute(select(func.coalesce(func.max(T.c.id), 0))).scalar_one() - after)


def progress_record(path: str | Path) -> ProgressRecord:
    """Where a check keeps how far its digest pass got (`flask ledger check` passes the instance folder's file)."""
    if settings.key is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.digests.configure)")
    return ProgressRecord(path, "ledger-check", db.engine.url.render_as_string(hide_password=True), settings.key)


def resume_point(record: ProgressRecord | None) -> tuple[int, Found, float | None]:
    """(the last transfer id an interrupted check's digest pass vouched for, what it found up to there,
    when it saved that), or (0, nothing, None) to start from the first transfer."""
    state = record.load() if record is not None else None
    if state is None:
        return 0, Found(), None
    return state["id"], Found(**state["found"]), state["written"]


@dataclass
class DigestPass:
    walked: in_order
    found: Found
    record: ProgressRecord | None


def start_digest_pass(jobs: int = 1, record: ProgressRecord | None = None, resume: bool = False) -> DigestPass:
    """The digest pass, begun: every transfer whose digest does not hold, walked in spans of ids by
    `jobs` processes (1: this one, on the session's connection, as finish_digest_pass() reads
    them; more: at work when this returns). With `record`, how far the pass got is kept after
    each span (in id order) and, with `resume`, the pass starts after where an interrupted one
    got, keeping what it found."""
    if settings.mac is None or settings.key is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.digests.configure)")
    after, found, _ = resume_point(record) if resume else (0, Found(), None)
    conn = db.session.connection()
    walk = DigestWalk(conn.dialect.name, settings.key, settings.unsigned_up_to())
    driver = here(conn.connection.driver_connection, conn.dialect.name)
    high = db.session.execute(select(func.coalesce(func.max(T.c.id), 0))).scalar_one()
    walked = in_order(lambda span: walk_span(driver, walk, span), spans(after + 1, high, jobs), jobs,
                      initializer=start_worker, initargs=(walk_span, walk, driver_target(conn.engine.url)[1]),
                      remote=walk_remote)
    return DigestPass(walked, found, record)


def finish_digest_pass(begun: DigestPass, progress: Callable[[int], None] | None = None) -> list[str]:
    """The pass's findings in words; `progress(n)` is told as spans of n transfers are done."""
    found, record = begun.found, begun.record
    with closing(begun.walked):
        for span, result in begun.walked:
            found.add(result)
            if record is not None:
                record.save(id=span.high, found=asdict(found))
            if progress is not None:
                progress(result.count)
    violations = [f"transfer {tid} does not match its digest: its amount, accounts, reason or another field "
                  f"was changed after it was written" for tid in found.changed]
    violations += [f"transfer {tid} carries no digest: written behind the ledger's back, or its digest was removed"
                   for tid in found.missing]
    for count, what in ((found.changed_count, "do not match their digests"), (found.missing_count, "carry no digest")):
        if count > REPORTED:
            violations.append(f"and {count - REPORTED} more transfers {what}")
    return violations
