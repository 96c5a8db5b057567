"""The fleet: which pages are connected to which web node, and what they show (in Redis).

Every web node writes the pages connected to it and reads everyone's, so the
control room sees the whole deployment from any node. Each page is a hash
`<prefix>:{<meeting>}:fleet:<id>` listed in the sorted set `...:fleet` (score:
its last sign of life); names given by the admin live in `...:screen_names`
and outlive connections and restarts. Every hash expires on its own (a node
that dies leaves nothing behind for long) and the index is pruned when read.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from dashboard.domain.commands import INVISIBLE

log = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "MAX_NAME",
    "Fleet",
    "FleetTimes",
    "Hello",
    "clean_screen_id",
    "screen_number",
    "status_of",
]

# The kinds of page that report themselves; anything else is reported as "other".
KINDS = frozenset({"screen", "overview", "podium", "chyron", "chair", "chair_index", "staff",
                   "admin", "fleet", "delegation", "other"})
MAX_NAME = 80
MAX_USER_AGENT = 200
# What a page may show in: a screen's language (or both), a console's interface language.
LANGS = frozenset({"es", "en", "both"})
MAX_VIEWPORT = 100_000  # pixels on a side; bigger is a lie
MAX_LISTED = 5000  # pages read by one GET /api/screens
# Pages kept at most: past it, those whose last sign of life is oldest are forgotten at
# once, so that links connecting and leaving in a loop cannot grow Redis for the ten
# minutes a gone page is kept. A live page reports every few seconds: never the oldest.
MAX_KEPT = 4 * MAX_LISTED
_SCREEN_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VERSION = re.compile(r"^\d{1,20}-\d{1,20}$")


def clean_screen_id(value: Any) -> str | None:
    """A page's own id as sent (letters, digits, - and _, at most 40), else None."""
    return value if isinstance(value, str) and _SCREEN_ID.match(value) else None


def screen_number(page_id: str) -> int:
    """The large number a page shows when identified (10..99, the same on every node)."""
    return 10 + int(hashlib.sha256(page_id.encode()).hexdigest()[:8], 16) % 90


def _clip(value: Any, size: int) -> str:
    return value[:size] if isinstance(value, str) else ""


def _version(value: Any) -> str:
    return value if isinstance(value, str) and _VERSION.match(value) else ""


@dataclass(frozen=True)
class Hello:
    """What a page says of itself on connecting, bounded and cleaned."""

    kind: str
    screen_id: str | None
    name: str
    lang: str
    viewport: tuple[int, int] | None
    version: str

    @classmethod
    def of(cls, data: Any) -> Hello:
        """The hello of a client's message (anything unreadable is left out)."""
        data = data if isinstance(data, dict) else {}
        kind = data.get("kind")
        viewport = data.get("viewport")
        size: tuple[int, int] | None = None
        if (isinstance(viewport, list) and len(viewport) == 2
                and all(isinstance(v, int) and not isinstance(v, bool)
                        and 0 <= v <= MAX_VIEWPORT for v in viewport)):
            size = (viewport[0], viewport[1])
        return cls(
            kind=kind if isinstance(kind, str) and kind in KINDS else "other",
            screen_id=clean_screen_id(data.get("screen_id")),
            # Without the marks that hide or reverse text, as the admin's names are.
            name=" ".join(INVISIBLE.sub("", _clip(data.get("name"), MAX_NAME)).split()),
            lang=lang if isinstance(lang := data.get("lang"), str) and lang in LANGS else "",
            viewport=size,
            version=_version(data.get("version")),
        )


@dataclass(frozen=True)
class FleetTimes:
    """When a page is behind, silent, and forgotten (seconds)."""

    behind_s: float = 5.0
    silent_s: float = 10.0
    gone_keep_s: float = 600.0


