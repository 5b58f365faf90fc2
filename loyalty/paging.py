"""Paging for every list the API and the pages show (issue 13 item 7, issue 15 item 3, issue 16).

Two ways, the same rows in the same order:

    page = keyset(query, (Referral.registered_at, Referral.id), cursor=args.get("cursor"),
                  per_page=50, newest_first=True)
    page.items, page.next, page.prev, page.count, page.count_exact

- `keyset` (lists that grow with history): the page after (or before) a cursor that names the
  last (first) row shown by its sort key, `WHERE (registered_at, id) < (:t, :id) ORDER BY ...
  LIMIT n+1`. It reads n+1 rows from an index on the key, so page 1 and page 10,000 cost the
  same, and a row is never lost or repeated across pages when many rows share one instant (the
  id breaks the tie). Its count is bounded: exact up to `COUNT_BOUND` rows, else "1,000+"
  (`count_exact` False): a filter that makes the list small gets its exact count, and an
  unfiltered list of a million rows does not count the world.
- `page_of` (short lists, and the API's `page` parameter kept for old callers): OFFSET paging
  with an exact total; `deep_page` (the referral list's `page`): the skip over the ids alone and
  a total bounded to COUNT_BOUND rows past the page.

It imports only the database handle, so the bank and the audit chain use it too.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Select, bindparam, func, literal, tuple_

from loyalty.errors import field_error
from loyalty.extensions import db

COUNT_BOUND = 1000


def page_of(query: Select, page: int, per_page: int, *, key: Any = None, count: bool = True) -> tuple[list, int]:
    """(the rows on `page`, how many rows in all) of an ordered query: Flask-SQLAlchemy's
    `db.paginate`, with the API's paging contract (SPEC: `items, total, page, per_page`):
    `per_page` as the caller validated it (no cap of 100) and an empty page past the end
    (no 404). Rows are made unique, as a query with joined eager loads needs.

    With `key` (the rows' id column) the skip is a deferred join: the page's ids are read with
    OFFSET from `key` and the order's columns alone (an index-only scan of the list's index when
    one holds them), then only those rows are loaded, in the same order; the OFFSET no longer
    reads the wide rows it skips."""
    if key is None:
        found = db.paginate(query, page=page, per_page=per_page, max_per_page=None, error_out=False)
        return found.items, found.total
    ids = list(db.session.execute(query.with_only_columns(key).offset((page - 1) * per_page).limit(per_page)).scalars())
    rows = list(db.session.execute(query.where(key.in_(ids))).unique().scalars()) if ids else []
    if not count:
        return rows, 0
    counted = query.with_only_columns(key).order_by(None).subquery()
    return rows, db.session.execute(func.count().select().select_from(counted)).scalar_one()


def deep_page(query: Select, page: int, per_page: int, *, key: Any) -> tuple[list, int, bool]:
    """`page_of`'s deferred join with a bounded total: (rows, total, exact?). The rows up to the end
    of the page and COUNT_BOUND beyond are counted, by `key` alone: exact when the list ends within
    them, else a lower bound; a page costs what its depth costs, not the whole list (issue 16)."""
    rows, _ = page_of(query, page, per_page, key=key, count=False)
    total, exact = bounded_count(query, key, bound=page * per_page + COUNT_BOUND)
    return rows, total, exact


@dataclass
class Page:
    """One page of a keyset-paged list: `next`/`prev` are cursors (None at either end)."""
    items: list
    next: str | None
    prev: str | None
    count: int
    count_exact: bool
    per_page: int
    cursor: str | None = None
    extra: dict = field(default_factory=dict)


def _encode(direction: str, values: Sequence[Any]) -> str:
    raw = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    text = json.dumps([direction, raw], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, columns: Sequence[Any]) -> tuple[str, list]:
    """('n' or 'p', the key values) of a cursor; a field error (cursor) when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, raw = json.loads(text)
        if direction not in ("n", "p") or len(raw) != len(columns):
            raise ValueError
        return direction, [_typed(value) for value in raw]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise field_error("cursor", "This page link is not valid; start again from the first page.") from None


