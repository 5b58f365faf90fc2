"""The records the signals read, loaded from the database: everything (the full recompute) or the
slice around one referral (the registration hook and the refresh job), through indexed queries."""
from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Date, Integer, and_, bindparam, case, cast, func, literal, null, or_, select, text, union_all

from loyalty.directory.models import Customer, FactVersion, Staff, StorePolicy
from loyalty.extensions import db
from loyalty.types import UTCDateTime
from verification.referrals.models import Referral, bad_outcome_sql
from verification.rings.signals import LINKED_MAX, Person, Policy, Records, Row, WindowSummary

ROW_COLUMNS = (Referral.id, Referral.store_id, Referral.referrer_id, Referral.referee_id,
               Referral.registered_by_id, Referral.acknowledged_by_id, Referral.delivery_checked_by_id,
               Referral.registered_at, Referral.status, Referral.reason)
MANAGERS = ("manager",)
_BAD = bad_outcome_sql()  # signals.Row.bad
# Whole days of a consultant's window counted ahead (issue 16): verification.reports, above this layer,
# keeps per-day counts of each consultant's referrals and wires them here (summaries.watch);
# without them the hook counts the whole window from the referrals.
_day_counts = None


def use_day_counts(days) -> None:
    """`days.split(start, at)`: None, or (first, last, first midnight, last midnight): the whole days
    [first, last) of the window [start, at) the counts hold; `days.rows(consultant, first, last)`: a
    Select of (metric, manager, n) over those days, the metrics a referral status (one per referral),
    `ring_acknowledged` / `ring_checked` (by that manager) and `ring_bad`."""
    global _day_counts
    _day_counts = days


def _rows(query, raw: bool = False) -> list[Row]:
    """`raw`: on PostgreSQL through the driver's cursor (four times faster for a million rows:
    psycopg already returns aware datetimes, so the column types have nothing to add)."""
    if raw and db.engine.dialect.name == "postgresql":
        compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute(str(compiled))
        return [Row(*values) for values in cursor.fetchall()]
    return [Row(*values) for values in db.session.execute(query).all()]


def _policies() -> dict[int, Policy]:
    return {p.store_id: Policy.of(p) for p in db.session.scalars(select(StorePolicy))}


def _managers(store_id: int | None = None) -> dict[int, int]:
    query = (select(Staff.store_id, func.count(Staff.id)).where(Staff.role.in_(MANAGERS), Staff.active)
             .group_by(Staff.store_id))
    if store_id is not None:
        query = query.where(Staff.store_id == store_id)
    return {store_id: count for store_id, count in db.session.execute(query).all() if store_id is not None}


def _people(customer_ids) -> dict[int, Person]:
    query = select(Customer.id, Customer.phone, Customer.national_id_hash, Customer.employer,
                   Customer.home_district)
    if customer_ids is not None:
        wanted = sorted(customer_ids) if isinstance(customer_ids, (set, list, tuple)) else customer_ids
        query = query.where(Customer.id.in_(wanted))
    return {cid: Person(*rest) for cid, *rest in db.session.execute(query).all()}


def _staff_identities(people: dict[int, Person] | None = None) -> tuple[dict, dict]:
    query = select(Staff.id, Staff.phone, Staff.national_id_hash).where(
        or_(Staff.phone.is_not(None), Staff.national_id_hash.is_not(None)))
    if people is not None:
        phones = sorted({p.phone for p in people.values() if p.phone})
        hashes = sorted({p.id_hash for p in people.values() if p.id_hash})
        query = query.where(or_(Staff.phone.in_(phones), Staff.national_id_hash.in_(hashes)))
    phones_of, ids_of = {}, {}
    for staff_id, phone, id_hash in db.session.execute(query).all():
        if phone:
            phones_of[phone] = staff_id
        if id_hash:
            ids_of[id_hash] = staff_id
    return phones_of, ids_of


