"""The ring signals (团伙信号), computed from plain records of the whole group (all stores).

Every signal is a pure function of `Records` (rows loaded by `verification.rings.load`) and the
thresholds of the referral's store policy, so the registration hook (a slice of the records around
one referral) and the full recompute (every record) run the same code. Each fired signal names the
referrals it links to and its evidence; README.md beside this file gives the same definitions.

concentration  集中: within `ring_window_days` before a referral, its referrer and its consultant
               share at least `ring_concentration_min` referrals, and these are at least
               `ring_concentration_pct` % of the consultant's referrals or of the referrer's (a
               consultant whose "old customers" are few people, an old customer who only ever
               "sends friends" to one consultant).
spread         分散: within `ring_spread_days`, the referrer's referrals went to at least
               `ring_spread_consultants` consultants, or to two stores or more.
cycle          互推: the new customer already reaches the referrer through referrals (B referred A,
               or B→C→A, B→C→D→A): a pair or a cycle of up to four people.
staff_customer 员工即客户: the referrer or the new customer has a staff member's phone or national ID.
shared         共用身份: the new customer shares a national ID with another new customer of the same
               referrer, or an employer + home district with at least `ring_shared_min` - 1 others,
               or a home address: within `ring_spread_days` the referrer's new customers, at least
               `ring_shared_min` of them, all live in one home district (phones are unique per
               customer; the home district is the only address a customer record holds).
fact_edit      临时改资料: a verification fact of the referrer was recorded by the registering
               consultant within `ring_fact_edit_days` before the referral (fact provenance, CB-10).
staff_pair     固定搭档: of the acknowledgements and delivery checks of the consultant's referrals
               within the window, one manager made at least `ring_pair_min`, a share at least
               `ring_pair_factor_pct` % of the 1/managers the store's staffing explains (so a
               store with one manager never fires, one with two only when he made all of them).
history        前科: the referrer has an earlier fraudulent or review-rejected referral, or the
               consultant two or more within the window.
"""
from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from verification.referrals.models import bad_outcome

WEIGHTS = {"concentration": 35, "spread": 30, "cycle": 60, "staff_customer": 60, "shared": 40,
           "fact_edit": 40, "staff_pair": 25, "history": 50}
KINDS = tuple(WEIGHTS)
LINKED_MAX = 30


class Row(NamedTuple):
    id: int
    store_id: int
    referrer_id: int
    referee_id: int
    consultant_id: int
    acknowledged_by_id: int | None
    checked_by_id: int | None
    at: datetime
    status: str
    reason: str | None

    bad = property(lambda self: bad_outcome(self.status, self.reason))  # counts as history


class Person(NamedTuple):
    phone: str | None
    id_hash: str | None
    employer: str | None
    district: str | None


_NOBODY = Person(None, None, None, None)


@dataclass
class Policy:
    review_score: int = 50
    window_days: int = 180
    concentration_min: int = 6
    concentration_pct: int = 60
    spread_days: int = 30
    spread_consultants: int = 3
    shared_min: int = 3
    fact_edit_days: int = 7
    pair_min: int = 8
    pair_factor_pct: int = 200

    @cached_property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    @cached_property
    def spread(self) -> timedelta:
        return timedelta(days=self.spread_days)

    @classmethod
    def of(cls, policy) -> Policy:
        return cls(**{name: getattr(policy, "ring_" + name) for name in cls.__dataclass_fields__})


@dataclass
class Signal:
    kind: str
    linked: list[int]
    detail: dict

    @property
    def weight(self) -> int:
        return WEIGHTS[self.kind]


@dataclass
class WindowSummary:
    """A consultant's window before one referral, counted by the database (the hook and the refresh
    job never ship a consultant's history): referrals, bad ones, decisions per staff member; the
    newest referrals a manager decided and the newest bad ones are read only when a signal fires."""
    total: int
    bad: int
    pairs: Counter
    decided_by: Callable[[int], list[int]]
    bad_ones: Callable[[], list[int]]


