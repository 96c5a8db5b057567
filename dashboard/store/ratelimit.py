"""One rate limit per access link for commands, over HTTP and Socket.IO, across every node.

The count lives in the deployment's Redis (the `limits` library's moving window),
so a link cannot double its allowance by spreading its commands over two nodes.
The scheduler's own commands have a separate, larger allowance.
"""

from __future__ import annotations

import math
import time

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from dashboard.domain.errors import RateLimited
from dashboard.domain.roles import Role


class CommandLimiter:
    """Counts each principal's commands in a one-second moving window kept in Redis."""

    def __init__(self, client: redis.Redis, key_prefix: str, rate: int, system_rate: int) -> None:
        storage = RedisStorage("redis://", connection_pool=client.connection_pool,
                               key_prefix=key_prefix)
        self.limiter = MovingWindowRateLimiter(storage)
        self.rate = RateLimitItemPerSecond(rate, 1)
        self.system_rate = RateLimitItemPerSecond(system_rate, 1)

    def spend(self, role: str, room: str, generation: int) -> None:
        """Count one command of a link (its role, room and generation); RateLimited past
        its allowance."""
        item = self.system_rate if role == Role.SYSTEM else self.rate
        who = f"{role}:{room}:{generation}"
        if self.limiter.hit(item, who):
            return
        reset, _remaining = self.limiter.get_window_stats(item, who)
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"more than {item.amount} commands a second from this access link; "
                          f"wait {wait} s", retry_after=wait)
