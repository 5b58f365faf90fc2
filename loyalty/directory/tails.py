"""The customer search by a phone's last 4 digits (手机尾号), in time that does not grow with the
matches (issue 16, migration 0012t_phone_tails; PostgreSQL only, SQLite keeps the plain LIKEs).

A tail matches a share of all phones, so a hundred times more customers at 1M referrals than at
10k. What `q` = 4 digits finds (loyalty.directory.search.text_match) is split in two:

- the tail matches: phones ending with the digits (for staff who see phones masked, only phones
  whose mask shows them). ix_customers_phone_tail (within a store: ix_customers_store_phone_tail)
  holds them in id order: the first COUNT_BOUND + 1 of them and the page after a cursor are range
  reads of that index;
- the few others: names holding the digits and, for admins (who search any part of a number),
  phones holding them elsewhere than at the end (ix_customers_phone_inner_quads). A probe reads
  up to COUNT_BOUND + 1 of them; more than COUNT_BOUND (digits in the middle of many phones: the
  bench's `+86199…` numbers hold 9905x) and the count is "1,000+" at once, and the page's
  candidates are the first per_page + 1 of them after the cursor, read from their index and
  sorted (`ORDER BY id + 0`: an id-ordered walk calling phone_inner_quads per row read 354,000
  rows in 0.97 s for 51 clustered matches at 3M customers, the GIN and a sort 6,300 in 1.5 ms),
  unless the index's statistics count the digits in more than COMMON_SHARE of the phones: then
  the plain query's walk in id order meets its matches at once.

The count is bounded as a name's ("1,000+"), and a page is read with the plain query among its
candidates: the few others and the tail matches after the cursor, as many as the page needs.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ARRAY, Select, Text, bindparam, false, func, literal_column, or_, text

from loyalty.directory.models import Customer
from loyalty.extensions import db
from loyalty.paging import COUNT_BOUND, after, among

DIGITS = 4
# Only phones whose mask shows the last four digits may be found by them (here and in
# search.text_match): `mask_phone` shows the last 4 of a national number longer than 7 digits, and
# `+` + a 3-digit country code + 8 digits is 12 characters (shorter numbers are still found when
# typed in full).
MASK_SHOWS_LAST_4 = 12


def searched(q: str) -> bool:
    """Whether `q` is a tail this module answers: 4 ASCII digits, on PostgreSQL."""
    q = q.strip()
    return len(q) == DIGITS and q.isascii() and q.isdigit() and db.session.get_bind().dialect.name == "postgresql"


def tail_match(q: str, full_phone: bool):
    """The phones ending with `q` as ix_customers_phone_tail reads them (right(phone, 4) = q is
    `phone LIKE '%q'` for 4 digits); masked viewers' only when the mask shows the tail."""
    ends = func.right(Customer.phone, literal_column(str(DIGITS))) == bindparam(None, q, literal_execute=True)
    return ends if full_phone else ends & (func.length(Customer.phone) >= MASK_SHOWS_LAST_4)


def inner_match(q: str):
    """The phones holding `q` elsewhere than at their end (ix_customers_phone_inner_quads)."""
    quads = bindparam(None, [q], type_=ARRAY(Text), literal_execute=True)
    return func.phone_inner_quads(Customer.phone).op("@>")(quads)


def _ids(query: Select) -> list[int]:
    return list(db.session.execute(query).scalars())


@dataclass
class Tail:
    """What the probe found: every match that is not a tail (`few`), the first tail matches
    by id (`tails`, COUNT_BOUND + 1 at most), and how to read more tails (`tail_query`) and
    the others (`other_query`); `overflow`: more than COUNT_BOUND others (neither list is read,
    a page reads both queries after its cursor), `common` ones among them by the statistics."""
    few: list[int]
    tails: list[int]
    tail_query: Select
    other_query: Select
    overflow: bool = False
    common: bool = False

    @property
    def complete(self) -> bool:
        return not self.overflow and len(self.tails) <= COUNT_BOUND

    @property
    def ids(self) -> list[int]:
        """The first matches by id: all of them, or (tails cut short) those up to the last tail read."""
        ids = sorted(set(self.few) | set(self.tails))
        return ids if self.complete else [i for i in ids if i <= self.tails[-1]]

    @property
    def total(self) -> tuple[int, bool]:
        if not self.complete:
            return COUNT_BOUND, False
        n = len(self.ids)
        return (COUNT_BOUND, False) if n > COUNT_BOUND else (n, True)

    def query(self, query: Select) -> Select:
        """`query` (the plain search) among the matches when they are all known, else as it is."""
        return among(query, Customer.id, self.ids) if self.complete else query

    def page_query(self, query: Select, cursor: str | None, per_page: int) -> Select:
        """`query` among the candidates of the page after `cursor`: the few others and the first
        per_page + 1 tail matches after it (the rows the page and its `next` need)."""
        if self.complete:
            return self.query(query)
        if self.overflow and self.common:
            return query
        if not cursor and per_page < len(self.tails):  # the probe read them already
            window = self.tails[:per_page + 1]
        else:
            window = _ids(after(self.tail_query, (Customer.id,), cursor, newest_first=False).limit(per_page + 1))
        others = self.few if not self.overflow else _ids(after(self.other_query, (Customer.id,), cursor,
                                                               newest_first=False, order=(Customer.id + 0,))
                                                         .limit(per_page + 1))
        return among(query, Customer.id, sorted(set(others) | set(window)))


def probe(base: Select, q: str, names, full_phone: bool) -> Tail:
    """The matches of tail `q` among `base` (the customers the searcher may find, every other
    filter applied): `names` is the condition on names holding q."""
    q = q.strip()
    others = or_(names, inner_match(q)) if full_phone else (names if names is not None else false())
    few = _ids(base.where(others).with_only_columns(Customer.id).limit(COUNT_BOUND + 1))
    tail_query = base.where(tail_match(q, full_phone)).with_only_columns(Customer.id)
    other_query = base.where(others).with_only_columns(Customer.id)
    if len(few) > COUNT_BOUND:
        return Tail(few=[], tails=[], tail_query=tail_query, other_query=other_query, overflow=True,
                    common=full_phone and _common(q))
    tails = _ids(tail_query.order_by(Customer.id).limit(COUNT_BOUND + 1))
    return Tail(few=few, tails=tails, tail_query=tail_query, other_query=other_query)


COMMON_SHARE = 0.01
_SHARE = text("SELECT f.share FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) "
              "AS f(elem, share) WHERE s.schemaname = current_schema() AND s.tablename = "
              "'ix_customers_phone_inner_quads' AND f.elem = :q")


def _common(q: str) -> bool:
    """Whether PostgreSQL's statistics of ix_customers_phone_inner_quads count `q` inside more than
    COMMON_SHARE of the phones (not counted: rare)."""
    share = db.session.execute(_SHARE, {"q": q}).scalar()
    return share is not None and share > COMMON_SHARE
