"""One event to many screens, its websocket frame built once and written straight out.

Flask-SocketIO sends a broadcast by putting the packet in each client's
engine.io queue; each client's writer greenlet then wakes up, encodes the
packet, frames it and writes it. At thousands of screens that wake-up and
per-client encoding is most of the server's work (docs/performance.md).
Here the frame is built once per broadcast and, for each screen whose
connection is idle (nothing queued, no write in progress), written with one
non-blocking `send` on its socket. Any other screen (a write under way,
packets queued, long-polling, or a send that would block) gets the packet
through its engine.io queue as before, so frames to one socket never
interleave and never overtake each other.

Every write to an attached socket, the engine.io writer's and gevent-websocket's
own (pong, close), goes through the socket's lock: a frame half written
here is finished, under the lock, before anything else is written to it.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from engineio import packet as eio_packet
from gevent.lock import Semaphore
from geventwebsocket.websocket import Header, WebSocket
from socketio import packet as sio_packet

log = logging.getLogger(__name__)

NAMESPACE = "/"


class Pipe:
    """The write side of one websocket: its raw socket and the lock every write takes."""

    __slots__ = ("lock", "raw", "sendall", "write")

    def __init__(self, ws: Any) -> None:
        sock = ws.handler.socket  # the gevent socket
        self.raw = sock._sock  # its non-blocking OS socket (gevent's own attribute)
        self.sendall = sock.sendall
        self.write = ws.raw_write
        self.lock = Semaphore()
        ws.raw_write = self.locked_write

    def locked_write(self, data: bytes) -> None:
        """Every other write to this websocket (engine.io's writer, pongs, close)."""
        with self.lock:
            self.write(data)

    def try_send(self, frame: bytes) -> bool:
        """Write `frame` now if nothing else is being written; False if it was not written."""
        if self.lock.locked():
            return False
        try:
            sent = self.raw.send(frame)
        except OSError:  # would block, or the socket is gone: the queue's path decides
            return False
        if sent < len(frame):
            self.lock.acquire()  # free: checked above, and nothing has yielded since
            gevent.spawn(self._finish, memoryview(frame)[sent:])
        return True

    def _finish(self, rest: memoryview) -> None:
        try:
            self.sendall(rest)
        except OSError:
            pass  # the connection is gone; its reader and writer see it and close
        finally:
            self.lock.release()


class Fanout:
    """Broadcasts for the relay; `attach` each websocket as it connects."""

    def __init__(self, socketio: Any) -> None:
        self.socketio = socketio
        self.pipes: dict[str, Pipe] = {}  # Socket.IO sid -> its pipe
        self.sent = {"direct": 0, "queued": 0, "acks": 0}  # "acks": written straight out

    def attach(self, sid: str, environ: dict[str, Any]) -> None:
        """Take over the writes of a client connected over websocket from the start."""
        ws = environ.get("wsgi.websocket")
        if not isinstance(ws, WebSocket) or not hasattr(ws, "handler"):
            return  # long-polling (or another server): the queue's path only
        try:
            self.pipes[sid] = Pipe(ws)
        except AttributeError:  # not the gevent-websocket this was written for
            log.warning("websocket of %s not attached: unknown gevent-websocket layout", sid)

    def detach(self, sid: str) -> None:
        self.pipes.pop(sid, None)

    def emit(self, event: str, data: Any, to: list[str]) -> int:
        """Send `event` to every client in the rooms `to`; returns how many got it."""
        server = self.socketio.server
        if server is None:  # not initialised (tools without a server)
            return 0
        # binary=False: the states are JSON; python-socketio would otherwise walk the
        # whole state looking for bytes before every broadcast.
        eio_pkt, frame = _framed(server.packet_class(
            sio_packet.EVENT, namespace=NAMESPACE, data=[event, data], binary=False))
        sockets, pipes = server.eio.sockets, self.pipes
        send_queued = server._send_eio_packet  # python-socketio's own per-client path
        direct = queued = 0
        for sid, eio_sid in server.manager.get_participants(NAMESPACE, to):
            if _send_now(pipes.get(sid), sockets.get(eio_sid), frame):
                direct += 1
            else:
                send_queued(eio_sid, eio_pkt)
                queued += 1
        self.sent["direct"] += direct
        self.sent["queued"] += queued
        return direct + queued

    def take_acks(self) -> None:
        """Write Socket.IO acks straight out too, from the handler that made them.

        python-socketio queues an ack for the client's engine.io writer, which
        runs only after every greenlet the loop woke meanwhile: the stream's
        tail, woken by the very append the command made, re-issues its read
        first. Written here, a chair's ack leaves as soon as it exists (0.2 ms
        sooner at a chair's pace, docs/performance.md); anything else, or a
        socket that is busy, takes python-socketio's path (`_send_packet`).
        """
        server = self.socketio.server
        queued = server._send_packet

        def send_packet(eio_sid: str, pkt: Any) -> None:
            if pkt.packet_type == sio_packet.ACK:  # (BINARY_ACK has its own type)
                pipe = self.pipes.get(server.manager.sid_from_eio_sid(eio_sid, NAMESPACE))
                if _send_now(pipe, server.eio.sockets.get(eio_sid), _framed(pkt)[1]):
                    self.sent["acks"] += 1
                    return
            queued(eio_sid, pkt)

        server._send_packet = send_packet


def _send_now(pipe: Pipe | None, sock: Any, frame: bytes) -> bool:
    """Write `frame` now if its websocket is attached and idle; False: it must be queued."""
    return (pipe is not None and sock is not None and not sock.closed
            and not sock.queue.qsize() and pipe.try_send(frame))


def _framed(pkt: Any) -> tuple[Any, bytes]:
    """A Socket.IO packet as an engine.io message and as its websocket text frame."""
    eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, pkt.encode())
    body = eio_pkt.encode().encode()
    return eio_pkt, Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(body), 0) + body
