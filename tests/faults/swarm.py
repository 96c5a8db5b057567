"""A swarm of stock python-socketio screens, driven over stdin by a fault test.

`python -m tests.faults.swarm '{"urls": [...], "token": T, "rooms": [...], "count": N}'`
(and `"spread_s": S` to connect them over S seconds), then one command a line on
stdin, one JSON answer a line on stdout: `status`, `states`, `delivered {room: version}`,
`quit`. Each screen uses
the websocket transport, reconnects by itself and subscribes again on every connect,
like a browser screen.

The swarm stands for many screens, each of which would have a processor of its own:
what it spends on a state is spent once per screen, in one process. It must read
every state well faster than the tests send them, or the states wait unread in its
sockets and a test measures the swarm's backlog rather than the server's delivery
(`status` counts those unread bytes, and `delivered` looks into them, so a test can
tell the two apart).
"""

from __future__ import annotations

# Greenlets, not 400 OS threads fighting for the GIL: the stock client runs
# unchanged on top (its threads and sockets are patched).
from gevent import monkey

monkey.patch_all()

import array  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import termios  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import orjson  # noqa: E402
import socketio  # noqa: E402

from dashboard.store.eventlog import id_key  # noqa: E402


class _Json:
    """The packets' JSON module: orjson (the stdlib's decoder is a large part of what a
    state costs the swarm). Strict, as the stdlib's: invalid JSON still raises."""

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)

    @staticmethod
    def dumps(value: Any, **_: Any) -> str:
        return orjson.dumps(value).decode()


# websocket-client checks each text frame's UTF-8 in pure Python, byte by byte (most
# of what a state cost the swarm), then decodes it with `bytes.decode("utf-8")`, which
# refuses invalid UTF-8 as well: skipping the first check loses none.
_WEBSOCKET_OPTIONS = {"skip_utf8_validation": True}

_VERSION = re.compile(rb'"version":\s*"(\d+-\d+)"')


class Screen:
    def __init__(self, url: str, token: str, room: str) -> None:
        self.url, self.token, self.room = url, token, room
        self.state: dict[str, Any] | None = None
        self.subscribed = False
        self.connects = 0
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.3,
                                   reconnection_delay_max=1.5, randomization_factor=0.3,
                                   json=_Json, websocket_extra_options=dict(_WEBSOCKET_OPTIONS))
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("state", self._on_state)

    def start(self) -> None:
        while True:
            try:
                self.sio.connect(self.url, auth={"token": self.token},
                                 transports=["websocket"], wait_timeout=20, retry=True)
                return
            except socketio.exceptions.ConnectionError:
                time.sleep(0.5)

    def _on_connect(self) -> None:
        self.connects += 1
        self.sio.emit("subscribe", {"room": self.room}, callback=self._on_ack)

    def _on_disconnect(self, *_: Any) -> None:
        self.subscribed = False

    def _on_ack(self, ack: dict[str, Any]) -> None:
        if ack.get("ok"):
            self._on_state(ack["state"])
            self.subscribed = True

    def _on_state(self, state: dict[str, Any]) -> None:
        if state["room"]["id"] != self.room:
            return
        with self.lock:
            if self.state is None or id_key(state["version"]) >= id_key(self.state["version"]):
                self.state = state

    def unread(self) -> int:
        """Bytes the server sent that wait in this screen's socket, not yet read."""
        try:
            fileno = self.sio.eio.ws.sock.fileno()  # engine.io's websocket-client socket
            count = array.array("i", [0])
            fcntl.ioctl(fileno, termios.FIONREAD, count)
        except (AttributeError, OSError):  # not connected, or closed meanwhile
            return 0
        return count[0]

    def delivered(self, expected: str) -> str:
        """"held" if this screen holds at least the expected version; else "sent" if a
        state of at least that version waits unread in its socket (the server delivered
        it, the swarm has not read it yet); else "behind"."""
        with self.lock:
            held = self.state["version"] if self.state else None
        if held is not None and id_key(held) >= id_key(expected):
            return "held"
        pending = self.unread()
        if pending:
            try:  # the frames are uncompressed text: their JSON can be read as it waits
                waiting = self.sio.eio.ws.sock.recv(pending, socket.MSG_PEEK)
            except (AttributeError, OSError):
                waiting = b""
            # Every stream id in a room's state is at most the state's version.
            if any(id_key(v.decode()) >= id_key(expected) for v in _VERSION.findall(waiting)):
                return "sent"
        return "behind"


def main() -> None:
    spec = json.loads(sys.argv[1])
    screens = [Screen(spec["urls"][i % len(spec["urls"])], spec["token"],
                      spec["rooms"][i % len(spec["rooms"])]) for i in range(spec["count"])]
    starters = [threading.Thread(target=s.start, daemon=True) for s in screens]
    # With `spread_s`, the screens connect one by one over that many seconds (as a
    # hall's do); else twenty at a time.
    spread = spec.get("spread_s", 0.0) / max(1, len(screens))
    for i, t in enumerate(starters):
        t.start()
        if spread:
            time.sleep(spread)
        elif i % 20 == 19:
            time.sleep(0.05)
    from gevent.fileobject import FileObjectPosix

    # A cooperative stdin: a plain blocking read would freeze every screen.
    for line in FileObjectPosix(sys.stdin.fileno(), "r", close=False):
        what = line.strip()
        if what == "status":
            answer: Any = {
                "count": len(screens),
                "connected": sum(s.sio.connected for s in screens),
                "subscribed": sum(s.subscribed for s in screens),
                "connects": [s.connects for s in screens],
                "rooms": [s.room for s in screens],
                "versions": [s.state["version"] if s.state else None for s in screens],
                "unread": sum(s.unread() for s in screens),
            }
        elif what == "states":
            answer = [s.state for s in screens]
        elif what.startswith("delivered "):
            expected = json.loads(what.removeprefix("delivered "))
            answer = [s.delivered(expected[s.room]) for s in screens]
        elif what == "quit":
            print(json.dumps({"ok": True}), flush=True)
            break
        else:
            answer = {"error": what}
        print(json.dumps(answer), flush=True)
    closers = [threading.Thread(target=s.sio.disconnect, daemon=True) for s in screens]
    for t in closers:
        t.start()
    for t in closers:
        t.join(2)


if __name__ == "__main__":
    main()
