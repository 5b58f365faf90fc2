"""The largest amounts a person may type or an API caller send: one constant for the web forms,
the API schemas and the services alike, so a page and the API accept the same amounts."""
from __future__ import annotations

# Money columns are 32-bit integers: keep typed amounts well inside them.
MAX_FEN = 1_000_000_000  # ¥10,000,000.00
