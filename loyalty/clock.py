"""The one source of time. Stored times are timezone-aware UTC; tests move it with time-machine."""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
