"""Walking one span of the audit chain (SEC-1, issue 16): the per-event checks of `flask audit verify`,
on a driver connection (psycopg's binary server-side cursor, or sqlite3), row tuples only.

A span [low, high] of seqs reads the hash of the event just before it (seq low - 1), so the link
across the boundary with the span before is checked too. Spans are walked in this process or in
worker processes (loyalty.scanning); loyalty/audit/verifying.py puts their results together in
seq order, so the findings are the ones a single walk from genesis would make.

Per event the fast path builds the sealed bytes straight from the row (`formats._sealed`'s keys in
their sorted order) and computes the seal and the link with the two keys' pads hashed once. The
JSON columns are read as the text they hold: the engine writes them in the canonical form the seal
covers (`loyalty.canonical.canonical_json`), so on PostgreSQL that text goes into the sealed bytes as it
is, neither parsed nor encoded again. Text written otherwise (events from before that, rows written
behind the service, SQLite) is parsed and encoded canonically, as every event was before. It only ever says "this event holds": an event it does not accept (a
seal or hash that does not match, an event from before the seals) is judged again by `problem`,
the general code, which words the finding.
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from loyalty.audit.formats import GENESIS, _digest, _event_mac, settings
from loyalty.canonical import canonical_json as canonical
from loyalty.canonical import json_string as string
from loyalty.scanning import Hmac, Span

FETCH = 5_000  # rows per round trip of the server-side cursor


def problem(event: Any, keyed: bool) -> str | None:
    """Why a chained event does not hold (None: it does): its seal, then its hash."""
    if event.mac is not None:
        if not keyed:
            return "a sealed event inside the part of the chain from before the key (rewritten)"
        if not hmac.compare_digest(_event_mac(event), event.mac):
            return "content does not match its seal (edited, or copied under another id)"
        if not hmac.compare_digest(_digest(event), event.hash or ""):
            return "its hash does not match its place and seal (rehashed without the key)"
        return None
    if not hmac.compare_digest(_digest(event, keyed), event.hash or ""):
        return ("content does not match its hash (edited, or rehashed without the key)" if keyed
                else "content does not match its hash (edited)")
    return None


@dataclass(frozen=True)
class Walk:
    """What every span of one verify needs (sent once to each worker process)."""
    dialect: str
    event_key: bytes
    chain_key: bytes
    keyed_from: int | None
    marks: dict[int, list[tuple[str, str]]]  # seq -> [(hash, at)] of the checkpoints compared
    start_seq: int  # the first seq walked, whose previous hash is `start_hash`
    start_hash: str
    base_mark: int  # the checkpoint matched before the walk (its seq; 0: genesis)


@dataclass
class SpanResult:
    count: int = 0  # events walked, the broken one included
    unkeyed: int = 0
    last_seq: int = 0  # the last event that held, and its hash
    last_hash: str | None = None
    broken: tuple[int | None, int | None, str] | None = None  # (seq, id, problem); id None: look it up by seq
    gap: bool = False  # the span ended before its last seq: the event after the last that held is missing
    notes: list[str] = field(default_factory=list)


_COLUMNS = "id, seq, {at}, actor_id, actor, entity, entity_id, action, {before}, {after}, prev_hash, hash, mac"
_PG_AT = "(at AT TIME ZONE 'UTC')::text"
_SPAN_SQL = {
    # the time as naive UTC text in ISO form (loyalty.scanning.SPAN_SETTINGS sets DateStyle), which
    # _iso pads: a third of the cost of a datetime decoded and formatted again, and to_char on the
    # server costs more than the whole row; a json column's text is the text it was given
    "postgresql": f"SELECT {_COLUMNS.format(at=_PG_AT, before='before::text', after='after::text')} "
                  "FROM audit_events WHERE seq BETWEEN %s AND %s ORDER BY seq",
    "sqlite": f"SELECT {_COLUMNS.format(at='at', before='before', after='after')} FROM audit_events "
              "WHERE seq BETWEEN ? AND ? ORDER BY seq",
}


def _batches(conn: Any, dialect: str, span: Span):
    if dialect == "postgresql":
        with conn.cursor(name=f"audit_span_{span.index}", binary=True) as cursor:
            cursor.execute(_SPAN_SQL[dialect], (span.low, span.high))
            while rows := cursor.fetchmany(FETCH):
                yield rows
        return
    cursor = conn.cursor()
    try:
        cursor.execute(_SPAN_SQL[dialect], (span.low, span.high))
        while rows := cursor.fetchmany(FETCH):
            yield rows
    finally:
        cursor.close()


def _json(text: str | None) -> Any:
    """A JSON column's value from its text; ValueError when the text is not JSON (SQLite keeps any)."""
    return None if text is None else json.loads(text)


def _stored_seal(seal: Any, fields: tuple, before: str | None, after: str | None) -> str | None:
    """The seal over the JSON columns' text as stored (None: it cannot be canonical: json.dumps' default
    form puts a space after every key's colon, canonical text has none outside its strings, and a
    string holding '": ' just takes the parsed way). SQL NULL is sealed as null."""
    if (before is not None and '": ' in before) or (after is not None and '": ' in after):
        return None
    return seal(_sealed_text(*fields, "null" if before is None else before, "null" if after is None else after))


def _parsed_seal(seal: Any, fields: tuple, before: str | None, after: str | None) -> str | None:
    """The seal over the canonical text of the JSON columns' parsed values (None: one is not JSON)."""
    try:
        return seal(_sealed_text(*fields, canonical(_json(before)), canonical(_json(after))))
    except ValueError:
        return None


