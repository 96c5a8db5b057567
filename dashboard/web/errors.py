"""Errors of the web layer and their one translation to HTTP and Socket.IO acks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from dashboard.domain import DomainError
from dashboard.domain.errors import RateLimited


class ApiError(Exception):
    """An error of the web layer itself (authentication, transport, load)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def unauthorized(message: str = "an access token is required") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def unavailable(message: str = "the event store is unreachable; try again shortly") -> ApiError:
    return ApiError(503, "unavailable", message)


# A timed-out append may still be applied when a frozen server wakes up: only a retry
# with the same command_id tells (it is answered with the first result, never twice).
_UNREACHABLE = ("the event store is unreachable; retry shortly (a command: with the same "
                "command_id)")
_TIMED_OUT = ("the event store did not answer in time; the command may have been applied: "
              "retry it with the same command_id")


# A primary with `min-replicas-to-write` refuses any write while too few replicas are
# attached (after a failover with one replica, until the old primary rejoins); Redis
# checks before it runs a command, so nothing was written.
_NO_REPLICAS = ("the event store refuses writes while too few replicas are attached "
                "(min-replicas-to-write); nothing was changed: retry shortly with the same "
                "command_id")


# A server that cannot write its disk (full, or failing) refuses every write with MISCONF
# until it can again; like NOREPLICAS it is checked before a write runs: nothing written.
_DISK_ERROR = ("the event store cannot write to its disk (full, or failing); nothing was "
               "changed: retry with the same command_id once the operator has freed space")


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "rate_limited", 503: "unavailable",
}


def as_error(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, error body) for any exception; unknown ones become a plain 500."""
    if isinstance(exc, ApiError):
        status, code, message, field = exc.status, exc.code, exc.message, exc.field
    elif isinstance(exc, DomainError):
        status, code, message, field = exc.status, exc.code, exc.message, exc.field
    elif isinstance(exc, redis.TimeoutError):  # NotReplicated says what it waited for
        return as_error(unavailable(getattr(exc, "advice", _TIMED_OUT)))
    elif isinstance(exc, redis.ResponseError) and str(exc).startswith("NOREPLICAS"):
        return as_error(unavailable(_NO_REPLICAS))
    elif isinstance(exc, redis.ResponseError) and str(exc).startswith("MISCONF"):
        return as_error(unavailable(_DISK_ERROR))
    elif isinstance(exc, redis.RedisError):  # a command's append may have gone out
        return as_error(unavailable(_UNREACHABLE))
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        message, field = exc.description or exc.name, None
    else:
        status, code, message, field = 500, "internal", "internal error", None
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if isinstance(exc, RateLimited):
        error["retry_after"] = exc.retry_after
    return status, {"error": error}


def headers_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Extra HTTP headers an error answer carries (`Retry-After` for 429)."""
    retry = body.get("error", {}).get("retry_after") if isinstance(body, dict) else None
    return [("Retry-After", str(retry))] if retry is not None else []


def answered(exc: BaseException, path: str, app: Flask | None = None
             ) -> tuple[int, dict[str, Any]]:
    """`as_error`, with a failure of ours (a 500) logged for the operators, traceback and
    all, in the log of `app` (the current app by default)."""
    status, body = as_error(exc)
    if status >= 500 and status != 503:
        (app or current_app).logger.exception("unhandled error on %s", path, exc_info=exc)
    return status, body


def register(app: Flask, refusal_page: Callable[[int], Any] | None = None) -> None:
    """Answer every error as JSON on the API and /metrics (read by machines), and keep
    pages' errors plain; a page refused for want of access (401, 403), or of a room the
    meeting does not have (404), is `refusal_page(status)`."""

    def handle(exc: BaseException) -> Any:
        if not (request.path.startswith("/api/") or request.path == "/metrics"):
            if isinstance(exc, HTTPException):
                return exc
            if refusal_page and isinstance(exc, ApiError) and exc.status in (401, 403, 404):
                return refusal_page(exc.status)
        status, body = answered(exc, request.path)
        return jsonify(body), status, headers_of(body)

    app.register_error_handler(ApiError, handle)
    app.register_error_handler(DomainError, handle)
    app.register_error_handler(redis.RedisError, handle)
    app.register_error_handler(HTTPException, handle)
    app.register_error_handler(Exception, handle)
