"""The one JSON text of a value (issue 16, SEC-1). Plumbing: imports nothing but the standard library,
so the audit walk's worker processes start quickly."""
from __future__ import annotations

import json
from typing import Any

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