def _iso(at: Any) -> str:
    """An event's time as its seal and hash cover it (`formats._iso`), from naive UTC: SQLite's stored
    text (always six digits of microseconds), PostgreSQL's ISO text (trailing zeros of the fraction
    left off, none when it is whole) or a datetime."""
    if isinstance(at, str):
        if len(at) == 26 and at[10] == " ":
            return f"{at[:10]}T{at[11:]}+00:00"
        if len(at) == 19 and at[10] == " ":
            return f"{at[:10]}T{at[11:]}.000000+00:00"
        if 21 <= len(at) < 26 and at[10] == " " and at[19] == ".":
            return f"{at[:10]}T{at[11:]:0<15}+00:00"
        from datetime import UTC, datetime
        read = datetime.fromisoformat(at)  # as the app reads it (loyalty.types.UTCDateTime): naive is UTC
        read = read.replace(tzinfo=UTC) if read.tzinfo is None else read.astimezone(UTC)
        return read.isoformat(timespec="microseconds")
    return at.isoformat(timespec="microseconds") + "+00:00"


def hash_before(conn: Any, dialect: str, seq: int) -> str | None:
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT hash FROM audit_events WHERE seq = " + ("%s" if dialect == "postgresql" else "?"),
                       (seq,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row else None


def _sealed_text(event_id, at, actor_id, actor, entity, entity_id, action, before: str, after: str) -> bytes:
    """What an event's seal covers (`formats._sealed`, its keys in their sorted order), from its row,
    with the JSON columns' canonical text."""
    return (f'{{"action":{string(action)},"actor":{string(actor)},"actor_id":'
            f'{"null" if actor_id is None else actor_id},"after":{after},"at":"{at}",'
            f'"before":{before},"entity":{string(entity)},"entity_id":{string(entity_id)},'
            f'"id":{event_id},"v":2}}').encode()


def walk_span(conn: Any, walk: Walk, span: Span) -> SpanResult:
    """Check every event of the span in seq order, up to the first that does not hold."""
    out = SpanResult(last_seq=span.low - 1)
    prev = walk.start_hash if span.low == walk.start_seq else (
        GENESIS if span.low == 1 else hash_before(conn, walk.dialect, span.low - 1))
    out.last_hash = prev
    marks, keyed_from = walk.marks, walk.keyed_from
    good = max((seq for seq in marks if seq < span.low), default=walk.base_mark)
    first_after = None  # the id of event seq good + 1, once walked
    link, seal = Hmac(walk.chain_key).hexdigest, Hmac(walk.event_key).hexdigest
    # Only PostgreSQL's JSON text is sealed as stored: its json type holds valid JSON only, and a valid
    # JSON value ends where it ends, so sealed bytes equal to the ones sealed mean each column's text is
    # the canonical text sealed. SQLite keeps any text, which could be cut to fit: it is parsed.
    as_stored = walk.dialect == "postgresql"
    expected, count, unkeyed = span.low, 0, 0
    for rows in _batches(conn, walk.dialect, span):
        for row in rows:
            event_id, seq, at, actor_id, actor, entity, entity_id, action, before, after, prev_hash, digest, mac = row
            count += 1
            if seq != expected:
                out.count, out.unkeyed = count, unkeyed
                out.broken = (expected, event_id, f"event seq {expected} is missing (next found: {seq})")
                return out
            if seq == good + 1:
                first_after = event_id
            if prev_hash != prev:
                out.count, out.unkeyed = count, unkeyed
                out.broken = (seq, event_id, "previous-hash link broken (an event was removed or reordered)")
                return out
            keyed = keyed_from is not None and seq >= keyed_from
            at = _iso(at)
            if not (mac is not None and keyed
                    and link(f'["audit-link",{seq},"{prev_hash}","{mac}"]'.encode()) == digest
                    and ((as_stored and _stored_seal(seal, (event_id, at, actor_id, actor, entity, entity_id,
                                                            action), before, after) == mac)
                         or _parsed_seal(seal, (event_id, at, actor_id, actor, entity, entity_id, action),
                                         before, after) == mac)):
                try:
                    found = problem(SimpleNamespace(id=event_id, seq=seq, at=at, actor_id=actor_id, actor=actor,
                                                    entity=entity, entity_id=entity_id, action=action,
                                                    before=_json(before), after=_json(after), prev_hash=prev_hash,
                                                    hash=digest, mac=mac), keyed)
                except ValueError:
                    found = "its before or after is not JSON (written behind the service's back)"
                if found is not None:
                    out.count, out.unkeyed = count, unkeyed
                    out.broken = (seq, event_id, found)
                    return out
            unkeyed += not keyed
            for mark_hash, mark_at in marks.get(seq, ()):
                if mark_hash != digest:
                    out.count, out.unkeyed = count, unkeyed
                    out.broken = (good + 1, first_after, f"event seq {seq} does not match the checkpoint of "
                                                         f"{mark_at}: events {good + 1}..{seq} were rewritten since")
                    return out
            if seq in marks:
                good, first_after = seq, None
            prev, expected = digest, expected + 1
    out.count, out.unkeyed, out.last_seq, out.last_hash = count, unkeyed, expected - 1, prev
    out.gap = expected <= span.high
    return out


def use_keys(walk: Walk) -> None:
    """A worker process's keys for `problem` (`loyalty.scanning.start_worker`'s `prepare`)."""
    settings.event_key, settings.chain_key = walk.event_key, walk.chain_key
