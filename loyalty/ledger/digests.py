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

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Callable, Iterator

from sqlalchemy import func, select

from loyalty.extensions import db
from loyalty.ledger.models import Transfer
from loyalty.ledger.spec import Spec

T = Transfer.__table__


@dataclass
class Settings:
    """Set once by the app factory (`configure`): the bank reads no Flask config."""
    mac: Any = None  # Hmac under the transfer digest key
    # Transfers up to this id were written before digests existed (migration 0008a recorded
    # the boundary as an audit event): the composition root says how to read it, so the bank
    # imports nothing of audit. Without it every transfer must carry a digest.
    unsigned_up_to: Callable[[], int] = lambda: 0


settings = Settings()


def configure(*, digest_key: bytes, unsigned_up_to: Callable[[], int] | None = None) -> None:
    """The key of the transfer digests (SEC-1); the database never holds it."""
    if len(digest_key) < 16:
        raise ValueError("the ledger's digest key is too short")
    settings.mac = Hmac(digest_key)
    if unsigned_up_to is not None:
        settings.unsigned_up_to = unsigned_up_to


REPORTED = 1000  # violations of one kind named one by one; the rest are counted
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


class Hmac:
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
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.digests.configure)")
    return settings.mac.hexdigest(_message(key, kind, debit, credit, amount, unit, pending_key, reason, subject,
                                           batch, actor_id, (at - _EPOCH) // _MICROSECOND).encode())


def _message(key, kind, debit, credit, amount, unit, pending_key, reason, subject, batch, actor_id, at_us) -> str:
    """What the digest covers; _PG_DIGEST_ROWS builds the same text in SQL."""
    return (f"ledger-transfer/1|{len(key)}:{key}|{len(kind)}:{kind}|{debit}|{credit}|{amount}|{len(unit)}:{unit}|"
            f"{'-' if pending_key is None else f'{len(pending_key)}:{pending_key}'}|{len(reason)}:{reason}|"
            f"{'-' if subject is None else f'{len(subject)}:{subject}'}|"
            f"{'-' if batch is None else f'{len(batch)}:{batch}'}|{'-' if actor_id is None else actor_id}|{at_us}")


def digest_of(s: Spec, batch: str | None, actor_id: int | None, at: datetime) -> str:
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


PROGRESS_EVERY = 10_000


def transfers_to_check() -> int:
    """About how many transfers the digest pass reads (the highest id: no count over the table), for a progress bar."""
    return db.session.execute(select(func.coalesce(func.max(T.c.id), 0))).scalar_one()


def digest_violations(progress: Callable[[int], None] | None = None) -> list[str]:
    """`progress(n)` is told every PROGRESS_EVERY transfers read."""
    unsigned_up_to = settings.unsigned_up_to()
    changed: list[int] = []
    missing: list[int] = []
    mac = settings.mac
    if mac is None:
        raise RuntimeError("the ledger's digest key is not configured (loyalty.ledger.digests.configure)")
    hexdigest = mac.hexdigest
    for n, (tid, message, digest) in enumerate(_digest_rows(), start=1):
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
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

