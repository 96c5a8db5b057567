"""The meeting's event log: one Redis stream, appended atomically, tailed by every node."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from dashboard.domain import Event
from dashboard.domain.events import EVENTS, Opaque, Payload, read_payload
from dashboard.store import admission, connection

log = logging.getLogger(__name__)

# KEYS: stream, command answers, then the access hash and the sender's rate list of
# `admission.admit`.  ARGV: expected last id, command id (as the client sent it,
# written in each entry's `cmd`), the answer's key (the id scoped to its sender), the
# body's hash, the four arguments of `admit`, then (type, room, data, at, v) for each
# event (v "" for a version-1 payload, which is written without it, as release 0.1.0
# wrote every entry).
# Answers what `admit` refuses ({"revoked", ...} or {"limited", ...}), else {"dup",
# first answer} for a key seen before with the same body hash, {"reused", first
# answer} with another hash, {"legacy", first answer} for an answer release 0.1.0 kept
# under the bare command id (no body hash: the caller decides whether it is this
# command's), {"stale", last id} when another writer got there first, else {"ok",
# answer, ids} after appending every event.
_APPEND = admission.ADMIT + """
local refused = admit(KEYS[3], KEYS[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
if refused then return refused end
local prior = redis.call('HGET', KEYS[2], ARGV[3])
if prior then
  local ok, seen = pcall(cjson.decode, prior)
  if ok and type(seen) == 'table' and seen.body == ARGV[4] then return {'dup', prior} end
  return {'reused', prior}
end
if ARGV[2] ~= ARGV[3] then
  local bare = redis.call('HGET', KEYS[2], ARGV[2])
  if bare then
    local ok, seen = pcall(cjson.decode, bare)
    if ok and type(seen) == 'table' and seen.body == nil then return {'legacy', bare} end
  end
end
local last = '0-0'
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then last = top[1][1] end
if last ~= ARGV[1] then return {'stale', last} end
local ids = {}
for i = 9, #ARGV, 5 do
  if ARGV[i + 4] == '' then
    ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'type', ARGV[i], 'room', ARGV[i + 1],
                               'data', ARGV[i + 2], 'at', ARGV[i + 3], 'cmd', ARGV[2])
  else
    ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'type', ARGV[i], 'room', ARGV[i + 1],
                               'data', ARGV[i + 2], 'at', ARGV[i + 3], 'cmd', ARGV[2],
                               'v', ARGV[i + 4])
  end
