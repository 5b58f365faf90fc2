"""One page of a list (issue 13 item 7), for every list the API and the pages show.

    items, total = page_of(query.order_by(Payout.id), page, per_page)

It imports only the database handle, so the bank and the audit chain use it too.
"""
from __future__ import annotations

from sqlalchemy import Select

from loyalty.extensions import db


def page_of(query: Select, page: int, per_page: int) -> tuple[list, int]:
    """(the rows on `page`, how many rows in all) of an ordered query: Flask-SQLAlchemy's
    `db.paginate`, with the API's paging contract (SPEC: `items, total, page, per_page`):
    `per_page` as the caller validated it (no cap of 100) and an empty page past the end
    (no 404). Rows are made unique, as a query with joined eager loads needs."""
    found = db.paginate(query, page=page, per_page=per_page, max_per_page=None, error_out=False)
    return found.items, found.total
