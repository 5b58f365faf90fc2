"""The settings service functions read (ARCHITECTURE example 15): one object, filled once from
the app's config by the composition root (`configure(app.config)` in create_app), so no service
reads `current_app.config` and a service is callable outside a request.

    from loyalty.settings import settings
    identity.normalise_phone(raw, settings.phone_region)

Like the ledger's and the audit chain's keys, it is set per process: every app in one process
shares it (the test suite's apps share one configuration).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass
class Settings:
    phone_region: str = "CN"  # DEFAULT_PHONE_REGION: how a phone written without +86 is read
    pii_hash_key: str | None = None  # PII_HASH_KEY: keys the hash of national ID numbers
    # payout exports (issue 16): above this many rows an export is a background job (EXPORT_DIRECT_MAX_ROWS)
    export_direct_max_rows: int = 20_000
    export_dir: str | None = None  # EXPORT_DIR: where the jobs write their files (default instance/exports)
    export_keep_days: int = 7  # EXPORT_KEEP_DAYS: a finished export's file is removed after this many days
    export_stale_seconds: int = 300  # a running export silent this long died with its process: requeued

    def pii_key(self) -> str:
        if not self.pii_hash_key:
            raise RuntimeError("PII_HASH_KEY is not configured (loyalty.settings.configure)")
        return self.pii_hash_key


settings = Settings()


def configure(config: Mapping[str, Any]) -> Settings:
    """Take the services' settings from a Flask config (or any mapping of the same keys)."""
    settings.phone_region = config.get("DEFAULT_PHONE_REGION", "CN")
    settings.pii_hash_key = config.get("PII_HASH_KEY")
    settings.export_direct_max_rows = int(config.get("EXPORT_DIRECT_MAX_ROWS", 20_000))
    settings.export_dir = config.get("EXPORT_DIR")
    settings.export_keep_days = int(config.get("EXPORT_KEEP_DAYS", 7))
    settings.export_stale_seconds = int(config.get("EXPORT_STALE_SECONDS", 300))
    return settings
