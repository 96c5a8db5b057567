"""The one way the service connects to Redis: a plain URL, or Sentinels that name the primary.

`REDIS_URL` is either what redis-py reads (`redis://`, `rediss://`, `unix://`) or
`redis+sentinel://[:password@]host:port[,host:port...]/<service name>[/<db>]`. With
Sentinels every connection asks them for the current primary when it (re)connects,
so a failover is followed by reconnecting: a connection to a primary that died fails,
one to a primary demoted to a replica is dropped (its READONLY answer, or the
UNBLOCKED one of a blocked read, becomes a ConnectionError in redis-py's Sentinel
client), and the next attempt goes to the primary the Sentinels elected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import EqualJitterBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

SENTINEL_SCHEME = "redis+sentinel"

# What a failover looks like to a client: the old primary gone (refused, reset) or
# demoted (READONLY). Worth trying again on another connection; anything else is not.
FAILOVER_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.ReadOnlyError)



# Replies that refuse any write for now, whatever it was: UNBLOCKED (a primary turning
# replica wakes a blocked XREAD or XREADGROUP with it), NOREPLICAS (a primary with
# `min-replicas-to-write` and too few replicas: after a failover with one replica, until
# the old primary rejoins), MISCONF (a primary that cannot write its disk).
_REFUSALS = ("UNBLOCKED", "NOREPLICAS", "MISCONF")


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the primary is unreachable, changing or refusing every
    write for now: wait, reconnect, go on; never the fault of what was being written.

    Besides a lost connection or a timeout: READONLY (a demoted primary) and the
    replies in _REFUSALS.
    """
    if isinstance(exc, redis.ResponseError) and str(exc).startswith(_REFUSALS):
        return True
    return isinstance(exc, (*FAILOVER_ERRORS, redis.TimeoutError, OSError))


# Asking a Sentinel is quick or hopeless: a dead one must not hold a reconnect for long.
_SENTINEL_TIMEOUT_S = 0.5


class _Sentinels(Sentinel):
    """redis-py's Sentinel, asking every Sentinel in turn and, when none names a primary,
    saying why in a sentence an operator can act on.

    redis-py's own discovery gives up at the first address that answers something other
    than Redis (another server on that port), though a later Sentinel would name the
    primary; and its error is the repr of each Sentinel's client, hundreds of
    characters that name neither the service nor what to fix.
    """

    def discover_master(self, service_name: str) -> tuple[str, int]:
        problems = []
        for index, sentinel in enumerate(self.sentinels):
            kwargs = sentinel.connection_pool.connection_kwargs
            where = f"{kwargs.get('host')}:{kwargs.get('port')}"
            try:
                masters = sentinel.sentinel_masters()
            except redis.ResponseError as exc:  # a Redis that is not a Sentinel, say
                problems.append(f"{where} refused SENTINEL MASTERS ({exc})")
                continue
            except redis.InvalidResponse:
                problems.append(f"{where} is not a Sentinel (it does not speak Redis)")
                continue
            except (redis.RedisError, OSError) as exc:
                problems.append(f"{where} did not answer ({exc})")
                continue
            state = masters.get(service_name)
            if state is None:
                problems.append(f"{where} does not monitor a service named {service_name!r}")
            elif not self.check_master_state(state, service_name):
                problems.append(f"{where} sees the primary of {service_name!r} down "
                                "(a failover under way, or it cannot reach or log in to "
                                "it: with a password, `sentinel auth-pass`)")
            else:
                # the Sentinel that answered is asked first next time
                self.sentinels[0], self.sentinels[index] = sentinel, self.sentinels[0]
                return state["ip"], state["port"]
        raise MasterNotFoundError(
            f"no Sentinel named the primary of {service_name!r}: {'; '.join(problems)}. "
            "Check REDIS_URL (redis+sentinel://host:port[,host:port...]/<service name>, "
            "the name of `sentinel monitor`) and that the Sentinels run.")


@dataclass(frozen=True)
class SentinelURL:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    password: str | None = None


