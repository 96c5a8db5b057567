"""Typed domain errors with stable machine codes (translated to HTTP/acks by the adapters)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command: a stable `code`, a human `message` and, when known, the `field`."""

    status: int = 400

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """The `error` body of an HTTP answer or Socket.IO ack."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, field={self.field!r})"


class Invalid(DomainError):
    """The command is malformed: unknown type, missing, ill-typed or oversized field (422)."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("invalid", message, field)


class Forbidden(DomainError):
    """The caller may not do this (403)."""

    status = 403

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("forbidden", message, field)


class RateLimited(DomainError):
    """The sender is over its allowance of commands; `retry_after` seconds to wait (429)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate_limited", message)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The error body, with `retry_after`."""
        return {**super().to_dict(), "retry_after": self.retry_after}


class NotFound(DomainError):
    """A room, sitting, delegation, entry or announcement that does not exist (404)."""

    status = 404

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("not_found", message, field)


class Conflict(DomainError):
    """The command is well formed but the current state does not allow it (409)."""

    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("conflict", message, field)


class Stale(DomainError):
    """The room changed since the version the client saw (409 `stale`)."""

    status = 409

    def __init__(self, message: str, field: str | None = "expected_version") -> None:
        super().__init__("stale", message, field)


class CommandIdReused(DomainError):
    """The sender's command id was answered before for another body (409 `command_id_reused`)."""

    status = 409

    def __init__(self, message: str, field: str | None = "command_id") -> None:
        super().__init__("command_id_reused", message, field)


class TooMany(DomainError):
    """A bound of the live state is reached: announcements or a queue (409 `too_many`)."""

    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("too_many", message, field)


class ProgrammeError(ValueError):
    """A programme file that cannot be loaded; the message names the file, the place and why."""

    def __init__(self, path: str, place: str, reason: str) -> None:
        super().__init__(f"{path}: {place}: {reason}")
        self.path = path
        self.place = place
        self.reason = reason
