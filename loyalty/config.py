"""Settings from the environment."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from loyalty.canonical import canonical_json


def _instance_dir() -> Path:
    path = Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path, name: str = "SECRET_KEY") -> str:
    """A key from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get(name):
        return os.environ[name]
    key_file = instance / name.lower()
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    def __init__(self) -> None:
        instance = _instance_dir()
        self.INSTANCE_PATH = str(instance)
        self.SECRET_KEY = _secret_key(instance)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'loyalty.sqlite3'}"
        )
        # No ping before every checkout (a round trip per request, issue 16): connections are
        # recycled after DB_POOL_RECYCLE seconds and a dropped one fails one request, which the
        # clients retry; DB_POOL_PRE_PING=1 brings the ping back where connections die silently.
        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {
            "pool_pre_ping": os.environ.get("DB_POOL_PRE_PING", "0") == "1",
            "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
            # every JSON column holds its value's canonical text, which the audit seal covers
            "json_serializer": canonical_json}
        # Keyed hash of national IDs: its own key if given, else derived from SECRET_KEY.
        self.PII_HASH_KEY = os.environ.get("PII_HASH_KEY") or self.SECRET_KEY
        # SEC-1: the HMAC key of the audit chain, its checkpoints and the ledger's transfer digests
        # (never stored in the database), and the append-only checkpoint file outside it.
        self.AUDIT_HMAC_KEY = _secret_key(instance, "AUDIT_HMAC_KEY")
        self.AUDIT_CHECKPOINT_PATH = os.environ.get("AUDIT_CHECKPOINT_PATH") or str(instance / "audit_checkpoints.jsonl")
        self.AUDIT_CHECKPOINT_SECONDS = int(os.environ.get("AUDIT_CHECKPOINT_SECONDS", "600"))
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.LANGUAGES = ["zh_CN", "en"]
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.PERMANENT_SESSION_LIFETIME = 12 * 3600
        self.TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "12"))
        # The login rate limit counts in RATELIMIT_STORAGE_URI: memory:// counts per process;
        # redis://host:6379 shares the count between gunicorn workers and hosts.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "loyalty")  # several apps, one Redis
        if self.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://", "redis+")):
            # A Redis that does not answer must cost a login half a second, not a hang.
            self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        # Our choice when the shared storage is down: fail OPEN to per-process counting. Logins
        # go on (the showroom keeps working), each worker still limits on its own, and the
        # limiter logs "Rate limit storage unreachable - falling back to in-memory storage"
        # (it goes back to the shared storage when it answers again). Any other storage error
        # is logged and the request let through rather than answered 500.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
        # Payout exports (issue 16): larger than EXPORT_DIRECT_MAX_ROWS rows, a background job writes the
        # CSV into EXPORT_DIR, polled every EXPORT_POLL_SECONDS; files are removed after EXPORT_KEEP_DAYS.
        self.EXPORT_DIRECT_MAX_ROWS = int(os.environ.get("EXPORT_DIRECT_MAX_ROWS", "20000"))
        self.EXPORT_DIR = os.environ.get("EXPORT_DIR") or str(instance / "exports")
        self.EXPORT_KEEP_DAYS = int(os.environ.get("EXPORT_KEEP_DAYS", "7"))
        self.EXPORT_POLL_SECONDS = int(os.environ.get("EXPORT_POLL_SECONDS", "5"))
        self.EXPORT_STALE_SECONDS = int(os.environ.get("EXPORT_STALE_SECONDS", "300"))
        self.SCHEDULER_EMBEDDED = os.environ.get("SCHEDULER_EMBEDDED", "0") == "1"
        self.DEFAULT_PHONE_REGION = "CN"
        # flask-smorest / OpenAPI
        self.API_TITLE = "Dealer referral & loyalty API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.JSON_AS_ASCII = False


class TestConfig(Config):
    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        self.TESTING = True
        if database_url:
            self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.WTF_CSRF_ENABLED = True
        self.RATELIMIT_ENABLED = True
        self.LOGIN_RATE_LIMIT = "1000 per minute"
        self.TOKEN_TTL_HOURS = 24 * 3650  # tests travel in time; expiry tests set their own
        self.AUDIT_HMAC_KEY = "test-audit-hmac-key-not-for-production-0123456789"
        self.AUDIT_CHECKPOINT_PATH = None  # a test that checkpoints names its own file