@dataclass
class Records:
    """What the signals read. `rows` sorted by time; the rest keyed by id."""
    rows: list[Row]
    people: dict[int, Person] = field(default_factory=dict)          # customer id -> identity
    staff_phones: dict[str, int] = field(default_factory=dict)       # phone -> staff id
    staff_ids: dict[str, int] = field(default_factory=dict)          # national ID hash -> staff id
    fact_edits: dict[int, list[tuple[datetime, int]]] = field(default_factory=dict)  # customer -> (at, staff)
    managers: dict[int, int] = field(default_factory=dict)           # store -> managers on its staff
    policies: dict[int, Policy] = field(default_factory=dict)        # store -> thresholds
    summaries: dict[int, WindowSummary] = field(default_factory=dict)  # consultant -> counted window

    def __post_init__(self):
        self.rows.sort(key=itemgetter(7, 0))  # (at, id)
        self.by_consultant: dict[int, list[Row]] = defaultdict(list)
        self.by_referrer: dict[int, list[Row]] = defaultdict(list)
        for row in self.rows:
            self.by_consultant[row.consultant_id].append(row)
            self.by_referrer[row.referrer_id].append(row)
        self._position: dict[int, int] | None = None

    @property
    def position(self) -> dict[int, int]:
        """A row's index in its referrer's list (built when a concentration first needs it)."""
        if self._position is None:
            self._position = {row.id: n for rows in self.by_referrer.values() for n, row in enumerate(rows)}
        return self._position

    def policy(self, store_id: int) -> Policy:
        return self.policies.get(store_id) or Policy()


def assess(records: Records, targets: set[int] | None = None) -> dict[int, list[Signal]]:
    """The signals of every referral in `targets` (all of them when None), by referral id."""
    found: dict[int, list[Signal]] = defaultdict(list)
    wanted = _Everything() if targets is None else targets
    for consultant, rows in records.by_consultant.items():
        if consultant in records.summaries:
            _summarised_pass(records, rows, records.summaries[consultant], wanted, found)
        else:
            _consultant_pass(records, rows, wanted, found)
    for rows in records.by_referrer.values():
        if len(rows) > 1:  # one referral alone spreads nothing, shares with nobody, has no history
            _referrer_pass(records, rows, wanted, found)
    edges = records.by_referrer  # who referred whom: a referrer's referrals
    people, edits = records.people, records.fact_edits
    for row in records.rows:
        if row.id not in wanted:
            continue
        # each test only where it can fire: the new customer refers someone, a party is a person
        # a signal reads, the referrer has recorded facts
        for signal in (row.referee_id in edges and _cycle(row, edges),
                       (row.referrer_id in people or row.referee_id in people) and _staff_customer(records, row),
                       row.referrer_id in edits and _fact_edit(records, row)):
            if signal:
                found[row.id].append(signal)
    return found


class _Everything:
    def __contains__(self, _referral_id) -> bool:
        return True


def _window(rows: list[Row], end: int, span: timedelta) -> list[Row]:
    """The rows of `rows` (time-sorted) within `span` before rows[end - 1], itself included (a walk
    back: a referrer's referrals in a window are few)."""
    since = rows[end - 1].at - span
    start = end - 1
    while start > 0 and rows[start - 1].at >= since:
        start -= 1
    return rows[start:end]


class _Sliding:
    """The full pass's view of a consultant's window: every row of it is in memory."""
    def __init__(self, window: deque[Row], pairs: Counter, bad: int) -> None:
        self.window, self.pairs, self.bad, self.total = window, pairs, bad, len(window)

    def _ids(self, keep) -> list[int]:
        return [r.id for r in self.window if keep(r)][-LINKED_MAX:]

    def same_referrer(self, referrer_id: int) -> list[int]:
        return self._ids(lambda r: r.referrer_id == referrer_id)

    def decided_by(self, manager: int) -> list[int]:
        return self._ids(lambda r: manager in (r.acknowledged_by_id, r.checked_by_id))

    def bad_ones(self) -> list[int]:
        return self._ids(lambda r: r.bad)


class _Counted(_Sliding):
    """The hook's view: the database's counts, the evidence of the rows loaded around the referral."""
    def __init__(self, loaded: list[Row], summary: WindowSummary) -> None:
        super().__init__(deque(loaded), summary.pairs, summary.bad)
        self.total, self.decided_by, self.bad_ones = summary.total, summary.decided_by, summary.bad_ones