def _fact_edits(customer_ids=None, since=None) -> dict[int, list]:
    query = select(FactVersion.customer_id, FactVersion.recorded_at, FactVersion.recorded_by_id).where(
        FactVersion.recorded_by_id.is_not(None))
    if customer_ids is not None:
        query = query.where(FactVersion.customer_id.in_(sorted(customer_ids)))
    if since is not None:
        query = query.where(FactVersion.recorded_at >= since)
    edits: dict[int, list] = {}
    for customer_id, at, staff_id in db.session.execute(query).all():
        edits.setdefault(customer_id, []).append((at, staff_id))
    return edits


def everything(phases: dict | None = None) -> Records:
    """Every referral of the group, and what the signals compare them with: the people only where a
    signal can read them (a party with a staff member's phone or ID; a new customer who shares an
    ID, an employer + district or a district with enough of his referrer's others), so that a
    million referrals do not load every customer."""
    policies = _policies()
    if db.engine.dialect.name == "postgresql":  # a few large scans: compiling them costs more than it saves
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '128MB'"))  # its groupings in memory, not on disk
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # one core for the job
    phases = {} if phases is None else phases
    started = time.perf_counter()
    rows = _rows(select(*ROW_COLUMNS), raw=True)
    phases["load referrals"] = time.perf_counter() - started
    phones, ids = _staff_identities()
    shared_min = min([p.shared_min for p in policies.values()] or [Policy().shared_min])
    people = _people(_people_wanted(shared_min))
    edits = _fact_edits()
    phases["load people, staff, facts"] = time.perf_counter() - started - phases["load referrals"]
    records = Records(rows, people, phones, ids, edits, _managers(), policies)
    phases["index"] = time.perf_counter() - started - sum(v for k, v in phases.items() if k.startswith("load"))
    return records


def _people_wanted(shared_min: int):
    """The ids of the customers the full pass reads (a subquery; a superset of what it compares):
    a staff member's phone or ID, an ID two customers hold, a referrer's ≥ shared_min new customers at
    one employer + district or one district."""
    staff_phones = select(Staff.phone).where(Staff.phone.is_not(None))
    staff_ids = select(Staff.national_id_hash).where(Staff.national_id_hash.is_not(None))
    as_staff = select(Customer.id).where(or_(Customer.phone.in_(staff_phones),
                                             Customer.national_id_hash.in_(staff_ids)))
    twins = (select(Customer.national_id_hash).where(Customer.national_id_hash.is_not(None))
             .group_by(Customer.national_id_hash).having(func.count() >= 2))  # IDs on two customers or more
    same_id = select(Customer.id).where(Customer.national_id_hash.in_(twins))
    several = select(Referral.referrer_id).group_by(Referral.referrer_id).having(func.count() >= shared_min)
    # one join, read twice (a CTE referenced more than once is computed once on PostgreSQL)
    referees = (select(Referral.referrer_id, Referral.referee_id, Customer.employer, Customer.home_district)
                .join(Customer, Customer.id == Referral.referee_id)
                .where(Referral.referrer_id.in_(several)).cte("referees"))

    def crowded(*columns, least: int):
        groups = (select(referees.c.referrer_id, *columns).where(*(c.is_not(None) for c in columns))
                  .group_by(referees.c.referrer_id, *columns).having(func.count() >= least).subquery())
        on = [referees.c.referrer_id == groups.c.referrer_id] + [c == groups.c[c.name] for c in columns]
        return select(referees.c.referee_id).join(groups, and_(*on))

    return as_staff.union(
        same_id,
        crowded(referees.c.employer, referees.c.home_district, least=shared_min),
        crowded(referees.c.home_district, least=shared_min))