def version_ms(version: str) -> int:
    """The instant (epoch milliseconds) of a stream id; 0 for none."""
    head = version.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def _newer(a: str, b: str) -> bool:
    ta, _, sa = a.partition("-")
    tb, _, sb = b.partition("-")
    return (int(ta or 0), int(sa or 0)) > (int(tb or 0), int(sb or 0))


# How long a state may take to reach a screen, at the most (a broadcast to thousands).
_REACH_S = 0.5


def status_of(entry: dict[str, Any], versions: Sequence[str] | None, now: float,
              times: FleetTimes) -> str:
    """live | behind | silent | gone for one listed page at `now`.

    `versions`: its room's recent versions, oldest first, ending with the room's
    version now (`Meeting.room_versions`).
    """
    last_seen = float(entry.get("last_seen") or 0)
    # Gone, unless it reported since: the same page (one id) open on another socket too,
    # two tabs of one browser say, and the socket that closed was the one its hello named.
    if entry.get("gone_at") and last_seen <= float(entry["gone_at"]):
        return "gone"
    if now - last_seen > times.silent_s:
        return "silent"
    room_version = versions[-1] if versions else None
    shown = entry.get("version_shown") or ""
    if versions and shown and _newer(versions[-1], shown):
        # A version is the stream id of a change: its instant is when the change was
        # made. The page has been behind since the first version newer than the one it
        # shows (the oldest kept, when that one is older than all of them). Pages report
        # every 4-5 s: it is behind only if it has reported since that change reached
        # it and still showed the older version (else it may show a newer one already).
        first = next(v for v in versions if _newer(v, shown))
        out_at = version_ms(first) / 1000
        reached_at = out_at + min(_REACH_S, times.behind_s / 10)
        if now - out_at > times.behind_s and last_seen > reached_at:
            return "behind"
    elif room_version and not shown and now - float(entry.get("connected_at") or 0) > \
            times.behind_s and room_version != "0-0":
        return "behind"
    return "live"


# Mark a page gone only if its entry is still that of the socket that closed.
_GONE = """
if redis.call('HGET', KEYS[1], 'conn') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'gone_at', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 0
"""


