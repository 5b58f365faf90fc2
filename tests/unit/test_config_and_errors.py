"""Settings from the environment and the domain error hierarchy (no database, no app)."""
from __future__ import annotations

import pytest

from loyalty import config as config_module
from loyalty import errors
from loyalty.config import Config, normalise_database_url


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@db:5432/loyalty", "postgresql+psycopg://u:p@db:5432/loyalty"),
    ("postgresql://u:p@db/loyalty", "postgresql+psycopg://u:p@db/loyalty"),
    ("postgresql+psycopg://u@db/loyalty", "postgresql+psycopg://u@db/loyalty"),
    ("sqlite:///tmp/x.sqlite3", "sqlite:///tmp/x.sqlite3"),
    ("sqlite://", "sqlite://"),
])
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_normalise_database_url_only_rewrites_the_scheme():
    url = "postgres://user:postgres://odd@host/db"
    assert normalise_database_url(url) == "postgresql+psycopg://user:postgres://odd@host/db"


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEY", "PII_HASH_KEY", "TOKEN_TTL_HOURS", "LOGIN_RATE_LIMIT",
                 "SESSION_COOKIE_SECURE", "SCHEDULER_EMBEDDED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


def test_default_database_is_a_sqlite_file_in_the_instance_folder(env, tmp_path):
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'instance' / 'loyalty.sqlite3'}"
    assert (tmp_path / "instance").is_dir()


def test_database_url_from_environment_is_normalised(env):
    env.setenv("DATABASE_URL", "postgres://u@h/db")
    assert Config().SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_generated_secret_key_is_kept_and_private(env, tmp_path):
    first = Config().SECRET_KEY
    assert len(first) >= 32
    assert Config().SECRET_KEY == first  # the same key on the next start: sessions survive restarts
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_secret_and_pii_keys_from_environment(env):
    env.setenv("SECRET_KEY", "s" * 40)
    config = Config()
    assert config.SECRET_KEY == "s" * 40
    assert config.PII_HASH_KEY == "s" * 40
    env.setenv("PII_HASH_KEY", "p" * 40)
    assert Config().PII_HASH_KEY == "p" * 40


def test_settings_from_environment(env):
    env.setenv("TOKEN_TTL_HOURS", "3")
    env.setenv("LOGIN_RATE_LIMIT", "2 per minute")
    env.setenv("SESSION_COOKIE_SECURE", "1")
    config = Config()
    assert config.TOKEN_TTL_HOURS == 3
    assert config.LOGIN_RATE_LIMIT == "2 per minute"
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY is True


def test_test_config_takes_its_database_url(env):
    config = config_module.TestConfig("postgres://u@h/t")
    assert config.TESTING is True
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/t"


# ---- errors ---------------------------------------------------------------------------

@pytest.mark.rule("SEC-4")
@pytest.mark.parametrize("cls, status, code", [
    (errors.DomainError, 422, "invalid"),
    (errors.ValidationFailed, 422, "validation_error"),
    (errors.RuleViolation, 422, "rule_violation"),
    (errors.NotFound, 404, "not_found"),
    (errors.Unauthorized, 401, "unauthorized"),
    (errors.Forbidden, 403, "forbidden"),
    (errors.Conflict, 409, "conflict"),
])
def test_error_classes_carry_status_and_code(cls, status, code):
    error = cls()
    assert (error.status, error.code) == (status, code)
    assert error.message and str(error) == error.message
    assert error.to_dict() == {"code": code, "message": error.message, "fields": {}}
    assert issubclass(cls, errors.DomainError)


def test_error_overrides_do_not_leak_into_the_class():
    error = errors.Conflict("Phone taken.", code="phone_taken", fields={"phone": ["Already used."]}, status=422)
    assert error.to_dict() == {"code": "phone_taken", "message": "Phone taken.",
                               "fields": {"phone": ["Already used."]}}
    assert error.status == 422
    assert errors.Conflict.status == 409 and errors.Conflict().code == "conflict"
    assert errors.Conflict().fields == {}


def test_field_error_names_the_field():
    error = errors.field_error("national_id", "Not valid.")
    assert isinstance(error, errors.ValidationFailed)
    assert error.status == 422
    assert error.to_dict() == {"code": "validation_error", "message": "Some fields are not valid.",
                               "fields": {"national_id": ["Not valid."]}}
    assert errors.field_error("x", "y", code="late_claim").code == "late_claim"
