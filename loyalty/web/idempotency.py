"""The `Idempotency-Key` header (幂等键) for every endpoint that moves money (LED-3).

Semantics (the claim itself is `loyalty.ledger.idempotency.claim_key`):
- the header is required (422 `idempotency_key_required` without it);
- the first request with a key claims it, in the *same transaction* as the money it
  moves, and its response (status and body) is stored beside the claim just before
  the request commits;
- a retry with the same key and the same request (method, path, caller, JSON body)
  gets the first response again, with `Idempotent-Replayed: true`, and moves nothing;
- the same key with a different request is 409 `idempotency_key_reused`;
- a request that fails (4xx/5xx) rolls back, claim included, so it may be retried.

Use it on a smorest endpoint by placing `@idempotent` below `@allow(...)` and
`@blp.arguments(...)` (above or below `@blp.response(...)`, both work), and derive
the service's own transfer keys from `current_key()`::

    @blp.route("/payouts/<int:payout_id>/approve", methods=["POST"])
    @allow("finance")
    @blp.arguments(ApproveSchema)
    @idempotent
    @blp.response(200, PayoutSchema)
    def approve(body, payout_id):
        return service.approve(current_actor(), payout_id, key=current_key(), **body)

A handler that cannot use the decorator calls `replay = claim()` first and returns
`replay` when it is not None.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from functools import wraps
from typing import Callable

from flask import after_this_request, current_app, g, request

from loyalty.canonical import canonical_json
from loyalty.errors import ValidationFailed
from loyalty.ledger.idempotency import FirstResponse, claim_key, store_response

HEADER = "Idempotency-Key"


def current_key() -> str:
    """The claimed key of this request (after `claim()` or inside an `@idempotent` view)."""
    return g.idempotency_key


def fingerprint() -> str:
    body = request.get_json(silent=True)
    actor = getattr(g.get("actor"), "id", None)
    canonical = canonical_json({"method": request.method, "path": request.path, "actor": actor, "body": body})
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim():
    """Claim this request's key; None to go on, or the stored first response to return."""
    key = (request.headers.get(HEADER) or "").strip()
    if not key or len(key) > 160:
        raise ValidationFailed("Send an Idempotency-Key header (1 to 160 characters) with this request.",
                               code="idempotency_key_required", fields={HEADER: ["Required, 1 to 160 characters."]})
    claimed = claim_key(key, fingerprint(), field=HEADER)
    g.idempotency_key = key
    if isinstance(claimed, FirstResponse):
        return _replayed(claimed)

    @after_this_request
    def _store_first_response(response):
        # Runs before the unit of work commits: the response is stored with the money move.
        if response.status_code < 400 and not g.get("rollback"):
            store_response(claimed, response.status_code, response.get_json(silent=True) if response.is_json else None)
        return response
    return None


def _replayed(first: FirstResponse):
    response = current_app.response_class(
        json.dumps(first.body, ensure_ascii=False), status=first.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Decorator: claim the Idempotency-Key before the view runs; replay the first response."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        replay = claim()
        if replay is not None:
            return replay
        return view(*args, **kwargs)
    wrapper._idempotent = True
    return wrapper


def idempotent_if_keyed(view: Callable) -> Callable:
    """Like `idempotent` when the caller sends a key; without one the request runs as usual
    and `current_key()` is a fresh random key (for endpoints where SPEC makes the key optional)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.headers.get(HEADER):
            replay = claim()
            if replay is not None:
                return replay
        else:
            g.idempotency_key = f"auto-{uuid.uuid4().hex}"
        return view(*args, **kwargs)
    wrapper._idempotent = "optional"  # documented as an optional header (loyalty/web/openapi.py)
    return wrapper
