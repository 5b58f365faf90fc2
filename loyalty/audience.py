"""Who may call a door (SEC-2): `@allow(...)` on every view, read by the request hook.

A leaf module (it imports no package of ours), so every package's doors can declare their
audience, the audit log's included, without an import cycle through `loyalty.auth`, whose
login service writes audit events. `loyalty.auth.access` re-exports these names.
"""
from __future__ import annotations

from typing import Callable

from flask import current_app

PUBLIC = "public"
ANY_STAFF = "any"
ROLES = ("consultant", "manager", "agent", "finance", "service", "admin")
# Flask's and flask-smorest's own endpoints.
_BUILTIN_PUBLIC = {"static", "api-docs.openapi_json"}


def allow(*audience: str) -> Callable:
    """Declare who may call a view: role names, ANY_STAFF or PUBLIC."""
    for who in audience:
        if who not in ROLES and who not in (PUBLIC, ANY_STAFF):
            raise ValueError(f"unknown role {who!r}")

    def mark(view: Callable) -> Callable:
        view.__access__ = frozenset(audience)
        return view
    return mark


def audience_of(endpoint: str) -> frozenset[str] | None:
    if endpoint in _BUILTIN_PUBLIC:
        return frozenset({PUBLIC})
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "__access__", None)