def _consultant_pass(records: Records, rows: list[Row], wanted, found) -> None:
    """concentration, staff_pair and the consultant's history, one sliding window per consultant."""
    window: deque[Row] = deque()
    by_referrer: Counter[int] = Counter()
    pairs: Counter[int] = Counter()
    bad = 0
    policies: dict[int, Policy] = {}
    for row in rows:
        policy = policies.get(row.store_id) or policies.setdefault(row.store_id, records.policy(row.store_id))
        since = row.at - policy.window
        while window and window[0].at < since:
            old = window.popleft()
            by_referrer[old.referrer_id] -= 1
            if old.bad:
                bad -= 1
            if old.acknowledged_by_id is not None:
                pairs[old.acknowledged_by_id] -= 1
            if old.checked_by_id is not None:
                pairs[old.checked_by_id] -= 1
        if row.id in wanted:
            _consultant_signals(records, row, policy, _Sliding(window, pairs, bad), by_referrer[row.referrer_id] + 1, found)
        window.append(row)
        by_referrer[row.referrer_id] += 1
        if row.bad:
            bad += 1
        if row.acknowledged_by_id is not None:
            pairs[row.acknowledged_by_id] += 1
        if row.checked_by_id is not None:
            pairs[row.checked_by_id] += 1


def _summarised_pass(records: Records, rows: list[Row], summary: WindowSummary, wanted, found) -> None:
    """The same signals for the referral a summary was counted before (one target)."""
    for row in rows:
        if row.id in wanted:
            policy = records.policy(row.store_id)
            since = row.at - policy.window
            end = (row.at, row.id or 2**31 - 1)  # a registration not yet written comes after its instant's rows
            loaded = [r for r in rows if since <= r.at and (r.at, r.id) < end]
            same = sum(1 for r in loaded if r.referrer_id == row.referrer_id) + 1
            _consultant_signals(records, row, policy, _Counted(loaded, summary), same, found)


def _consultant_signals(records, row, policy, window: _Sliding, same: int, found) -> None:
    total = window.total + 1
    if same >= policy.concentration_min:
        referrer_total = len(_window(records.by_referrer[row.referrer_id], records.position[row.id] + 1,
                                     policy.window))
        if same * 100 >= policy.concentration_pct * min(total, max(referrer_total, same)):
            found[row.id].append(Signal("concentration", window.same_referrer(row.referrer_id), {
                "consultant_id": row.consultant_id, "count": same, "of": total, "days": policy.window_days,
                "referrer_total": max(referrer_total, same)}))
    managers = records.managers.get(row.store_id, 0)
    pairs = window.pairs
    if pairs and managers >= 2:
        count = max(pairs.values())
        decided = sum(pairs.values())  # acknowledgements and checks in the window
        # expected share 1/managers; unusual from pair_factor_pct % of it (never above all of them)
        if count >= policy.pair_min and count * 100 * managers >= policy.pair_factor_pct * decided \
                and policy.pair_factor_pct <= 100 * managers:
            manager = min(who for who, n in pairs.items() if n == count)
            found[row.id].append(Signal("staff_pair", window.decided_by(manager), {
                "consultant_id": row.consultant_id, "manager_id": manager, "count": count, "of": decided,
                "managers": managers}))
    if window.bad >= 2:
        _add_history(found, row, window.bad_ones(), {"consultant_id": row.consultant_id,
                                                      "consultant_count": window.bad})


def _add_history(found, row: Row, linked: list[int], detail: dict) -> None:
    for signal in found[row.id]:
        if signal.kind == "history":
            signal.linked = sorted(set(signal.linked) | set(linked))
            signal.detail.update(detail)
            return
    found[row.id].append(Signal("history", linked, detail))


def _referrer_pass(records: Records, rows: list[Row], wanted, found) -> None:
    """spread, shared identities and the referrer's history, over one referrer's referrals."""
    earlier_bad: list[int] = []
    policies: dict[int, Policy] = {}
    for end, row in enumerate(rows, 1):
        if row.id in wanted:
            policy = policies.get(row.store_id) or policies.setdefault(row.store_id, records.policy(row.store_id))
            short = _window(rows, end, policy.spread)
            _spread(row, short, policy, found)
            if row.referee_id in records.people:  # whom the new customer could share something with
                _shared(records, row, _window(rows, end, policy.window), short, policy, found)
            if earlier_bad:
                _add_history(found, row, earlier_bad[-LINKED_MAX:], {"referrer_count": len(earlier_bad)})
        if row.bad:
            earlier_bad.append(row.id)


