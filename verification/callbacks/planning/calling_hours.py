"""CB-2: when a callback is due: a random instant of the store's calling hours inside the window.

Every random choice uses `secrets` (a CSPRNG), so nobody who has seen earlier plans can predict the
next one (CB-4).
"""
from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def _to_us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _parse_hhmm(text: str) -> int:
    """'09:00' -> microseconds after local midnight; '24:00' allowed as an end."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", text or "")
    if not m:
        raise ValueError(f"calling hour must be HH:MM, got {text!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if mi > 59 or s > 59 or h > 24 or (h == 24 and (mi or s)):
        raise ValueError(f"calling hour out of range: {text!r}")
    return ((h * 60 + mi) * 60 + s) * 1_000_000


def _offset_us(zone: ZoneInfo, us: int) -> int:
    return _from_us(us).astimezone(zone).utcoffset() // _US


def _segments(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[lo, hi) cut where the zone's UTC offset changes: (start, end, offset) in microseconds."""
    step = _HOUR_US // 2
    out = []
    start, off = lo, _offset_us(zone, lo)
    t = lo
    while t < hi:
        nxt = min(t + step, hi)
        noff = _offset_us(zone, nxt) if nxt < hi else off
        if noff != off:
            a, b = t, nxt  # offset(a) == off, offset(b) != off: find the first instant with the new offset
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_us(zone, mid) == off:
                    a = mid
                else:
                    b = mid
            out.append((start, b, off))
            start, off = b, _offset_us(zone, b)
            t = b
            continue
        t = nxt
    out.append((start, hi, off))
    return [s for s in out if s[0] < s[1]]


def _local_ranges(start_us: int, end_us: int) -> list[tuple[int, int]]:
    """Calling hours as ranges of local time-of-day; an overnight window wraps midnight."""
    if start_us == end_us:
        raise ValueError("calling hours start and end are equal")
    if start_us < end_us:
        return [(start_us, end_us)]
    return [(start_us, _DAY_US), (0, end_us)]


def calling_intervals(lo: int, hi: int, tz: str, start: str, end: str) -> list[tuple[int, int]]:
    """The calling-hours instants in [lo, hi) (UTC microseconds) as sorted disjoint intervals."""
    zone = ZoneInfo(tz)
    ranges = _local_ranges(_parse_hhmm(start), _parse_hhmm(end))
    out: list[tuple[int, int]] = []
    for seg_lo, seg_hi, off in _segments(zone, lo, hi):
        # within a segment local = utc + off exactly, so each local day's hours map to one UTC range
        first_day = (seg_lo + off) // _DAY_US
        last_day = (seg_hi + off) // _DAY_US
        for day in range(first_day - 1, last_day + 1):
            for r_lo, r_hi in ranges:
                a = day * _DAY_US + r_lo - off
                b = day * _DAY_US + r_hi - off
                a, b = max(a, seg_lo), min(b, seg_hi)
                if a < b:
                    out.append((a, b))
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def in_calling_hours(instant: datetime, tz: str, start: str, end: str) -> bool:
    local = instant.astimezone(ZoneInfo(tz))
    tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
    return any(lo <= tod < hi for lo, hi in _local_ranges(_parse_hhmm(start), _parse_hhmm(end)))


def next_opening(at: datetime, tz: str, start: str, end: str) -> datetime:
    """The first calling-hours instant at or after `at` (aware UTC)."""
    lo = _to_us(at)
    for span_days in (3, 10, 40):
        found = calling_intervals(lo, lo + span_days * _DAY_US, tz, start, end)
        if found:
            return _from_us(found[0][0])
    raise ValueError("no calling hours found within 40 days")


def due_time(after: datetime, min_hours: int, max_hours: int, tz: str = "Asia/Shanghai",
             start: str = "09:00", end: str = "20:00") -> datetime:
    """A uniformly random calling-hours instant in [after+min_hours, after+max_hours] (CB-2).

    Calling hours are [start, end) of each local day in `tz` (DST handled: instants
    are checked by their local wall time). When the window holds no calling-hours
    instant the callback is due at the first opening at or after the window's end.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    if min_hours < 0 or max_hours < min_hours:
        raise ValueError("need 0 <= min_hours <= max_hours")
    lo = _to_us(after.astimezone(UTC)) + min_hours * _HOUR_US
    hi = _to_us(after.astimezone(UTC)) + max_hours * _HOUR_US
    intervals = calling_intervals(lo, hi, tz, start, end)
    total = sum(b - a for a, b in intervals)
    if total > 0:
        pick = secrets.randbelow(total)
        for a, b in intervals:
            if pick < b - a:
                return _from_us(a + pick)
            pick -= b - a
    return next_opening(_from_us(lo), tz, start, end)  # nothing inside: the first opening from here on
