"""Store scope (门店隔离, SEC-2) for queries, shared by every package (issue 13 item 7): the rows a
member of staff may see, and the locked, scoped get of one row.

    query = in_stores(select(Payout), actor, Payout.store_id, store_id=wanted)
    payout = get_scoped(Payout, payout_id, actor, what="payout", lock=True)
    referrer, referee = get_scoped_many(Customer, (referrer_id, referee_id), actor)

Who sees which stores is `loyalty.auth.access`; this applies it to a query.
"""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select

from loyalty.auth import access
from loyalty.errors import NotFound
from loyalty.extensions import db

M = TypeVar("M")


def in_stores(query: Select, actor, column: Any, *, store_id: int | None = None) -> Select:
    """Only the rows of the stores `actor` may see (all for group-level staff and admins);
    narrowed to `store_id` when one is asked for."""
    ids = access.visible_store_ids(actor)
    if ids is not None:
        query = query.where(column.in_(ids))
    if store_id is not None:
        query = query.where(column == store_id)
    return query


def get_scoped(model: type[M], ident: int, actor, *, what: str, lock: bool = False, options=()) -> M:
    """The `model` row `ident` if it exists and `actor` may see its store (`store_id`), else
    NotFound(`{what}_not_found`), the same for both so ids of other stores cannot be probed.
    With `lock`, the row is locked for a state change (FOR UPDATE OF its table on PostgreSQL;
    SQLite holds the write lock already) and read fresh, not from the session's copy. `options`:
    loader options of the read (e.g. not loading a relationship the caller does not use)."""
    if lock:
        # populate_existing: a copy the session already holds is overwritten by what the locked read
        # returned (one statement and its eager loads, where a refresh after it read them all again)
        row = db.session.execute(select(model).options(*options).where(model.id == ident).with_for_update(of=model)
                                 .execution_options(populate_existing=True)).unique().scalar_one_or_none()
    else:
        row = db.session.get(model, ident, options=options)
    if row is None:
        raise NotFound(code=f"{what}_not_found")
    access.ensure_store(actor, row.store_id, what=what)
    return row


def get_scoped_many(model: type[M], idents, actor, *, options=()) -> list[M | None]:
    """The `model` rows `idents` in one statement, in their order: None where a row does not exist
    or lies in a store `actor` may not see (the caller words each as get_scoped's NotFound would)."""
    found = {row.id: row for row in db.session.scalars(
        in_stores(select(model).options(*options).where(model.id.in_(set(idents))), actor, model.store_id)).unique()}
    return [found.get(ident) for ident in idents]