def around(referral: Referral) -> Records:
    """What the signals of one referral read: its consultant's referrals within the window, its
    referrer's referrals, the chains from its new customer (up to three hops), and their people.
    `referral` may be a registration not yet flushed (no id): it is added as a row with id 0.
    One round trip in the common case (a new customer who referred nobody): the rows, and the people
    with their staff matches, recent fact edits and the store's managers, pipelined on PostgreSQL —
    the registration hook's budget."""
    policy = Policy.of(db.session.get(StorePolicy, referral.store_id))
    at = referral.registered_at
    parties = {referral.referrer_id, referral.referee_id}
    since = at - timedelta(days=policy.fact_edit_days)
    start = at - timedelta(days=policy.window_days)
    # the window's whole days from the counts, the rest (its two ends) from the referrals
    days = _day_counts.split(start, at) if _day_counts is not None else None
    first, last, first_mid, last_mid = days or (date.min, date.min, at, at)
    params = {"consultant": referral.registered_by_id, "start": start, "at": at, "first": first, "last": last,
              "first_mid": first_mid, "last_mid": last_mid, "rid": referral.id or 2**31 - 1, "since": since,
              "referrer": referral.referrer_id, "referee": referral.referee_id, "store": referral.store_id}
    found, people_rows, decisions = _pipelined(_around_statements(db.engine.dialect.name, _day_counts), params)
    found = [Row(*values) for values in found]
    rows = {r.id: r for r in found}
    frontier = {r.referee_id for r in found if r.referrer_id == referral.referee_id} - {referral.referrer_id}
    for _ in range(2):  # the chains a cycle may close (signals._cycle walks at most 3 hops)
        if not frontier:
            break
        found = _rows(select(*ROW_COLUMNS).where(Referral.referrer_id.in_(sorted(frontier))))
        rows.update({r.id: r for r in found})
        frontier = {r.referee_id for r in found} - {referral.referrer_id}
    rows[referral.id or 0] = Row(referral.id or 0, referral.store_id, referral.referrer_id, referral.referee_id,
                                 referral.registered_by_id, referral.acknowledged_by_id,
                                 referral.delivery_checked_by_id, at, referral.status, referral.reason)
    # with the people, what else is read of them: the staff who share a party's phone or national
    # ID, the referrer's facts the consultant recorded lately, the managers
    people, phones, ids, edits, managers = {}, {}, {}, {}, {}
    for cid, phone, id_hash, employer, district, by_phone, by_id, edited, last_edit, in_store in people_rows:
        people[cid] = Person(phone, id_hash, employer, district)
        if cid in parties and by_phone:
            phones[phone] = by_phone
        if cid in parties and by_id:
            ids[id_hash] = by_id
        if cid == referral.referrer_id and edited:
            edits[cid] = [(last_edit, referral.registered_by_id)] * edited
        managers[referral.store_id] = in_store or 0
    total, bad, pairs = _window_counts(decisions)
    summary = WindowSummary(total, bad, pairs,
                            lambda manager: _newest(params, or_(Referral.acknowledged_by_id == manager,
                                                                Referral.delivery_checked_by_id == manager)),
                            lambda: _newest(params, _BAD))
    return Records(list(rows.values()), people, phones, ids, edits, managers,
                   {referral.store_id: policy}, {referral.registered_by_id: summary})


def _window_counts(decisions) -> tuple[int, int, Counter[int]]:
    """(referrals, bad ones, decisions per manager) of the window from the rows of its statement:
    ("live", acknowledged by, checked by, bad, n) counted from the referrals, (metric, manager, -, -, n)
    from the day counts."""
    total, bad, pairs = 0, 0, Counter()
    for metric, manager, checked, is_bad, n in decisions:
        n = int(n)
        if metric == "live":
            total, bad = total + n, bad + n * is_bad
            for who in (manager, checked):  # one manager may have done both: two decisions
                if who is not None:
                    pairs[who] += n
        elif metric in ("ring_acknowledged", "ring_checked"):
            pairs[manager] += n
        elif metric == "ring_bad":
            bad += n
        else:  # a status: every referral has one
            total += n
    return total, bad, pairs


def _newest(params: dict, which) -> list[int]:
    """The newest referrals of the consultant's window that `which` picks (the evidence of a
    staff pair or of his history, read only when the signal fires), oldest first."""
    query = (select(Referral.id).where(
        Referral.registered_by_id == params["consultant"], Referral.registered_at >= params["start"],
        or_(Referral.registered_at < params["at"], and_(Referral.registered_at == params["at"], Referral.id < params["rid"])),
        which).order_by(Referral.registered_at.desc(), Referral.id.desc()).limit(LINKED_MAX))
    return list(reversed(db.session.scalars(query).all()))


