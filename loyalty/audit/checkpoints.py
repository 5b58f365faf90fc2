"""Signed checkpoints of the audit chain's head, kept outside the database (SEC-1).

One JSON object per line, appended and never rewritten:

    {"at": "2026-11-26T08:00:00.000000+00:00", "hash": "9f2c…", "key_id": "4b1e…", "keyed_from": 1,
     "seq": 8123, "sig": "…", "v": 1}

`sig` is the HMAC-SHA256, under a key derived from AUDIT_HMAC_KEY, of the line without
`sig`. Someone who can write the database but not this file (nor read the key) cannot
make a chain that still reaches the last checkpoint with the same hash, so a deleted tail
or a chain rebuilt from scratch shows up in `flask audit verify`.
"""
from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from loyalty.canonical import canonical_json

VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    keyed_from: int | None
    at: str
    line: int = 0  # where it was read from (1-based); 0 for one not read from a file


@dataclass(frozen=True)
class BadLine:
    line: int
    seq: int | None
    problem: str


def _canonical(body: dict) -> bytes:
    return canonical_json(body).encode()


def _signature(body: dict, key: bytes) -> str:
    return hmac.new(key, _canonical({k: v for k, v in body.items() if k != "sig"}), sha256).hexdigest()


def append(path: str, *, seq: int, hash: str, keyed_from: int | None, at: str, key: bytes,
           key_id: str) -> Checkpoint:
    """Append one signed line; a single write() on an O_APPEND descriptor, so two writers
    never interleave inside a line."""
    body = {"v": VERSION, "seq": seq, "hash": hash, "keyed_from": keyed_from, "at": at, "key_id": key_id}
    body["sig"] = _signature(body, key)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, _canonical(body) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(seq, hash, keyed_from, at)


def read(path: str, *, key: bytes, key_id: str) -> tuple[list[Checkpoint], list[BadLine]]:
    """The valid checkpoints in file order, and every line that is not one (edited, cut,
    or signed with another key). A file not written yet holds none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    marks: list[Checkpoint] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            body = json.loads(raw)
            seq, digest, keyed_from, at = body["seq"], body["hash"], body["keyed_from"], body["at"]
            if not isinstance(seq, int) or not isinstance(digest, str) or body.get("v") != VERSION:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            bad.append(BadLine(number, None, "not a checkpoint line (cut or edited)"))
            continue
        if body.get("key_id") != key_id:
            bad.append(BadLine(number, seq, f"signed with key {body.get('key_id')!r}, but this process holds "
                                            f"key {key_id!r}: AUDIT_HMAC_KEY is not the key that wrote it"))
        elif not hmac.compare_digest(str(body.get("sig", "")), _signature(body, key)):
            bad.append(BadLine(number, seq, "its signature does not match (the line was edited)"))
        else:
            marks.append(Checkpoint(seq, digest, keyed_from, at, number))
    return marks, bad
