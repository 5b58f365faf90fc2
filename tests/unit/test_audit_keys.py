"""The checkpoint file's lines and the keys behind them (SEC-1), without a database."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from loyalty.audit import checkpoints
from loyalty.audit.service import derive_key
from loyalty.config import Config
from loyalty.ledger.digests import Hmac

KEY = derive_key("k" * 40, "audit-checkpoint")


def write(path, **fields):
    values = dict(seq=3, hash="ab" * 32, keyed_from=1, at="2026-11-27T08:00:00.000000+00:00", key=KEY,
                  key_id="id-1")
    values.update(fields)
    return checkpoints.append(str(path), **values)


@pytest.mark.rule("SEC-1")
def test_appended_lines_read_back_in_order(tmp_path):
    path = tmp_path / "a" / "cp.jsonl"
    assert checkpoints.read(str(path), key=KEY, key_id="id-1") == ([], [])  # no file yet: no checkpoints
    write(path, seq=3)
    write(path, seq=9, keyed_from=None)
    marks, bad = checkpoints.read(str(path), key=KEY, key_id="id-1")
    assert bad == [] and [(m.seq, m.keyed_from, m.line) for m in marks] == [(3, 1, 1), (9, None, 2)]
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.rule("SEC-1")
@pytest.mark.parametrize("damage, problem", [
    (lambda line: line.replace('"seq":3', '"seq":2'), "signature"),
    (lambda line: line.replace('"keyed_from":1', '"keyed_from":null'), "signature"),
    (lambda line: line[: len(line) // 2], "not a checkpoint line"),
    (lambda line: json.dumps({**json.loads(line), "sig": "0" * 64}), "signature"),
])
def test_a_damaged_line_is_named_and_the_rest_still_count(tmp_path, damage, problem):
    path = tmp_path / "cp.jsonl"
    write(path, seq=3)
    write(path, seq=5)
    first, second = path.read_text().splitlines()
    path.write_text(damage(first) + "\n" + second + "\n")
    marks, bad = checkpoints.read(str(path), key=KEY, key_id="id-1")
    assert [m.seq for m in marks] == [5]
    assert [b.line for b in bad] == [1] and problem in bad[0].problem


@pytest.mark.rule("SEC-1")
def test_lines_signed_with_another_key_say_so(tmp_path):
    path = tmp_path / "cp.jsonl"
    write(path, key=derive_key("another key of forty characters, at least", "audit-checkpoint"), key_id="id-2")
    marks, bad = checkpoints.read(str(path), key=KEY, key_id="id-1")
    assert marks == [] and "AUDIT_HMAC_KEY is not the key that wrote it" in bad[0].problem


def test_the_derived_keys_differ_per_use():
    keys = {derive_key("k" * 40, use) for use in ("audit-chain", "audit-checkpoint", "ledger-transfer", "key-id")}
    assert len(keys) == 4


@pytest.mark.parametrize("length", [16, 32, 64, 65, 200])
def test_the_ledgers_precomputed_hmac_is_hmac_sha256(length):
    key = bytes(range(256))[:length] if length <= 256 else b"x" * length
    for message in (b"", b"ledger-transfer/1|1:a", bytes(300)):
        assert Hmac(key).hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


@pytest.mark.rule("SEC-1")
def test_the_key_comes_from_the_environment_or_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("AUDIT_HMAC_KEY", raising=False)
    generated = Config().AUDIT_HMAC_KEY
    assert len(generated) >= 32 and Config().AUDIT_HMAC_KEY == generated
    assert (tmp_path / "audit_hmac_key").read_text().strip() == generated
    monkeypatch.setenv("AUDIT_HMAC_KEY", "e" * 48)
    assert Config().AUDIT_HMAC_KEY == "e" * 48


def test_a_short_key_is_refused():
    from loyalty.audit import service
    with pytest.raises(ValueError, match="at least 32"):
        service.configure("too-short")