@cache
def _around_statements(dialect: str, day_counts):
    """The registration hook's queries, built and compiled once (their values are parameters)."""
    consultant, store, referrer, referee = (bindparam(name, None, type_=Integer)
                                            for name in ("consultant", "store", "referrer", "referee"))
    start, at, since, first_mid, last_mid = (bindparam(name, None, type_=UTCDateTime)
                                             for name in ("start", "at", "since", "first_mid", "last_mid"))
    rid = bindparam("rid", None, type_=Integer)
    # the consultant's window before the referral (before its id at the same instant, as the full pass orders)
    window = and_(Referral.registered_by_id == consultant, Referral.registered_at >= start,
                  or_(Referral.registered_at < at, and_(Referral.registered_at == at, Referral.id < rid)))
    # rows: the referrer's and the new customer's own referrals; the consultant's window is counted
    # by the database, never shipped
    rows = select(*ROW_COLUMNS).where(or_(Referral.referrer_id == referrer, Referral.referrer_id == referee))
    # the ends of the window outside the counted days (all of it without them): how many referrals per
    # (acknowledged by, checked by) — a few combinations of managers. Each end is a range of its own
    # ([start, first_mid) and [last_mid, at]; disjoint, as split() gives first_mid < last_mid or both
    # at `at`): one OR of the two made PostgreSQL guess a good part of the whole window and send a
    # parallel worker after a few thousand rows (14 ms at 1M referrals; 4.8 ms as two ranges)
    bad = case((_BAD, 1), else_=0).label("bad")
    ends = union_all(*(select(Referral.acknowledged_by_id, Referral.delivery_checked_by_id, bad).where(window, *part)
                       for part in ((Referral.registered_at < first_mid,), (Referral.registered_at >= last_mid,)))
                     ).subquery("ends")
    decisions = (select(literal("live"), ends.c.acknowledged_by_id, ends.c.delivery_checked_by_id, ends.c.bad,
                        func.count())
                 .group_by(ends.c.acknowledged_by_id, ends.c.delivery_checked_by_id, ends.c.bad))
    if day_counts is not None:
        counted = day_counts.rows(consultant, bindparam("first", None, type_=Date),
                                  bindparam("last", None, type_=Date)).subquery()
        decisions = union_all(decisions, select(counted.c.metric, counted.c.manager, cast(null(), Integer),
                                                literal(0), counted.c.n))
    # the people the signals of this referral compare: its two parties and the referrer's other referees
    compared = union_all(select(Referral.referee_id).where(Referral.referrer_id == referrer),
                         select(referrer), select(referee))
    consultant_edits = and_(FactVersion.customer_id == Customer.id, FactVersion.recorded_by_id == consultant,
                            FactVersion.recorded_at >= since, FactVersion.recorded_at <= at)
    people = select(
        Customer.id, Customer.phone, Customer.national_id_hash, Customer.employer, Customer.home_district,
        select(func.min(Staff.id)).where(Staff.phone == Customer.phone).scalar_subquery(),
        select(func.min(Staff.id)).where(Staff.national_id_hash == Customer.national_id_hash).scalar_subquery(),
        select(func.count(FactVersion.id)).where(consultant_edits).scalar_subquery(),
        select(func.max(FactVersion.recorded_at)).where(consultant_edits).scalar_subquery(),
        select(func.count(Staff.id)).where(Staff.store_id == store, Staff.role.in_(MANAGERS),
                                           Staff.active).scalar_subquery(),
    ).where(Customer.id.in_(compared))
    statements = (rows, people, decisions)
    if dialect == "postgresql":  # the driver's SQL, with the values of its constants (the roles)
        compiled = [q.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
                    for q in statements]
        return tuple((str(c), c.params) for c in compiled)
    return statements


def _pipelined(statements, params: dict) -> list[list[tuple]]:
    """The rows of each statement, sent together (one round trip) through the driver on PostgreSQL."""
    if db.engine.dialect.name != "postgresql":
        return [db.session.execute(query, params).all() for query in statements]
    db.session.flush()  # what the session holds, as its own queries would see it (autoflush)
    connection = db.session.connection().connection.driver_connection
    cursors = [connection.cursor() for _ in statements]
    with connection.pipeline():
        for cursor, (sql, constants) in zip(cursors, statements):
            cursor.execute(sql, {**constants, **params})
    return [cursor.fetchall() for cursor in cursors]