def _spread(row: Row, window: list[Row], policy: Policy, found) -> None:
    consultants = {r.consultant_id for r in window}
    stores = {r.store_id for r in window}
    if len(consultants) >= policy.spread_consultants or len(stores) >= 2:
        found[row.id].append(Signal("spread", [r.id for r in window if r.id != row.id][-LINKED_MAX:], {
            "referrer_id": row.referrer_id, "consultants": len(consultants), "stores": len(stores),
            "days": policy.spread_days}))


def _shared(records: Records, row: Row, window: list[Row], short: list[Row], policy: Policy, found) -> None:
    me = records.people.get(row.referee_id)
    if me is None:
        return
    others = [(r, records.people.get(r.referee_id)) for r in window if r.referee_id != row.referee_id]
    same_id = [r.id for r, p in others if p and me.id_hash and p.id_hash == me.id_hash]
    same_place = [r.id for r, p in others if p and me.employer and me.district
                  and (p.employer, p.district) == (me.employer, me.district)]
    # the home address we hold is the district: every new customer of the referrer in the short
    # (spread) window, at least shared_min of them, living in one district
    home = [r.id for r in short if r.referee_id != row.referee_id]
    same_home = len(home) + 1 >= policy.shared_min and me.district is not None and all(
        (records.people.get(r.referee_id) or _NOBODY).district == me.district for r in short)
    what = []
    if same_id:
        what.append("national_id")
    if len(same_place) + 1 >= policy.shared_min:
        what.append("employer_district")
    if same_home:
        what.append("home_district")
    if what:
        linked = sorted(set(same_id) | (set(same_place) if "employer_district" in what else set())
                        | (set(home) if same_home else set()))
        found[row.id].append(Signal("shared", linked[-LINKED_MAX:], {
            "referrer_id": row.referrer_id, "what": what, "count": len(linked) + 1, "days": policy.spread_days}))


def _cycle(row: Row, edges: dict[int, list[Row]], hops: int = 3) -> Signal | None:
    """A path of at most `hops` referrals from the new customer back to the referrer."""
    frontier: dict[int, list[int]] = {row.referee_id: []}
    seen = {row.referee_id}
    for _ in range(hops):
        following: dict[int, list[int]] = {}
        for person, path in frontier.items():
            for edge in edges.get(person, ()):
                if edge.referee_id == row.referrer_id:
                    linked = path + [edge.id]
                    return Signal("cycle", linked, {"length": len(linked) + 1})
                if edge.referee_id not in seen:
                    seen.add(edge.referee_id)
                    following[edge.referee_id] = path + [edge.id]
        frontier = following
    return None


def _staff_customer(records: Records, row: Row) -> Signal | None:
    for party, customer_id in (("referrer", row.referrer_id), ("referee", row.referee_id)):
        person = records.people.get(customer_id)
        if person is None:
            continue
        if person.phone and person.phone in records.staff_phones:
            return Signal("staff_customer", [], {"party": party, "staff_id": records.staff_phones[person.phone],
                                                 "by": "phone"})
        if person.id_hash and person.id_hash in records.staff_ids:
            return Signal("staff_customer", [], {"party": party, "staff_id": records.staff_ids[person.id_hash],
                                                 "by": "national_id"})
    return None


def _fact_edit(records: Records, row: Row) -> Signal | None:
    if row.referrer_id not in records.fact_edits:
        return None
    days = records.policy(row.store_id).fact_edit_days
    since = row.at - timedelta(days=days)
    edits = [at for at, staff_id in records.fact_edits.get(row.referrer_id, ())
             if staff_id == row.consultant_id and since <= at <= row.at]
    if not edits:
        return None
    return Signal("fact_edit", [], {"consultant_id": row.consultant_id, "count": len(edits), "days": days})


def score(signals: list[Signal]) -> int:
    return min(100, sum(signal.weight for signal in signals))