end
local answer = cjson.encode({first = ids[1], last = ids[#ids], body = ARGV[4]})
redis.call('HSET', KEYS[2], ARGV[3], answer)
return {'ok', answer, ids}
"""


def id_key(stream_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair ("1700000000000-3" -> (1700000000000, 3))."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def connect(url: str, *, timeout: float = 2.0) -> redis.Redis:
    """A client for commands: short timeouts, so a dead Redis gives a quick clear error.

    A refused or dropped connection (or a primary demoted by a failover) is retried
    twice after a jittered pause (cheap, and it rides over a restart's first instant
    or the Sentinels' switch to a new primary); a timeout is not: a stalled server
    would make each try cost the whole timeout, and the client must hear 503 within
    a few seconds.
    """
    return connection.client(url, timeout=timeout, connect_timeout=timeout, retries=2,
                             health_check_interval=15)


class NotReplicated(redis.TimeoutError):
    """The events were appended but not confirmed by enough replicas in time.

    The command may still take effect (or be lost in a failover): only a retry with
    the same command id tells, answered with the first result, never applied twice.
    """

    def __init__(self, replicas: int, wanted: int, timeout_ms: int) -> None:
        self.advice = (
            f"the command was not confirmed by {wanted} replica(s) within {timeout_ms} ms "
            f"({replicas} confirmed); it may have been applied: retry it with the same "
            "command_id")
        super().__init__(self.advice)


@dataclass(frozen=True)
class Appended:
    """What an append did: `status` is ok, dup, reused (the id was answered for another
    body: nothing appended), legacy (answered by release 0.1.0 under the bare id: nothing
    appended) or stale."""

    status: str
    first: str | None = None
    last: str | None = None
    ids: tuple[str, ...] = ()  # of the events just appended (status ok)


class EventLog:
    """Append, read and tail the stream `<prefix>:{<meeting>}:events`."""

    def __init__(self, client: redis.Redis, meeting_id: str, prefix: str = "plenary", *,
                 min_replicas: int = 0, replica_timeout_ms: int = 1000) -> None:
        self.client = client
        # An append is answered only once this many replicas have it (WAIT); the
        # client's socket timeout must outlast replica_timeout_ms.
        self.min_replicas, self.replica_timeout_ms = min_replicas, replica_timeout_ms
        self.tag = f"{prefix}:{{{meeting_id}}}"
        self.stream = f"{self.tag}:events"
        self.answers = f"{self.tag}:commands"
        self._append = client.register_script(_APPEND)
        self._appender: redis.Redis | None = None
        self._append_lock = threading.RLock()
        # Reads take the raw reply (no per-entry dict from redis-py): a cold start
        # folds up to 100,000 entries, and must not build a dict for each
        # (docs/performance.md, "Raw `XRANGE` replies on cold start").
        self._raw = redis.Redis(connection_pool=client.connection_pool)
        self._raw.set_response_callback("XRANGE", lambda reply, **_: reply)

    def key(self, name: str) -> str:
        """A key of this meeting (same hash slot as the stream)."""
        return f"{self.tag}:{name}"

    def append(self, events: Sequence[Event], expected_last: str, command_id: str,
               key: str | None = None, body_hash: str = "",
               ticket: admission.Pass = admission.OPEN, count: bool = True) -> Appended:
        """Append all events at once if the stream still ends at `expected_last`, and
        if the sender's `ticket` is admitted (counted with `count`; else Revoked or
        RateLimited, nothing appended).

        The answer is kept under `key` (the command id scoped to its sender; the bare id
        when not given) with `body_hash`: the same key with another hash is `reused`.
        """
        args: list[Any] = [expected_last, command_id, key or command_id, body_hash,
                           *ticket.args(count)]
        for e in events:
            f = e.to_fields()
            args += [f["type"], f["room"], f["data"], f["at"], f.get("v", "")]
        with self._append_lock:  # the WAIT must follow on the same connection
            appender = self._appending()
            try:
                reply = self._append(keys=[self.stream, self.answers, *ticket.keys],
                                     args=args, client=appender)
                status, payload, *rest = reply
                status = status.decode()
                if status in ("ok", "dup", "legacy") and self.min_replicas:
                    self._wait_replicas(appender)
            except connection.FAILOVER_ERRORS:
                self._drop_appender()
                raise
        if status in ("revoked", "limited"):
            admission.refusal(reply, ticket)
        if status == "stale":
            return Appended("stale", last=payload.decode())
        if status == "reused":
            return Appended("reused")
        if status == "ok":  # the events just appended: their ids say the first and last
            ids = tuple(i.decode() for i in rest[0])
            return Appended(status, first=ids[0], last=ids[-1], ids=ids)
        answer = json.loads(payload)
        return Appended(status, first=answer["first"], last=answer["last"])

    def _appending(self) -> redis.Redis:
        """The connection appends go through: one of the pool's, held from the first append.

        A connection taken from the pool for each command is first polled for stray
        data, and under gevent that poll is a turn of the event loop on the path of
        every command (docs/performance.md, "Appends and the tail on held
        connections"). A Meeting appends under its lock; the
        client's own lock covers any other caller.
        """
        if self._appender is None:
            self._appender = redis.Redis(connection_pool=self.client.connection_pool,
                                         single_connection_client=True)
        return self._appender

    def _drop_appender(self) -> None:
        """Let the next append take a new connection from the pool.

        A connection held by a client reconnects to the address it had, while one
        taken from a Sentinel pool asks the Sentinels: after a failover only the
        latter reaches the new primary.
        """
        if self._appender is not None:
            self._appender.close()
            self._appender = None

    def _wait_replicas(self, appender: redis.Redis) -> None:
        """Return once `min_replicas` replicas have every write this connection has seen.

        WAIT counts what the connection's last command left on the primary (a `dup`
        answer included: what it found is older), so it must run on that very
        connection: sent raw, never retried on a new one, where it would count nothing.
        """
        conn: Any = appender.connection  # type: ignore[attr-defined]  # not in types-redis
        try:
            conn.send_command("WAIT", self.min_replicas, self.replica_timeout_ms)
            replicas = int(conn.read_response())
        except redis.RedisError:
            conn.disconnect()
            raise
        if replicas < self.min_replicas:
            raise NotReplicated(replicas, self.min_replicas, self.replica_timeout_ms)

    def holds(self, stream_id: str) -> bool:
        """Whether the stream has an entry of this id ("0-0", the empty start, always)."""
        if stream_id == "0-0":
            return True
        return bool(self.client.xrange(self.stream, min=stream_id, max=stream_id, count=1))

    def answer_of(self, key: str, body_hash: str = "", bare_id: str | None = None
                  ) -> Appended | None:
        """The first answer kept under a command's key, if the command was appended:
        `dup` for the same body hash, `reused` (no events) for another; else, with
        `bare_id`, `legacy` for an answer release 0.1.0 kept under that bare id.

        With `min_replicas`, an answer found is given only once that many replicas
        have it, as the first time (WAIT, on the connection that found it).
        """
        fields = [key, bare_id or key]
        if not self.min_replicas:
            found = self.client.hmget(self.answers, fields)
        else:
            with self._append_lock:
                appender = self._appending()
                try:
                    found = appender.hmget(self.answers, fields)
                    if any(found):
                        self._wait_replicas(appender)
                except connection.FAILOVER_ERRORS:
                    self._drop_appender()
                    raise
        raw, bare = found
        if raw is not None:
            answer = json.loads(raw)
            if not isinstance(answer, dict) or answer.get("body") != body_hash:
                return Appended("reused")
            return Appended("dup", first=answer["first"], last=answer["last"])
        old = json.loads(bare) if bare is not None else None
        if isinstance(old, dict) and "body" not in old:
            return Appended("legacy", first=old["first"], last=old["last"])
        return None

    def read(self, after: str = "0-0", count: int | None = None) -> list[Event]:
        """Events after an id (exclusive), in order."""
        entries = self._raw.xrange(self.stream, min=f"({after}", max="+", count=count)
        return [_flat_event(eid, flat) for eid, flat in entries]

    def read_range(self, first: str, last: str) -> list[Event]:
        """Events from `first` to `last`, both included."""
        return [_flat_event(i, f) for i, f in self._raw.xrange(self.stream, min=first, max=last)]

    def read_all(self, after: str = "0-0", batch: int = 10_000) -> Iterator[Event]:
        """Every event after an id, read in batches.

        Past the first batch (all that a catch-up usually needs), each batch is asked
        for before the previous one is handed out, on a connection of this client's
        pool: Redis prepares and sends it while the caller folds (a cold start's replay).
        """
        events = self.read(after, batch)
        yield from events
        if len(events) < batch:
            return
        after = events[-1].id or after
        reader = redis.Redis(connection_pool=self.client.connection_pool,
                             single_connection_client=True)
        conn: Any = reader.connection  # type: ignore[attr-defined]  # not in types-redis
        asked = False
        try:
            conn.send_command("XRANGE", self.stream, f"({after}", "+", "COUNT", batch)
            asked = True
            while asked:
                entries = conn.read_response()
                asked = False
                if len(entries) == batch:
                    conn.send_command("XRANGE", self.stream, b"(" + entries[-1][0], "+",
                                      "COUNT", batch)
                    asked = True
                events = [_flat_event(eid, flat) for eid, flat in entries]
                yield from events
                if events:
                    after = events[-1].id or after
            return
        except redis.ConnectionError:
            conn.disconnect()
            asked = False
        finally:
            if asked:  # left before its answer was read: the connection is not reusable
                conn.disconnect()
            reader.close()
        # The connection was lost on the way: the rest the ordinary way, with retries.
        while True:
            events = self.read(after, batch)
            yield from events
            if len(events) < batch:
                return
            after = events[-1].id or after

    def last_id(self) -> str:
        """The id of the newest event, "0-0" when there is none."""
        top = self.client.xrevrange(self.stream, count=1)
        return top[0][0].decode() if top else "0-0"

    def tail(
        self,
        after: Callable[[], str],
        url: str,
        *,
        block_ms: int = 5000,
        on_state: Callable[[bool], None] | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[Iterator[Event]]:
        """Yield batches of new events forever, on a connection of its own.

        `after()` gives the id to read from each time, so the caller's state is
        the cursor. Connection loss is retried forever with jittered back-off;
        `on_state(False/True)` reports the loss and the recovery.
        """
        # The socket timeout must outlast the BLOCK, or every quiet period
        # would look like a dead server.
        pool = connection.client(url, timeout=block_ms / 1000 + 5)
        reader: redis.Redis | None = None
        delay, healthy = 0.1, True
        while not stop():
            try:
                if reader is None:
                    # One connection held for every XREAD: one taken from the pool for
                    # each would first be polled for stray data, a turn of the event
                    # loop for every command the meeting runs. Taken again after an
                    # outage, so that a Sentinel pool names the primary of the moment.
                    reader = redis.Redis(connection_pool=pool.connection_pool,
                                         single_connection_client=True)
                    # The raw reply: most entries a node reads are its own, folded by
                    # the command that wrote them; see _unseen.
                    reader.set_response_callback("XREAD", lambda reply, **_: reply)
                reply = reader.xread({self.stream: after()}, count=1000, block=block_ms)
            except (redis.RedisError, OSError) as exc:
                if reader is not None:
                    reader.close()
                    reader = None
                if not connection.is_outage(exc):
                    raise
                if stop():  # the node is stopping: its Redis may go first
                    break
                if healthy:
                    log.warning("event stream unreachable (%s); reconnecting", exc)
                    healthy = False
                    if on_state:
                        on_state(False)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
                continue
            if not healthy:
                log.info("event stream reachable again")
                healthy, delay = True, 0.1
                if on_state:
                    on_state(True)
            # {stream: entries} over RESP3, [[stream, entries]] over RESP2
            for _stream, entries in (reply.items() if isinstance(reply, dict) else reply or ()):
                yield _unseen(entries, after)
        if reader is not None:
            reader.close()
        pool.close()


def _unseen(entries: list[Any], after: Callable[[], str]) -> Iterator[Event]:
    """The entries after `after()` as it is when each is taken, parsed only then.

    Taken one at a time under the Meeting's lock (`Meeting.ingest`), a node's own
    entries (already folded by the command that appended them) are stepped over by
    their id, unparsed.
    """
    for eid, flat in entries:
        if id_key(eid.decode()) > id_key(after()):
            yield _flat_event(eid, flat or [])


# Raw type -> (type, the payload class when a version-1 entry is read by its constructor
# alone). A cold start reads up to 100,000 entries: each is one dict lookup and one call.
_kinds: dict[bytes, tuple[str, Callable[..., Payload] | None]] = {}


def _kind(raw: bytes) -> tuple[str, Callable[..., Payload] | None]:
    kind = raw.decode()
    cls = EVENTS.get(kind)
    # A class with its own from_data (renamed or nested fields) is read through it.
    plain = cls is not None and cls.VERSION == 1 and "from_data" not in vars(cls)
    found = (kind, cls if plain else None)
    if cls is not None:
        _kinds[raw] = found
    return found


def _flat_event(eid: bytes, flat: list[bytes]) -> Event:
    """An event from a raw entry [type, T, room, R, data, D, at, A, cmd, C, (v, V)],
    as the script writes it, its payload typed and upcast."""
    if len(flat) >= 8 and flat[0] == b"type" and flat[2] == b"room" and flat[4] == b"data" \
            and flat[6] == b"at":
        try:
            kind, plain = _kinds.get(flat[1]) or _kind(flat[1])
            data = orjson.loads(flat[5])
            if plain is not None and len(flat) < 12:  # version 1, read as it is
                payload = plain(**data)
            else:
                version = int(flat[11]) if len(flat) >= 12 and flat[10] == b"v" else 1
                payload = read_payload(kind, version, data)
            return Event(kind, flat[3].decode() or None, payload, float(flat[7]), eid.decode())
        except (ValueError, TypeError, KeyError):  # let the careful path judge
            pass
    return _event(eid, dict(zip(flat[::2], flat[1::2], strict=False)))


def _event(eid: bytes | str, fields: dict[bytes, bytes]) -> Event:
    try:
        return Event.from_fields(fields, eid)
    except (KeyError, ValueError, TypeError) as exc:
        # An entry that is not an event (written by hand, or damaged) must not stop
        # every reader: it becomes an "invalid" event that the folds step over.
        entry_id = eid.decode() if isinstance(eid, bytes) else eid
        log.warning("stream entry %s is not a well-formed event (%r)", entry_id, exc)
        return Event(type="invalid", room=None, data=Opaque({"error": repr(exc)}),
                     at=id_key(entry_id)[0] / 1000, id=entry_id)
