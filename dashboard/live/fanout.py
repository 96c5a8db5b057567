"""One event to many screens, its websocket frame built once and written straight out.

Flask-SocketIO sends a broadcast by putting the packet in each client's
engine.io queue; each client's writer greenlet then wakes up, encodes the
packet, frames it and writes it. At thousands of screens that wake-up and
per-client encoding is most of the server's work (docs/performance.md, "The
fan-out's frame is built once and written directly").
Here the frame is built once per broadcast and, for each screen whose
connection is idle (nothing queued, no write in progress), written with one
non-blocking `send` on its socket. Any other screen (a write under way,
packets queued, long-polling, or a send that would block) gets the packet
through its engine.io queue as before, so frames to one socket never
interleave and never overtake each other.

Every write to an attached socket, the engine.io writer's and gevent-websocket's
own (pong, close), goes through the socket's lock: a frame half written
here is finished, under the lock, before anything else is written to it.

The libraries' internals this takes are in dashboard/live/seams.py, probed at
start: when they do not hold, every broadcast is python-socketio's own `emit`.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from flask_socketio import SocketIO

from dashboard.live import json_fast, seams

log = logging.getLogger(__name__)


class Fanout:
    """Broadcasts for the relay; `attach` each websocket as it connects."""

    def __init__(self, socketio: SocketIO, direct: bool = True, max_queued: int = 32,
                 max_queued_bytes: int = 1 << 20) -> None:
        self.socketio = socketio
        self.direct = direct  # the seams hold: frames written straight out
        # A client whose queue passes either bound is not reading: it is cut off, so
        # that it cannot make the server hold states for it without end.
        self.max_queued, self.max_queued_bytes = max_queued, max_queued_bytes
        self.pipes: dict[str, seams.Pipe] = {}  # Socket.IO sid -> its pipe
        # Frames written straight out, through the socket's queue, or by python-socketio's
        # emit (the public path, when the seams do not hold).
        self.sent = {"direct": 0, "queued": 0, "public": 0, "cut_off": 0}
        self.last_bytes = 0  # the size of the last broadcast's message (for the metrics)

    def attach(self, sid: str, environ: dict[str, Any]) -> None:
        """Take over the writes of a client connected over websocket from the start."""
        if not self.direct:
            return
        try:
            pipe = seams.pipe_of(environ)
        except AttributeError:  # not the gevent-websocket the probe saw
            log.warning("websocket of %s not attached: unknown gevent-websocket layout", sid)
            return
        if pipe is not None:  # else long-polling: the queue's path only
            self.pipes[sid] = pipe

    def detach(self, sid: str, abort: bool = False) -> None:
        """Forget a client's pipe (it disconnected); `abort`: also shut its connection down,
        so a write blocked on it (a frozen client) fails at once."""
        pipe = self.pipes.pop(sid, None)
        if abort and pipe is not None:
            pipe.abort()

    def emit(self, event: str, data: Any, to: list[str]) -> int:
        """Send `event` to every client in the rooms `to`; returns how many got it."""
        server = self.socketio.server
        if server is None:  # not initialised (tools without a server)
            return 0
        if self.direct:
            try:
                return self._emit_direct(server, event, data, to)
            except Exception:  # a seam broke after the probe: never again, the public path now
                log.exception("direct frame write failed: screens get states through "
                              "python-socketio's emit from now on")
                self.direct = False
                self.pipes.clear()
        return self._emit_public(server, event, data, to)

    def _emit_direct(self, server: Any, event: str, data: Any, to: list[str]) -> int:
        recipients = seams.recipients(server, to)
        first = next(recipients, None)
        if first is None:
            return 0  # nobody listens: no packet to build
        eio_pkt, frame = seams.framed(seams.event_packet(server, event, data))
        self.last_bytes = len(frame)
        pipes, send_queued = self.pipes, seams.queued_sender(server)
        direct = queued = 0
        for sid, eio_sid, sock in itertools.chain((first,), recipients):
            pipe = pipes.get(sid)
            if pipe is not None and seams.idle(sock) and pipe.try_send(frame):
                direct += 1
                continue
            waiting = seams.queue_length(sock)
            if waiting >= self.max_queued or waiting * len(frame) >= self.max_queued_bytes:
                self._cut_off(server, sid, pipe, waiting)
                continue
            send_queued(eio_sid, eio_pkt)
            queued += 1
        self.sent["direct"] += direct
        self.sent["queued"] += queued
        return direct + queued

    def _cut_off(self, server: Any, sid: str, pipe: seams.Pipe | None, waiting: int) -> None:
        """Disconnect a client that does not read what it is sent."""
        log.warning("client %s is not reading (%d states waiting): disconnected", sid, waiting)
        self.sent["cut_off"] += 1
        if pipe is not None:
            self.detach(sid, abort=True)  # its reader sees the end and engine.io closes it
        else:
            server.disconnect(sid, namespace=seams.NAMESPACE)

    def _emit_public(self, server: Any, event: str, data: Any, to: list[str]) -> int:
        count = sum(1 for _ in server.manager.get_participants(seams.NAMESPACE, to))
        if not count:
            return 0
        self.last_bytes = len(json_fast.dumps([event, data]))
        server.emit(event, data, to=to, namespace=seams.NAMESPACE)
        self.sent["public"] += count
        return count
