"""loyalty.scanning (issue 16): the spans a walk is split into, the order their results come back in,
and the signed progress record a resumed walk trusts."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from loyalty import scanning
from loyalty.scanning import Hmac, ProgressRecord, in_order, spans

KEY = b"k" * 32


@pytest.mark.parametrize("low, high, jobs", [(1, 1, 1), (1, 19_999, 2), (1, 1_000_000, 1), (7, 10_000_007, 2),
                                             (500_001, 1_000_000, 8)])
def test_spans_cover_the_range_once_in_order(low, high, jobs):
    parts = spans(low, high, jobs)
    assert parts[0].low == low and parts[-1].high == high
    assert all(a.high + 1 == b.low for a, b in zip(parts, parts[1:]))
    assert [p.index for p in parts] == list(range(len(parts)))
    assert all(scanning.LEAST <= p.high - p.low + 1 <= scanning.MOST for p in parts[:-1])


def test_no_spans_for_an_empty_range():
    assert spans(5, 4, 2) == []


def test_results_come_back_in_span_order_in_this_process():
    parts = spans(1, 100_000, 1)
    assert [span for span, _ in in_order(lambda s: s.low, parts, 1, initializer=print, initargs=(),
                                         remote=str)] == parts


@pytest.mark.parametrize("message", [b"", b"x" * 55, b"x" * 64, "推荐 🚗".encode() * 40])
@pytest.mark.parametrize("key", [KEY, b"k" * 64, b"k" * 100])
def test_the_hmac_with_pads_hashed_once_is_hmac_sha256(key, message):
    assert Hmac(key).digest(message) == hmac.new(key, message, hashlib.sha256).digest()


def record(tmp_path, **kw) -> ProgressRecord:
    return ProgressRecord(tmp_path / "walk.progress", kw.get("kind", "audit-verify"), kw.get("database", "db1"),
                          kw.get("key", KEY), max_age=kw.get("max_age", 3600))


def test_a_saved_record_is_read_back_with_when_it_was_written(tmp_path):
    record(tmp_path).save(seq=10, hash="ab")
    state = record(tmp_path).load()
    assert (state["seq"], state["hash"]) == (10, "ab") and abs(state["written"] - time.time()) < 60


@pytest.mark.parametrize("other", [{"kind": "ledger-check"}, {"database": "db2"}, {"key": b"o" * 32}])
def test_a_record_of_another_walk_database_or_key_is_ignored(tmp_path, other):
    record(tmp_path).save(seq=10, hash="ab")
    assert record(tmp_path, **other).load() is None


@pytest.mark.parametrize("edit", ["state", "written", "sig", "cut"])
def test_an_edited_record_is_ignored(tmp_path, edit):
    kept = record(tmp_path)
    kept.save(seq=10, hash="ab")
    text = kept.path.read_text()
    body = json.loads(text)
    if edit == "state":
        body["state"]["seq"] = 99
    elif edit == "written":
        body["written"] += 1
    elif edit == "sig":
        body["sig"] = "0" * 64
    kept.path.write_text(text[:-5] if edit == "cut" else json.dumps(body))
    assert kept.load() is None


def test_an_old_record_is_ignored_and_clear_removes_it(tmp_path):
    kept = record(tmp_path, max_age=0.01)
    kept.save(seq=10, hash="ab")
    time.sleep(0.05)
    assert kept.load() is None
    kept.clear()
    assert not kept.path.exists()
    kept.clear()  # nothing to remove: no error


@pytest.mark.parametrize("text", ["2025-01-06 18:53:20", "2025-01-06 18:53:20.5", "2025-01-06 18:53:20.12",
                                  "2025-01-06 18:53:20.12345", "2025-01-06 18:53:20.123456",
                                  "2025-01-06 18:53:20.000001", "2025-01-06 00:00:00.100000"])
def test_an_events_time_as_text_is_what_its_seal_covers(text):
    """audit verify reads PostgreSQL's ISO text (trailing zeros of the fraction left off) or SQLite's
    (six digits): either gives the form the seal covers (formats._iso of the aware datetime)."""
    from datetime import UTC, datetime

    from loyalty.audit import formats
    from loyalty.audit.walking import _iso
    at = datetime.fromisoformat(text)
    assert _iso(text) == formats._iso(at.replace(tzinfo=UTC)) == _iso(at)
