"""The one shape every stateful entity changes by: check the transition, apply, flush, audit."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from loyalty.audit import service as audit
from loyalty.errors import Conflict
from loyalty.extensions import db


def change(actor, obj: Any, *, entity: str, action: str, audit_fields: Iterable[str],
           transitions: dict[str, tuple[str, ...]], error: type[Conflict], changes: dict[str, Any],
           extra_after: Callable[[Any], dict[str, Any]] | None = None) -> Any:
    """Apply `changes` to `obj` (a new row when it has no id), refusing a status move the
    transition table does not allow, and record the audit event with before/after
    (`extra_after(obj)` adds derived facts to the after-image, read once the row is flushed)."""
    fields = tuple(audit_fields)
    before = audit.snapshot(obj, fields) if obj.id else None
    new_status = changes.get("status")
    if before is not None and new_status and new_status != obj.status:
        if new_status not in transitions[obj.status]:
            raise error(fields={"status": [f"{obj.status} -> {new_status}"]})
    for key, value in changes.items():
        setattr(obj, key, value)
    if obj.id is None:
        db.session.add(obj)
    db.session.flush()
    after = {**audit.snapshot(obj, fields), **(extra_after(obj) if extra_after else {})}
    audit.record(actor, entity, obj.id, action, before, after)
    return obj
