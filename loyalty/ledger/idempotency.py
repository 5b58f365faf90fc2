"""Idempotency keys (幂等键) for every operation that moves money (LED-3): the claim itself.

The first request with a key claims it, in the *same transaction* as the money it
moves, with `INSERT ... ON CONFLICT DO NOTHING`, and its response (status and body)
is stored beside the claim just before that transaction commits (`store_response`).
A retry with the same key and the same request (the caller's `fingerprint`) gets the
first response back and moves nothing; the same key with a different request is a
Conflict(idempotency_key_reused). A request that fails rolls back, claim included, so
it may be retried.

Concurrent requests with one key: PostgreSQL makes the second INSERT wait for the
first transaction, then see its committed claim and replay it; SQLite serialises
writers with BEGIN IMMEDIATE. A SELECT-then-INSERT check would race.

The HTTP side (the `Idempotency-Key` header, the `@idempotent` decorator, the replayed
response) is `loyalty.web.idempotency`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from loyalty import clock
from loyalty.errors import Conflict
from loyalty.extensions import db
from loyalty.ledger.models import IdempotencyKey

K = IdempotencyKey.__table__


@dataclass(frozen=True)
class FirstResponse:
    """What the first request with a key answered: the retry answers the same."""
    status_code: int
    body: Any


def claim_key(key: str, fingerprint: str, *, field: str = "key") -> int | FirstResponse:
    """Claim `key` for a request whose parameters hash to `fingerprint`: the claim's id when
    this request is the first, else the first request's response to replay. Conflict when the
    key was used for a different request (naming `field`, where the caller took the key from),
    or when the first request with it has not finished."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    claimed = db.session.execute(
        insert(K).values(key=key, fingerprint=fingerprint, created_at=clock.now())
        .on_conflict_do_nothing().returning(K.c.id)).scalar_one_or_none()
    if claimed is not None:
        return claimed
    row = db.session.execute(select(K).where(K.c.key == key)).mappings().one()
    if row["fingerprint"] != fingerprint:
        raise Conflict("This Idempotency-Key was used for a different request.", code="idempotency_key_reused",
                       fields={field: ["Already used with another request body."]})
    if row["status_code"] is None:
        raise Conflict("A request with this Idempotency-Key is still being processed.",
                       code="idempotency_key_in_use")
    return FirstResponse(row["status_code"], row["response"])


def store_response(claim_id: int, status_code: int, body: Any) -> None:
    """Keep the first response beside its claim, in the transaction that moved the money."""
    db.session.execute(update(K).where(K.c.id == claim_id).values(status_code=status_code, response=body))
