"""The formats of the audit chain (SEC-1): its keys, an event's seal (mac), its link (hash) and
the head's MAC. loyalty/audit/service.py writes, chains and verifies with them."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from loyalty.canonical import canonical_json

GENESIS = "0" * 64


@dataclass
class Settings:
    """Configured once by the app factory (`configure`); never read from the database."""
    chain_key: bytes | None = None
    checkpoint_key: bytes | None = None
    key_id: str | None = None
    checkpoint_path: str | None = None
    event_key: bytes | None = None


settings = Settings()


def derive_key(master: str | bytes, purpose: str) -> bytes:
    """One key per use from AUDIT_HMAC_KEY (chain, checkpoints, ledger digests)."""
    master = master.encode() if isinstance(master, str) else master
    return hmac.new(master, f"loyalty/{purpose}".encode(), hashlib.sha256).digest()


def configure(master_key: str | bytes, checkpoint_path: str | None = None) -> None:
    if not master_key or len(master_key) < 32:
        raise ValueError("AUDIT_HMAC_KEY must be at least 32 characters")
    settings.chain_key = derive_key(master_key, "audit-chain")
    settings.checkpoint_key = derive_key(master_key, "audit-checkpoint")
    settings.event_key = derive_key(master_key, "audit-event")
    settings.key_id = derive_key(master_key, "key-id").hex()[:12]
    settings.checkpoint_path = checkpoint_path or None


def _chain_key() -> bytes:
    if settings.chain_key is None:
        raise RuntimeError("the audit HMAC key is not configured (loyalty.audit.service.configure)")
    return settings.chain_key


def _iso(at: datetime | str) -> str:
    """An event's time as its hashes cover it; verify may read it already in that form (PostgreSQL)."""
    return at if isinstance(at, str) else at.isoformat(timespec="microseconds")


def _canonical(event: Any) -> bytes:
    body = {
        "seq": event.seq, "at": _iso(event.at),
        "actor_id": event.actor_id, "actor": event.actor, "entity": event.entity,
        "entity_id": event.entity_id, "action": event.action,
        "before": event.before, "after": event.after, "prev_hash": event.prev_hash,
    }
    return canonical_json(body).encode()


def _sealed(event: Any) -> bytes:
    """What an event's mac covers: its content and its id (so a copy under another id fails)."""
    body = {
        "v": 2, "id": event.id, "at": _iso(event.at),
        "actor_id": event.actor_id, "actor": event.actor, "entity": event.entity,
        "entity_id": event.entity_id, "action": event.action, "before": event.before, "after": event.after,
    }
    return canonical_json(body).encode()


def _event_mac(event: Any) -> str:
    if settings.event_key is None:
        raise RuntimeError("the audit HMAC key is not configured (loyalty.audit.service.configure)")
    return hmac.digest(settings.event_key, _sealed(event), "sha256").hex()


def _link(seq: int, prev_hash: str, mac: str) -> str:
    """The hash of a sealed event in the chain: the key's HMAC over its place and its seal."""
    return hmac.digest(_chain_key(), f'["audit-link",{seq},"{prev_hash}","{mac}"]'.encode(), "sha256").hex()


def _digest(event: Any, keyed: bool = True) -> str:
    """The hash the event must carry: for a sealed event (mac set), its link; for one written
    before 0011c, the HMAC-SHA256 under the chain key of all its fields, or, for one written
    before the key existed, their plain SHA-256."""
    mac = getattr(event, "mac", None)
    if mac is not None:
        return _link(event.seq, event.prev_hash, mac)
    if keyed:
        return hmac.new(_chain_key(), _canonical(event), hashlib.sha256).hexdigest()
    return hashlib.sha256(_canonical(event)).hexdigest()


def _head_mac(seq: int, head_hash: str, keyed_from: int | None) -> str:
    message = json.dumps(["audit-head", seq, head_hash, keyed_from], separators=(",", ":")).encode()
    return hmac.new(_chain_key(), message, hashlib.sha256).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
