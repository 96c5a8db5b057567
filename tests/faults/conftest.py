"""Fixtures of the fault tests: a Redis of the test's own that may be stopped or stalled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import RedisServer


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """redis-server on a free port (AOF, fsync always), for this test alone."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.process is not None:
        server.resume() if server.process.poll() is None else None
        server.kill()
