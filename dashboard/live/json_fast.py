"""A `json`-like module on orjson, for Socket.IO packets (encoded once per room change)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(obj: Any, **_kwargs: Any) -> str:
    """Serialise to a str, as the json module does."""
    return orjson.dumps(obj).decode()


def loads(data: str | bytes, **_kwargs: Any) -> Any:
    """Parse JSON text."""
    return orjson.loads(data)
