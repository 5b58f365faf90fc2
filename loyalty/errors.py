"""Domain errors: a machine code, a human message and per-field messages.

Services raise these; one handler in app.py turns them into the SPEC's body
`{"code", "message", "fields"}` with the status below.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 422
    code = "invalid"
    message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: dict[str, list[str]] | None = None, status: int | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields or {}
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    status, code, message = 422, "validation_error", "Some fields are not valid."


class RuleViolation(DomainError):
    """A business rule refuses the request (422 with a specific code)."""
    status, code = 422, "rule_violation"


class NotFound(DomainError):
    status, code, message = 404, "not_found", "Not found."


class Unauthorized(DomainError):
    status, code, message = 401, "unauthorized", "Authentication required."


class Forbidden(DomainError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class Conflict(DomainError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


def field_error(field: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(fields={field: [message]}, code=code)
