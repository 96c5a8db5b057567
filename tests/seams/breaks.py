"""Ways a release of a library could break one of dashboard/live/seams.py's internals,
each applied by patching the installed library, in this process or in a server's
(`server_argv`). Each returns the function that mends it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import engineio.base_socket
import gevent._socket3
import socketio
from geventwebsocket.websocket import WebSocket


def _after_init(cls: type, then: Callable[[Any], None]) -> Callable[[], None]:
    original = cls.__init__  # type: ignore[misc]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        then(self)

    cls.__init__ = init  # type: ignore[misc]
    return lambda: setattr(cls, "__init__", original)


class _CountlessQueue:
    """A queue that works for engine.io but cannot say how much waits in it."""

    def __init__(self, inner: Any) -> None:
        self.get, self.put, self.task_done = inner.get, inner.put, inner.task_done
        self.join, self.empty = inner.join, inner.empty


def blocking_raw_socket() -> Callable[[], None]:
    """gevent's `_sock` is a blocking OS socket (a send would stall every greenlet)."""
    return _after_init(gevent._socket3.socket, lambda s: s._sock.setblocking(True))


def no_raw_write() -> Callable[[], None]:
    """gevent-websocket's WebSocket has no `raw_write`."""
    return _after_init(WebSocket, lambda ws: delattr(ws, "raw_write"))


def no_handler() -> Callable[[], None]:
    """gevent-websocket's WebSocket keeps no `handler`."""
    return _after_init(WebSocket, lambda ws: delattr(ws, "handler"))


def send_bypasses_raw_write() -> Callable[[], None]:
    """gevent-websocket writes its frames without `raw_write` (the lock would be skipped)."""
    original = WebSocket.send_frame

    def send_frame(self: Any, message: Any, opcode: int) -> None:
        keep = self.raw_write
        self.raw_write = self.stream.write
        try:
            original(self, message, opcode)
        finally:
            self.raw_write = keep

    WebSocket.send_frame = send_frame
    return lambda: setattr(WebSocket, "send_frame", original)


def queue_without_qsize() -> Callable[[], None]:
    """engine.io's socket queue cannot say how many packets wait in it."""
    return _after_init(engineio.base_socket.BaseSocket,
                       lambda s: setattr(s, "queue", _CountlessQueue(s.queue)))


def send_eio_packet_changed() -> Callable[[], None]:
    """python-socketio's `_send_eio_packet` takes other arguments."""
    original = socketio.Server._send_eio_packet

    def send(self: Any, eio_sid: str, eio_pkt: Any, namespace: str | None = None) -> None:
        original(self, eio_sid, eio_pkt)

    socketio.Server._send_eio_packet = send
    return lambda: setattr(socketio.Server, "_send_eio_packet", original)


BREAKS: dict[str, Callable[[], Callable[[], None]]] = {
    f.__name__: f for f in (blocking_raw_socket, no_raw_write, no_handler,
                            send_bypasses_raw_write, queue_without_qsize,
                            send_eio_packet_changed)
}

# Breaks that leave the library itself working (a server can run with them).
SERVER_BREAKS = ("send_bypasses_raw_write", "queue_without_qsize", "send_eio_packet_changed")

_CHILD = """
from dashboard.serve.patching import patch_all
patch_all()
import sys
from tests.seams.breaks import BREAKS
BREAKS[sys.argv[1]]()
from dashboard.cli import main
main(sys.argv[2:])
"""


def server_argv(name: str, port: int) -> list[str]:
    """`plenary run` on `port`, with the break `name` applied first (after gevent's patching)."""
    return [sys.executable, "-c", _CHILD, name, "run", "--port", str(port)]
