"""What stops a node at start, said in one line rather than a traceback: `plenary` and the
gunicorn entry point say the same, and what supervises them starts them again."""

from __future__ import annotations

import redis

from dashboard.domain import ProgrammeError
from dashboard.settings import SettingsError


def redis_line(exc: redis.RedisError) -> str:
    """Why Redis could not be used, pointing at REDIS_URL unless the error already does."""
    said = (str(exc) or type(exc).__name__).rstrip(".")
    if "REDIS_URL" not in said:
        said += ". Check REDIS_URL and that the server runs"
    return f"plenary: Redis: {said}"


def refusal(exc: BaseException) -> str | None:
    """The one line for an error that stops a node at start (configuration, programme,
    Redis); None for any other, whose traceback is wanted."""
    if isinstance(exc, SettingsError):
        return f"plenary: configuration: {exc}"
    if isinstance(exc, ProgrammeError):
        return f"plenary: programme: {exc}"
    if isinstance(exc, redis.RedisError):
        return redis_line(exc)
    return None
