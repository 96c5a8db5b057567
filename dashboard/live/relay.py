"""The relay: tails the stream, folds events into the state, pushes room states to screens."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import gevent
from flask_socketio import SocketIO

from dashboard.domain import Audience, for_audience
from dashboard.live.channels import channel, overview
from dashboard.live.fanout import Fanout
from dashboard.store.meeting import Meeting

log = logging.getLogger(__name__)

PAUSE_S = 0.1  # at most, after a broadcast, while other work is pending


class Relay:
    """Emits `state` to each changed room's screens and to the overview.

    Started (`start()`), it sends from a task of its own: the command that
    changed a room is answered without waiting for thousands of sends, and
    changes that come while a broadcast is under way are sent once, newest
    state only (screens show only the newest version anyway), so a burst of
    commands never builds a backlog per screen.
    """

    def __init__(
        self, socketio: SocketIO, meeting: Meeting, redis_url: str, direct: bool = True,
        max_queued: int = 32, max_queued_bytes: int = 1 << 20, peer_hold_s: float = 0.0,
    ) -> None:
        self.socketio = socketio
        self.fanout = Fanout(socketio, direct, max_queued, max_queued_bytes)
        self.meeting = meeting
        self.redis_url = redis_url
        self.running = False
        self.dirty: set[str] = set()
        self.sent: dict[str, str] = {}  # room -> the version its screens were last sent
        self.wake = threading.Event()
        # A change another writer made (read by the tail) is sent this long after it is
        # read: that writer answers its sender at the same instant, and a broadcast here
        # to thousands, on the cores it shares, would delay that answer by its length.
        self.peer_hold_s = peer_hold_s
        self._hold_until = 0.0
        # Told each room's broadcast: its seconds and the state's size (the metrics).
        self.on_broadcast: Callable[[float, int], None] | None = None
        meeting.listeners.append(self.push)

    def start(self) -> None:
        """Tail the stream and send states in background tasks (every web node does)."""
        self.running = True
        self.socketio.start_background_task(self.run)
        self.socketio.start_background_task(self._send_loop)

    def push(self, rooms: set[str]) -> None:
        """Have the new state of each room sent to its screens and to the overview."""
        if not self.running:  # not started (tests, tools): send now
            self._send(rooms)
            return
        self.dirty |= rooms
        if self.meeting.reading_peers and self.peer_hold_s:
            self._hold_until = time.monotonic() + self.peer_hold_s
        self.wake.set()

    def _send_loop(self) -> None:
        while self.running:
            self.wake.wait(timeout=1.0)
            # Woken by a command, before that command's Socket.IO ack went out: the
            # ack waits in its socket's queue for the writer, which runs after us.
            # Step aside once, so the chair hears back before thousands of sends.
            gevent.sleep(0)
            # At most one hold a broadcast: a flood of changes is never held back longer.
            hold = self._hold_until - time.monotonic()
            if hold > 0:
                gevent.sleep(hold)
            self.wake.clear()
            rooms, self.dirty = self.dirty, set()
            if rooms:
                began = time.perf_counter()
                self._send(rooms)
                # A broadcast to thousands of screens holds the process for tens of
                # milliseconds; let what came in meanwhile (commands, the tail, pongs)
                # run before the next one, so commands are answered first and their
                # changes go out together, rather than each waiting behind broadcasts.
                # The pause lasts no longer than the broadcast held the process (the
                # sends take at most half of it), so a small room's screens never wait
                # on a busy node: under a flood the loop is never idle.
                held = min(time.perf_counter() - began, PAUSE_S)
                with gevent.Timeout(held, False):
                    gevent.idle()

    def _send(self, rooms: set[str]) -> None:
        for room in sorted(rooms):
            try:
                full = self.meeting.view(room, Audience.DESK)
                if self.sent.get(room) == full["version"]:
                    continue  # marked again while this version was being sent
                self.sent[room] = full["version"]
                began = time.perf_counter()
                size = 0
                # Each audience gets what it may see, encoded only when someone listens.
                for audience in (Audience.SCREEN, Audience.PODIUM, Audience.DESK):
                    to = [channel(room, audience)]
                    if audience is not Audience.PODIUM:
                        to.append(overview(audience))
                    if self.fanout.emit("state", for_audience(full, audience), to):
                        size = max(size, self.fanout.last_bytes)
                if self.on_broadcast is not None:
                    self.on_broadcast(time.perf_counter() - began, size)
            except Exception:  # one room's failure must not keep the others' screens stale
                log.exception("could not send the state of %s", room)

    def run(self) -> None:
        """Tail the stream until stopped (a background task of every web node)."""
        meeting = self.meeting

        def on_state(healthy: bool) -> None:
            # Screens stay connected to this node while it has lost the stream:
            # tell them, so they mark what they show as possibly stale.
            meeting.stream_healthy = healthy
            self.socketio.emit("status", {"live": healthy, "at": time.time()})
            if healthy:
                meeting.catch_up()
                self.push({room.id for room in meeting.programme.rooms})

        for batch in meeting.log.tail(
            lambda: meeting.version, self.redis_url, on_state=on_state,
            stop=lambda: not self.running,
        ):
            meeting.ingest(batch)

    def stop(self) -> None:
        """Ask the tail and send loops to end."""
        self.running = False
        self.wake.set()
