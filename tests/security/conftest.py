"""Fixtures of the security tests: fresh apps on keys of their own."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import delete_keys


@pytest.fixture
def fresh_app(settings: Any, redis_url: str, prefix: str) -> Iterator[Callable[[], Any]]:
    """fresh_app() -> a new app on an empty meeting of its own (keys removed afterwards)."""
    from dashboard import create_app

    counter = itertools.count()

    def make() -> Any:
        return create_app(settings.model_copy(update={"key_prefix": f"{prefix}-{next(counter)}"}))

    yield make
    delete_keys(redis_url, f"{prefix}-*")