def is_sentinel(url: str) -> bool:
    """Whether the URL names Sentinels rather than one server."""
    return url.lower().startswith(SENTINEL_SCHEME + "://")


def parse_sentinel_url(url: str) -> SentinelURL:
    """The Sentinels, service name, database and password of a `redis+sentinel://` URL.

    Raises ValueError saying what is wrong, so a bad REDIS_URL fails at start.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL")
    # netloc: [user[:password]@]host:port[,host:port...]; urlsplit's own .port fails on lists
    auth, _, hosts = parts.netloc.rpartition("@")
    user, _, secret = auth.partition(":")
    if user:  # it would be dropped, and the password tried as the default user's
        raise ValueError("a user name is not supported: write redis+sentinel://:password@...")
    if parts.query or parts.fragment:  # they would be dropped as silently
        raise ValueError("no options (?... or #...) are read from a Sentinel URL")
    password = unquote(secret) if auth else None
    sentinels = []
    for item in filter(None, hosts.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item!r} is not host:port (a Sentinel's address)")
        sentinels.append((host.strip("[]"), int(port)))
    if not sentinels:
        raise ValueError("no Sentinel address (host:port[,host:port...])")
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("the path must be /<service name>[/<db>]")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"database {path[1]!r} is not a number")
    return SentinelURL(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0,
                       password or None)


def check_url(url: str) -> None:
    """Raise ValueError if the URL cannot be used (a Sentinel URL is parsed in full)."""
    if is_sentinel(url):
        parse_sentinel_url(url)
        return
    try:
        redis.connection.parse_url(url)
    except ValueError as exc:
        hint = ", or redis+sentinel:// for Sentinels" if "scheme" in str(exc) else ""
        raise ValueError(f"{exc}{hint}") from None


# Connections one client keeps to Redis at most. A caller past them waits for one (up to
# the client's timeout) instead of failing: thousands of screens saying hello at once,
# after a node restarts, queue for a moment, and a chair's command among them is answered
# (redis-py's own pool refuses with "Too many connections" past 100). It also bounds what
# one process opens on Redis, whose clients are limited too (`maxclients`).
POOL_SIZE = 50


class _SentinelBlockingPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """redis-py's Sentinel pool (its connections go to the primary the Sentinels name)
    bounded as `BlockingConnectionPool` bounds a plain one: callers past it wait."""


def client(
    url: str,
    *,
    timeout: float,
    connect_timeout: float = 2.0,
    retries: int = 0,
    health_check_interval: int = 0,
) -> redis.Redis:
    """A client of the current primary; every connection of the service is made here.

    `retries` retries a command on a failover error after a jittered pause (up to
    0.2 s) on a new connection, hence to the primary the Sentinels name by then;
    long-running loops (the tail, the workers) pass 0 and wait with a back-off of
    their own. `timeout` must outlast the longest blocking command the caller sends
    (XREAD BLOCK, WAIT).
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": connect_timeout,
        "retry": Retry(EqualJitterBackoff(cap=0.2, base=0.02), retries,
                       supported_errors=FAILOVER_ERRORS),
        "health_check_interval": health_check_interval,
    }
    pool: dict[str, Any] = {"max_connections": POOL_SIZE, "timeout": timeout}
    if not is_sentinel(url):
        plain = redis.Redis(
            connection_pool=redis.BlockingConnectionPool.from_url(url, **pool, **options))
        # as from_url sets it: close() closes the pool (not in types-redis)
        plain.auto_close_connection_pool = True  # type: ignore[attr-defined]
        return plain
    found = parse_sentinel_url(url)
    sentinel = _Sentinels(
        list(found.sentinels),
        sentinel_kwargs={"socket_timeout": _SENTINEL_TIMEOUT_S,
                         "socket_connect_timeout": _SENTINEL_TIMEOUT_S},
        **options,
    )
    primary: redis.Redis = sentinel.master_for(
        found.service, redis_class=redis.Redis, connection_pool_class=_SentinelBlockingPool,
        db=found.db, password=found.password, **pool)
    return primary
