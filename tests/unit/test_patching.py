"""The entry points' patches: the stack's unused imports wait for a first use, and then work."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

# Run in a fresh interpreter: the entry point's patches apply to a whole process.
PROBE = """
import sys
import dashboard.cli  # the entry point: its patches come first
from dashboard import create_app, extensions, eventlog, relay, server
from dashboard.web import api, sockets

heavy = ("urllib3", "charset_normalizer", "redis.asyncio.client", "valkey.asyncio.client")
print("imported before use:", [m for m in heavy if m in sys.modules])

import redis.asyncio
import requests
from socketio import async_redis_manager

assert redis.asyncio.Redis.__module__ == "redis.asyncio.client"
assert async_redis_manager.aioredis.Redis is redis.asyncio.Redis  # bound before the import
assert callable(requests.Session().get) and "urllib3" in sys.modules
print("used: ok")
"""


def test_the_stacks_unused_imports_wait_for_their_first_use() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["imported before use: []", "used: ok"]