def _typed(value):
    """A cursor's value as the column holds it: an aware instant or an integer."""
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError


def bounded_count(query: Select, key: Any, bound: int | None = None) -> tuple[int, bool]:
    """(how many rows, exact?) of a query, counting at most `bound` (COUNT_BOUND) + 1 of them by
    `key` alone (no eager joins, no order), so a long list costs a bounded index scan."""
    bound = COUNT_BOUND if bound is None else bound
    limited = query.with_only_columns(key).order_by(None).limit(bound + 1).subquery()
    n = db.session.execute(func.count().select().select_from(limited)).scalar_one()
    return (bound, False) if n > bound else (n, True)


def probed(query: Select, key: Any, probes: Sequence[Select]) -> tuple[Select, tuple[int, bool] | None]:
    """A search in two steps (issue 16): `probes`, selects of `key` that read the matches through
    their indexes (a name's grams, a plate, a reference), each read in turn up to COUNT_BOUND + 1.
    When together they find at most COUNT_BOUND, `query` (the plain search) among them and (how
    many, exact): a page then costs a few rows read by id, not a walk of the list testing every row
    for a rare name. Else `query` as it is and "1,000+": many matches, which its ordered walk meets
    soon."""
    ids: set = set()
    for probe in probes:
        ids.update(db.session.execute(probe.limit(COUNT_BOUND + 1)).scalars())
        if len(ids) > COUNT_BOUND:
            return query, (COUNT_BOUND, False)
    return among(query, key, sorted(ids)), (len(ids), True)


def among(query: Select, key: Any, ids: Sequence[int]) -> Select:
    """`query` narrowed to the rows whose `key` is one of `ids`, rendered into the statement (a
    search's first step found them: paging.probed, loyalty.directory.tails)."""
    return query.where(key.in_(bindparam("among_ids", list(ids), expanding=True, literal_execute=True)))


def keyset(query: Select, columns: Sequence[Any], *, cursor: str | None, per_page: int,
           newest_first: bool = True, count: bool = True, known: tuple[int, bool] | None = None) -> Page:
    """The page of `query` after/before `cursor` in the order of `columns` (a time column, then
    the id that breaks ties), newest first unless `newest_first` is False. `known`: the count
    (how many, exact?) when a search's probe has told it (`probed`), instead of counting."""
    direction, values = _decode(cursor, columns) if cursor else ("n", None)
    forward = direction == "n"
    paged = after(query, columns, cursor, newest_first=newest_first).limit(per_page + 1)
    rows = list(db.session.execute(paged).unique().scalars())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not forward:
        rows.reverse()
    has_after = more if forward else values is not None
    has_before = values is not None if forward else more
    if not count:
        total, exact = len(rows), False
    else:
        total, exact = known if known is not None else bounded_count(query, columns[-1])
    return Page(items=rows, per_page=per_page, cursor=cursor, count=total, count_exact=exact,
                next=_encode("n", _key(rows[-1], columns)) if rows and has_after else None,
                prev=_encode("p", _key(rows[0], columns)) if rows and has_before else None)


def after(query: Select, columns: Sequence[Any], cursor: str | None, *, newest_first: bool = True,
          order: Sequence[Any] | None = None) -> Select:
    """`query` narrowed to the rows after (or, for a `prev` cursor, before) `cursor`, in the order
    `keyset` reads them: its first per_page + 1 rows are the ones `keyset` pages. `order`: what to
    sort by instead of `columns`, the same order (`id + 0` keeps the planner off the id's index)."""
    direction, values = _decode(cursor, columns) if cursor else ("n", None)
    descending = newest_first == (direction == "n")  # the order this query reads in
    if values is not None:
        key, bound = tuple_(*columns), tuple_(*[literal(v, type_=c.type) for c, v in zip(columns, values)])
        query = query.where(key < bound if descending else key > bound)
    return query.order_by(*[c.desc() if descending else c.asc() for c in (order or columns)])


def _key(row, columns: Sequence[Any]) -> list:
    return [getattr(row, c.key) for c in columns]