class Fleet:
    """The registry of connected pages, shared by every web node through Redis."""

    def __init__(self, client: redis.Redis, tag: str, node: str,
                 times: FleetTimes | None = None) -> None:
        self.redis = client
        self.tag = tag
        self.node = node[:64]
        self.times = times or FleetTimes()
        self.index = f"{tag}:fleet"  # page id -> when it was last heard from
        self.names = f"{tag}:screen_names"
        self.shown = f"{tag}:fleet_shown"  # page id -> the version it last said it shows
        self.local = 0  # pages listed by this node's sockets (bounded by the settings)
        # page id -> (when, the version it shows or None): heartbeats not yet written
        self.pending: dict[str, tuple[float, str | None]] = {}
        self.kept_until: dict[str, float] = {}  # page id -> when its hash's TTL runs short
        self._gone = client.register_script(_GONE)

    def key(self, page_id: str) -> str:
        """The hash of one page."""
        return f"{self.tag}:fleet:{page_id}"

    @property
    def _ttl(self) -> int:
        # A page not heard from is listed silent, then kept as long as a gone one.
        return int(self.times.silent_s + self.times.gone_keep_s) + 1

    def name_of(self, page_id: str) -> str:
        """The name the admin gave a page ("" when none)."""
        name = self.redis.hget(self.names, page_id)
        return name.decode() if isinstance(name, bytes) else (name or "")

    def rename(self, page_id: str, name: str) -> None:
        """Keep the admin's name of a page (across reloads and restarts)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.names, page_id, name[:MAX_NAME])
        self._set(pipe, page_id, "name", name[:MAX_NAME])
        pipe.execute()

    def moved(self, page_id: str, room: str) -> None:
        """A listed page subscribed to `room`."""
        pipe = self.redis.pipeline(transaction=False)
        self._set(pipe, page_id, "room", room[:64])
        pipe.execute()

    def _set(self, pipe: Any, page_id: str, field: str, value: str) -> None:
        # The page's hash may have expired meanwhile: one written anew expires too.
        pipe.hset(self.key(page_id), field, value)
        pipe.expire(self.key(page_id), self._ttl, nx=True)

    def connected(self, page_id: str, conn: str, hello: Hello, room: str,
                  user_agent: str, access: str = "") -> str:
        """Record a page that said hello on this node (`conn`: its socket; `access`: the
        room its link may read, "*" for every room); answer its name."""
        now = time.time()
        name = self.name_of(page_id) or hello.name
        fields: dict[str | bytes, str] = {
            "id": page_id, "kind": hello.kind, "node": self.node, "room": room[:64],
            "lang": hello.lang, "name": name,
            "viewport": f"{hello.viewport[0]}x{hello.viewport[1]}" if hello.viewport else "",
            "connected_at": repr(now), "last_seen": repr(now),
            "version_shown": hello.version, "user_agent": user_agent[:MAX_USER_AGENT],
            "gone_at": "", "conn": conn[:100], "access": access[:64],
        }
        self.pending.pop(page_id, None)
        self.kept_until[page_id] = now + self._ttl / 2
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.key(page_id))
        pipe.hset(self.key(page_id), mapping=fields)
        if hello.version:
            pipe.hset(self.shown, page_id, hello.version)
        else:
            pipe.hdel(self.shown, page_id)
        pipe.expire(self.key(page_id), self._ttl)
        pipe.zadd(self.index, {page_id: now})
        pipe.zcard(self.index)
        kept = pipe.execute()[-1]
        if kept > MAX_KEPT:
            self._forget_oldest(kept - MAX_KEPT)
        return name

    def _forget_oldest(self, count: int) -> None:
        oldest = self.redis.zrange(self.index, 0, count - 1)
        if oldest:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrem(self.index, *oldest)
            pipe.hdel(self.shown, *oldest)
            pipe.delete(*(self.key(i.decode() if isinstance(i, bytes) else i) for i in oldest))
            pipe.execute()

    def may_show(self, page_id: str, room: str) -> bool:
        """Whether a listed page's link may open `room` (a page not listed, or listed
        without its access, is not refused: nothing tells otherwise)."""
        access = self.redis.hget(self.key(page_id), "access")
        scope = access.decode() if isinstance(access, bytes) else (access or "")
        return scope in ("", "*", room)

    def seen(self, page_id: str, version: str | None) -> None:
        """A page's heartbeat, with the version it shows now (None: unchanged): kept until
        the next `flush`, which writes every page's at once."""
        if version is None and page_id in self.pending:
            version = self.pending[page_id][1]
        self.pending[page_id] = (time.time(), version)

    @property
    def flush_every_s(self) -> float:
        """How often `flush` must run: well within the times that make a page behind or
        silent, so that a heartbeat is written before its page would be listed so."""
        return min(1.0, self.times.behind_s / 2, self.times.silent_s / 4)

    def flush(self) -> int:
        """Write the heartbeats noted since the last flush, in one round trip; how many.

        Thousands of screens each report every few seconds: one write per report
        would cost a round trip to Redis each, and one command per page a while of
        the event loop to pack them. The instants go into the index in one ZADD, the
        versions into one hash in one HSET; a page's own hash has its TTL renewed
        only when half of it has run out.
        """
        pending, self.pending = self.pending, {}
        if not pending:
            return 0
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.index, {page_id: at for page_id, (at, _) in pending.items()})
        versions = {page_id: v for page_id, (_, v) in pending.items() if v}
        if versions:
            pipe.hset(self.shown, mapping=versions)  # type: ignore[arg-type]
        for page_id in pending:
            if self.kept_until.get(page_id, 0.0) <= now:
                self.kept_until[page_id] = now + self._ttl / 2
                pipe.expire(self.key(page_id), self._ttl)
        pipe.execute()
        return len(pending)

    def run_flusher(self, sleep: Callable[[float], object],
                    running: Callable[[], bool] = lambda: True) -> None:
        """Flush the heartbeats every `flush_every_s` (a background task of each web node)."""
        while running():
            sleep(self.flush_every_s)
            try:
                self.flush()
            except redis.RedisError as exc:  # the listing misses them; the next ones come
                log.warning("could not write the fleet's heartbeats: %s", exc)

    def disconnected(self, page_id: str, conn: str) -> None:
        """The page's socket `conn` closed: listed as gone, then forgotten (unless the page
        is back already on another socket, which the entry names)."""
        self.pending.pop(page_id, None)
        self.kept_until.pop(page_id, None)
        self._gone(keys=[self.key(page_id)],
                   args=[conn[:100], repr(time.time()), int(self.times.gone_keep_s) + 1])

    def entries(self) -> list[dict[str, Any]]:
        """Every listed page as stored (pages forgotten are pruned from the index)."""
        forget_before = time.time() - self._ttl
        forgotten = self.redis.zrangebyscore(self.index, "-inf", forget_before)
        if forgotten:
            self.redis.zrem(self.index, *forgotten)
            self.redis.hdel(self.shown, *forgotten)
        seen = self.redis.zrevrange(self.index, 0, MAX_LISTED - 1, withscores=True)
        ids = [i.decode() if isinstance(i, bytes) else i for i, _ in seen]
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for page_id in ids:
            pipe.hgetall(self.key(page_id))
        pipe.hmget(self.shown, ids)
        replies = pipe.execute()
        shown = replies.pop()
        out: list[dict[str, Any]] = []
        missing: list[str] = []
        for page_id, (_, at), raw, version in zip(ids, seen, replies, shown, strict=True):
            if not raw:
                missing.append(page_id)
                continue
            entry = {(k.decode() if isinstance(k, bytes) else k):
                     (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}
            # The heartbeats' instant and version, written apart from the page's hash.
            entry["last_seen"] = repr(max(float(entry.get("last_seen") or 0), float(at)))
            if version:
                entry["version_shown"] = version.decode() if isinstance(version, bytes) \
                    else version
            out.append(entry)
        if missing:
            self.redis.zrem(self.index, *missing)
            self.redis.hdel(self.shown, *missing)
        return out

    def listing(self, room_versions: Mapping[str, Sequence[str]], now: float | None = None
                ) -> list[dict[str, Any]]:
        """The contract's list of pages, each with its room's version and its status.

        `room_versions`: each room's recent versions, oldest first, ending with its
        version now, and under "*" the overview's (`Meeting.room_versions`).
        """
        now = time.time() if now is None else now
        listed = []
        for entry in self.entries():
            room = entry.get("room") or ""
            versions = room_versions.get(room)
            viewport = entry.get("viewport") or ""
            w, _, h = viewport.partition("x")
            listed.append({
                "screen_id": entry.get("id", ""),
                "number": screen_number(entry.get("id", "")),
                "kind": entry.get("kind", "other"),
                "name": entry.get("name", ""),
                "room": room,
                "lang": entry.get("lang", ""),
                "node": entry.get("node", ""),
                "viewport": [int(w), int(h)] if w.isdigit() and h.isdigit() else None,
                "connected_at": float(entry.get("connected_at") or 0),
                "last_seen": float(entry.get("last_seen") or 0),
                "version_shown": entry.get("version_shown") or None,
                "room_version": versions[-1] if versions else None,
                "status": status_of(entry, versions, now, self.times),
                "user_agent": entry.get("user_agent", ""),
                # the rooms its link may open ("*": every room, and so for entries
                # written before pages recorded it)
                "access": entry.get("access") or "*",
            })
        listed.sort(key=lambda e: (e["room"], e["kind"], e["name"], e["screen_id"]))
        return listed
