"""The consumer-group loop every stream worker runs: read, handle, ack; claim, retry, park.

Guarantees, given a handler that is idempotent (handling an entry twice
leaves the same result):
- at least once: an entry is acknowledged (XACK) only after `handle`
  returned, i.e. after its work is durably done; an entry left pending by a
  consumer that died is claimed (XAUTOCLAIM) by another once it has been
  idle `min_idle_ms`, so a crash between the work and the ack costs a
  repeat, never a gap;
- never stuck: an entry whose handling failed `max_deliveries` times (the
  group's own delivery count, XPENDING, so crashes count too) is copied to
  the dead-letter stream `<tag>:dead` with the reason and acknowledged;
- never dies: Redis outages are retried forever with jittered back-off.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from dashboard.store import connection
from dashboard.store.turns import TURN, taking_turns

__all__ = ["TURN", "Consumer", "ConsumerStats", "consumer_name", "taking_turns"]

log = logging.getLogger(__name__)

Fields = dict[bytes, bytes]
Handler = Callable[[str, Fields], None]
BatchHandler = Callable[[list[tuple[str, Fields]]], None]

def consumer_name(worker: str) -> str:
    """A name unique to this process (host and pid), so restarts never impersonate."""
    return f"{worker}-{socket.gethostname()}-{os.getpid()}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class ConsumerStats:
    """What a consumer has done (for tests, logs and health)."""

    handled: int = 0
    failed: int = 0
    claimed: int = 0
    dead: int = 0
    last_beat: float = 0.0


class Consumer:
    """Runs `handle(id, fields)` for every entry of `stream`, within the group `group`."""

    def __init__(
        self,
        url: str,
        stream: str,
        group: str,
        handle: Handler,
        *,
        name: str | None = None,
        dead_stream: str | None = None,
        block_ms: int = 2000,
        min_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        batch: int = 100,
        retry_delay: float = 0.2,
        on_beat: Callable[[], None] | None = None,
        handle_batch: BatchHandler | None = None,
        pace_s: float = 0.0,
    ) -> None:
        self.stream, self.group, self.handle = stream, group, handle
        # A batch handler does the work of many entries at once (one fold, one save);
        # pacing lets entries gather between reads, so a busy meeting costs a save a
        # second, not a save an event. Entries stay pending until their batch is done.
        self.handle_batch, self.pace_s = handle_batch, pace_s
        self.name = name or consumer_name(group)
        self.dead_stream = dead_stream or stream.rsplit(":", 1)[0] + ":dead"
        self.block_ms, self.min_idle_ms = block_ms, min_idle_ms
        self.max_deliveries, self.batch, self.retry_delay = max_deliveries, batch, retry_delay
        self.on_beat = on_beat
        # The socket timeout must outlast the BLOCK, or a quiet stream looks like a dead server.
        self.client = connection.client(url, timeout=block_ms / 1000 + 5)
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._group_ready = False
        self._last_claim = 0.0
        # Entries of ours that failed: retried after a pause, before reading new ones.
        self._retry_at: dict[str, float] = {}

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Consume until `stop()`; outages are waited out, a bad entry never ends the loop."""
        delay, healthy = 0.1, True
        log.info("worker %s: consumer %s on %s", self.group, self.name, self.stream)
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:
                if not connection.is_outage(exc):
                    # a bug of ours must not end the worker: log, pause, go on
                    log.exception("worker %s: unexpected error; going on", self.group)
                    self._stop.wait(1.0)
                    continue
                # Redis lost, changing primary, or refusing writes for now (a primary
                # short of replicas): wait, reconnect (to the primary the Sentinels name)
                if self._stop.is_set():  # the service is stopping: its Redis may go first
                    break
                if healthy:
                    log.warning("worker %s: Redis unreachable or refusing writes (%s); "
                                "retrying", self.group, exc)
                    healthy = False
                self._group_ready = False
                self._stop.wait(delay * (0.5 + random.random()))
                delay = min(delay * 2, 5.0)
                continue
            if not healthy:
                log.info("worker %s: Redis reachable again", self.group)
                healthy, delay = True, 0.1
        self.client.close()

    def stop(self) -> None:
        """Ask the loop to end after its current step (at most one BLOCK)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """Whether stop() was called."""
        return self._stop.is_set()

    def step(self, block_ms: int | None = None) -> int:
        """One round: retry our failed entries, claim abandoned ones, read new ones."""
        self.ensure_group()
        self.stats.last_beat = time.time()
        if self.on_beat:
            self.on_beat()
        done = self._retry_due()
        now = time.monotonic()
        if now - self._last_claim >= min(self.min_idle_ms / 1000, 5.0):
            self._last_claim = now
            done += self.claim_abandoned()
        if self._retry_at:  # don't block while a retry is waiting
            block_ms = min(block_ms if block_ms is not None else self.block_ms, 200)
        reply = self.client.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=self.batch,
            block=self.block_ms if block_ms is None else block_ms,
        )
        for _stream, entries in reply or ():
            done += self._handle_all(entries)
        if done and self.pace_s:
            self._stop.wait(self.pace_s)
        return done

    def ensure_group(self) -> None:
        """Create the group (at the stream's start) and the stream if they are missing."""
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # --- entries ----------------------------------------------------------------------------

    def _handle_all(self, entries: list[tuple[bytes, Fields | None]]) -> int:
        if self.handle_batch is not None and len(entries) > 1:
            batch = [(_text(i), f) for i, f in entries if f is not None]
            try:
                self.handle_batch(batch)
            except Exception as exc:
                if connection.is_outage(exc):
                    raise
                # find the bad entry one by one, with the usual retries
                log.warning("worker %s: batch failed; handling its entries one by one",
                            self.group)
            else:
                self.client.xack(self.stream, self.group, *[_text(i) for i, _ in entries])
                self.stats.handled += len(batch)
                return len(batch)
        done = 0
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            if fields is None:  # deleted from the stream while pending: nothing to do
                self.client.xack(self.stream, self.group, entry_id)
                continue
            done += self._handle_one(entry_id, fields)
        return done

    def _handle_one(self, entry_id: str, fields: Fields) -> int:
        try:
            self.handle(entry_id, fields)
        except Exception as exc:
            if connection.is_outage(exc):
                raise  # not the entry's fault: the loop waits for Redis, the entry stays pending
            self.stats.failed += 1
            reason = f"{type(exc).__name__}: {exc}"[:500]
            deliveries = self.deliveries(entry_id)
            if deliveries >= self.max_deliveries:
                self.park(entry_id, fields, reason, deliveries)
                return 0
            log.warning("worker %s: entry %s failed (delivery %d of %d): %s",
                        self.group, entry_id, deliveries, self.max_deliveries, reason)
            backoff = self.retry_delay * 2 ** (deliveries - 1)
            self._retry_at[entry_id] = time.monotonic() + backoff * (0.5 + random.random())
            return 0
        self.client.xack(self.stream, self.group, entry_id)
        self._retry_at.pop(entry_id, None)
        self.stats.handled += 1
        return 1

    def deliveries(self, entry_id: str) -> int:
        """How many times the group has delivered this entry (1 on the first try)."""
        rows = self.client.xpending_range(self.stream, self.group, entry_id, entry_id, 1)
        return int(rows[0]["times_delivered"]) if rows else 1

    def park(self, entry_id: str, fields: Fields, reason: str, deliveries: int) -> None:
        """Move an entry that keeps failing to the dead-letter stream, then acknowledge it."""
        record: dict[Any, Any] = {
            "id": entry_id, "group": self.group, "consumer": self.name,
            "reason": reason, "deliveries": str(deliveries),
        }
        for key, value in fields.items():
            record[b"entry." + key] = value
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.dead_stream, record)
        pipe.xack(self.stream, self.group, entry_id)
        pipe.execute()
        self._retry_at.pop(entry_id, None)
        self.stats.dead += 1
        log.error("worker %s: entry %s parked in %s after %d deliveries: %s",
                  self.group, entry_id, self.dead_stream, deliveries, reason)

    def _retry_due(self) -> int:
        """Take our failed entries again once their pause is over (XCLAIM counts a delivery)."""
        now = time.monotonic()
        due = [i for i, at in self._retry_at.items() if at <= now]
        done = 0
        for entry_id in due:
            del self._retry_at[entry_id]
            claimed = self.client.xclaim(self.stream, self.group, self.name, 0, [entry_id])
            done += self._handle_all(claimed)
        return done

    def claim_abandoned(self) -> int:
        """Take over entries another consumer left pending longer than `min_idle_ms`."""
        done, start = 0, "0-0"
        while True:
            reply = self.client.xautoclaim(
                self.stream, self.group, self.name, self.min_idle_ms, start, count=self.batch
            )
            start, entries = _text(reply[0]), reply[1]
            if entries:
                self.stats.claimed += len(entries)
                log.info("worker %s: claimed %d abandoned entries", self.group, len(entries))
                done += self._handle_all(entries)
            if start == "0-0":
                return done
