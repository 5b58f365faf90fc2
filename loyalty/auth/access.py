"""Who may reach what (SEC-2), enforced in one place.

Every view function declares its audience with `@allow(...)` (defined in
loyalty/audience.py, re-exported here). A single before-request hook,
`authorize_request`, authenticates the caller (bearer token under /api, the
session cookie elsewhere) and refuses any endpoint whose audience does not
include the caller's role. An endpoint that declares nothing is refused to
everyone, so a forgotten declaration fails closed (and a test lists them).

Store scoping lives here too: `ensure_store(actor, store_id)` and
`visible_store_ids(actor)` are what services call.
"""
from __future__ import annotations

import hashlib

from flask import g, redirect, request, session, url_for

from loyalty.audience import ANY_STAFF, PUBLIC, ROLES, allow, audience_of  # noqa: F401  (doors import them here)
from loyalty.errors import Forbidden, NotFound, Unauthorized


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def session_fingerprint(staff) -> str:
    """Ties a web session to the password it was opened with: a reset logs everyone out."""
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def _authenticate():
    from loyalty.auth import service as auth_service
    if is_api_request():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return auth_service.staff_for_token(token.strip())
        return None
    # The cookie names a session the server keeps (ended at logout) and the password it was
    # opened with (a reset ends it too).
    staff = auth_service.staff_for_session(session.get("sid"))
    if staff is not None and (staff.id != session.get("staff_id")
                              or session.get("auth_fp") != session_fingerprint(staff)):
        session.clear()
        return None
    return staff


def authorize_request():
    """before_request hook: authenticate, then check the endpoint's audience."""
    g.actor = None
    if request.endpoint is None:  # no route: let Flask answer 404/405, on a page with the menu when logged in
        if not is_api_request():
            g.actor = _authenticate()
        return None
    audience = audience_of(request.endpoint)
    g.actor = _authenticate()
    if audience and PUBLIC in audience:
        return None
    if g.actor is None:
        if is_api_request():
            raise Unauthorized()
        return redirect(url_for("web.login", next=request.full_path))
    if not audience:
        raise Forbidden("This endpoint declares no audience.", code="forbidden")
    if ANY_STAFF in audience or g.actor.role in audience:
        return None
    raise Forbidden(code="role_forbidden")


def current_actor():
    return g.get("actor")


# ---- store scoping (门店隔离) -------------------------------------------------

def sees_all_stores(actor) -> bool:
    return actor is None or actor.role == "admin" or actor.store_id is None


def ensure_store(actor, store_id: int | None, *, what: str = "store") -> None:
    """Refuse anything outside a store-bound actor's store; 404 so ids are not probed."""
    if sees_all_stores(actor):
        return
    if store_id != actor.store_id:
        raise NotFound(code=f"{what}_not_found")


def visible_store_ids(actor) -> list[int] | None:
    """None means every store."""
    return None if sees_all_stores(actor) else [actor.store_id]


def can_see_full_phone(actor) -> bool:
    return actor is not None and actor.role == "admin"
