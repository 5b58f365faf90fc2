"""Column types shared by every package."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

try:
    from json.encoder import c_make_encoder
    from json.encoder import encode_basestring as json_string  # a JSON string, as ensure_ascii=False writes it
except ImportError:  # pragma: no cover - CPython always has the C encoder
    c_make_encoder = None
    json_string = json.encoder.py_encode_basestring


def _no_default(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


if c_make_encoder is not None:
    # json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":")) builds this encoder anew on
    # every call; building it once halves the cost of a small value's canonical text
    _ENCODER = c_make_encoder(None, _no_default, json_string, None, ":", ",", True, False, True)

    def canonical_json(value: Any) -> str:
        """The one JSON text of a value: keys sorted, no spaces, non-ASCII as is. The engine writes
        every JSON column with it (config.SQLALCHEMY_ENGINE_OPTIONS), and the audit seal covers it,
        so `flask audit verify` can use a column's stored text as it is (loyalty/audit/walking.py)."""
        return "".join(_ENCODER(value, 0))
else:  # pragma: no cover
    canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC instant on SQLite and PostgreSQL alike.

    SQLite has no timezone type; we store naive UTC there and hand back aware
    datetimes, so code never compares naive with aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use loyalty.clock.now() or an aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
