"""The relay: tails the stream, folds events into the state, pushes room states to screens."""

from __future__ import annotations

import logging
import time

from flask_socketio import SocketIO

from dashboard.meeting import Meeting
from dashboard.web.sockets import OVERVIEW, room_channel

log = logging.getLogger(__name__)


class Relay:
    """Emits `state` to each changed room's screens and to the overview, once per change."""

    def __init__(self, socketio: SocketIO, meeting: Meeting, redis_url: str) -> None:
        self.socketio = socketio
        self.meeting = meeting
        self.redis_url = redis_url
        self.running = False
        meeting.listeners.append(self.push)

    def push(self, rooms: set[str]) -> None:
        """Send the new state of each room to its screens and to the overview."""
        for room in sorted(rooms):
            view = self.meeting.view(room)
            self.socketio.emit("state", view, to=[room_channel(room), OVERVIEW])

    def run(self) -> None:
        """Tail the stream forever (the background task of every web node)."""
        self.running = True
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
        """Ask the tail loop to end after its current read."""
        self.running = False
