"""The digest pass of `flask ledger check` over one span of transfer ids (SEC-1, LED-4, issue 16),
on a driver connection, in this process or a worker process (loyalty.scanning). Imports neither
Flask nor SQLAlchemy, so a spawned worker starts in a fraction of a second."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Iterator

from loyalty.scanning import Hmac, Span

REPORTED = 1000  # violations of one kind named one by one; the rest are counted
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


def _message(key, kind, debit, credit, amount, unit, pending_key, reason, subject, batch, actor_id, at_us) -> str:
    """What the digest covers; pg_digest_rows() builds the same text in SQL."""
    return (f"ledger-transfer/1|{len(key)}:{key}|{len(kind)}:{kind}|{debit}|{credit}|{amount}|{len(unit)}:{unit}|"
            f"{'-' if pending_key is None else f'{len(pending_key)}:{pending_key}'}|{len(reason)}:{reason}|"
            f"{'-' if subject is None else f'{len(subject)}:{subject}'}|"
            f"{'-' if batch is None else f'{len(batch)}:{batch}'}|{'-' if actor_id is None else actor_id}|{at_us}")


# PostgreSQL builds each transfer's message itself (the same text as _message(): length() counts
# characters as Python's len() does in a UTF8 database; the time in whole microseconds, exact:
# PostgreSQL 14 and later extract the epoch as an exact numeric, earlier ones as a double, whose
# whole seconds and microseconds are taken apart) and streams (id, message as UTF-8 bytes, digest)
# through a binary server-side cursor: Python only computes the HMAC, with no decoding or encoding
# of the message on the way.
# The pending's key by a lookup per row that has one, not a join: a span must not hash the table.
_PG_AT_US = {14: "(extract(epoch FROM t.at) * 1000000)::bigint",
             0: "(extract(epoch FROM date_trunc('second', t.at))::bigint * 1000000 "
                "+ extract(microseconds FROM t.at)::bigint %% 1000000)"}
_PG_DIGEST_ROWS_SQL = """
SELECT t.id, convert_to(
       'ledger-transfer/1|' || length(t.key) || ':' || t.key || '|' || length(t.kind) || ':' || t.kind
       || '|' || t.debit_account_id || '|' || t.credit_account_id || '|' || t.amount
       || '|' || length(t.unit) || ':' || t.unit
       || '|' || CASE WHEN t.pending_id IS NULL THEN '-' ELSE coalesce(
                   (SELECT length(p.key) || ':' || p.key FROM ledger_transfers p WHERE p.id = t.pending_id), '-') END
       || '|' || length(t.reason) || ':' || t.reason
       || '|' || coalesce(length(t.subject) || ':' || t.subject, '-')
       || '|' || coalesce(length(t.batch) || ':' || t.batch, '-')
       || '|' || coalesce(t.actor_id::text, '-')
       || '|' || {at_us}, 'UTF8'),
       t.digest
  FROM ledger_transfers t
 WHERE t.id BETWEEN %s AND %s"""


def pg_digest_rows(server_version: int) -> str:
    """The digest pass's SELECT for a PostgreSQL server (`server_version` as libpq gives it: 150004)."""
    return _PG_DIGEST_ROWS_SQL.format(at_us=_PG_AT_US[14 if server_version >= 140000 else 0])


_SQLITE_DIGEST_ROWS = """
SELECT t.id, t.key, t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.unit, p.key, t.reason, t.subject,
       t.batch, t.actor_id, t.at, t.digest
  FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
 WHERE t.id BETWEEN ? AND ?"""
_NAIVE_EPOCH = datetime(1970, 1, 1)


def _digest_rows(conn: Any, dialect: str, span: Span) -> Iterator[list[tuple[int, bytes, str | None]]]:
    """(id, the message its digest covers, the digest it carries) of the span's transfers, a list at a time."""
    if dialect == "postgresql":
        with conn.cursor(name=f"ledger_digests_{span.index}", binary=True) as cursor:
            cursor.execute(pg_digest_rows(conn.info.server_version), (span.low, span.high))
            while rows := cursor.fetchmany(10_000):
                yield rows
        return
    cursor = conn.cursor()
    try:
        cursor.execute(_SQLITE_DIGEST_ROWS, (span.low, span.high))
        while rows := cursor.fetchmany(10_000):  # SQLite keeps naive UTC as text
            yield [(tid, _message(*fields, (datetime.fromisoformat(at) - _NAIVE_EPOCH) // _MICROSECOND).encode(),
                    digest) for tid, *fields, at, digest in rows]
    finally:
        cursor.close()


@dataclass(frozen=True)
class DigestWalk:
    """What every span of one digest pass needs (sent once to each worker process)."""
    dialect: str
    key: bytes
    unsigned_up_to: int


@dataclass
class Found:
    """Transfers whose digests do not hold: the first REPORTED ids of each kind, and how many."""
    changed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    changed_count: int = 0
    missing_count: int = 0
    count: int = 0  # transfers read

    def add(self, other: Found) -> None:
        self.changed = (self.changed + other.changed)[:REPORTED]
        self.missing = (self.missing + other.missing)[:REPORTED]
        self.changed_count += other.changed_count
        self.missing_count += other.missing_count
        self.count += other.count


def walk_span(conn: Any, walk: DigestWalk, span: Span) -> Found:
    hexdigest, unsigned_up_to = Hmac(walk.key).hexdigest, walk.unsigned_up_to
    changed, missing, count = [], [], 0
    for rows in _digest_rows(conn, walk.dialect, span):
        count += len(rows)
        for tid, message, digest in rows:
            if digest is None:
                if tid > unsigned_up_to:
                    missing.append(tid)
            elif digest != hexdigest(message):
                changed.append(tid)
    changed.sort(), missing.sort()
    return Found(changed[:REPORTED], missing[:REPORTED], len(changed), len(missing), count)
