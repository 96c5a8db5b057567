"""bench/screens_epoll.py, the fan-out benchmark's screens, against a scripted server.

Each test plays the server's side of Engine.IO v4 / Socket.IO v5 over a websocket
byte by byte (frames split, joined, long), so that what the generator records is
checked against what was sent, and when.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

SCREENS = ROOT / "bench" / "screens_epoll.py"
OPEN = '0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'


def frame(text: str | bytes, opcode: int = 1) -> bytes:
    """A server's websocket frame (unmasked), with a 7-, 16- or 64-bit length."""
    payload = text.encode() if isinstance(text, str) else text
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + payload


def state(version: str, pad: int = 0) -> str:
    return '42["state",' + json.dumps({"room": {"id": "r"}, "version": version,
                                       "pad": "x" * pad}, separators=(",", ":")) + "]"


class Peer:
    """The server's end of one screen's connection."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buf = conn, b""
        conn.settimeout(10)

    def _more(self) -> None:
        chunk = self.conn.recv(65536)
        assert chunk, "the screen closed its connection"
        self.buf += chunk

    def upgrade(self, then: bytes = b"") -> None:
        """Read the HTTP request; answer 101 and `then` in the same write."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        request, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert request.startswith(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1")
        self.conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\n\r\n" + then)

    def read(self) -> str:
        """The screen's next text frame, unmasked (a client must mask every frame)."""
        while len(self.buf) < 2:
            self._more()
        assert self.buf[0] == 0x81 and self.buf[1] & 0x80, "not a masked text frame"
        n, head = self.buf[1] & 0x7F, 2
        if n == 126:
            while len(self.buf) < 4:
                self._more()
            n, head = int.from_bytes(self.buf[2:4], "big"), 4
        while len(self.buf) < head + 4 + n:
            self._more()
        mask = self.buf[head:head + 4]
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(self.buf[head + 4:head + 4 + n]))
        self.buf = self.buf[head + 4 + n:]
        return body.decode()

    def read_event(self) -> Any:
        """The screen's next frame, a Socket.IO event without an ack: [name, data]."""
        text = self.read()
        assert text.startswith("42[")
        return json.loads(text[2:])

    def connect(self, ack: Any) -> list[str]:
        """Open, connect and answer the subscribe with `ack`; what the screen said."""
        self.upgrade(frame(OPEN))
        said = [self.read()]
        assert said[0] == '40{"token": "T"}'
        self.conn.sendall(frame('40{"sid":"x"}'))
        said.append(self.read())
        if said[-1].startswith('422["hello"'):
            said.append(self.read())
        assert said[-1] == '421["subscribe",{"room": "R"}]'
        self.conn.sendall(frame("431" + json.dumps([ack])))
        return said


class Screens:
    """screens_epoll.py in a process of its own, its stdout read line by line."""

    def __init__(self, port: int, out: Path, *extra: str) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(SCREENS), "--url", f"http://127.0.0.1:{port}", "--token", "T",
             "--room", "R", "--out", str(out), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: list[dict[str, Any]] = []

    def wait(self, event: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))
            if self.lines[-1]["event"] == event:
                return self.lines[-1]
        raise AssertionError(f"no {event!r}: {self.lines}")

    def ask(self, command: str, event: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.wait(event)

    def dump(self) -> dict[str, Any]:
        self.ask("dump", "done")
        self.proc.wait(timeout=10)
        return dict(json.loads(self.out.read_text()))

    def errors(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "error"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()  # waits, and closes the pipes


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """The scripted server's listening socket, on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[Any]:
    """screens(port, *options) -> Screens; each one stopped at the end."""
    started: list[Screens] = []

    def start(port: int, *extra: str) -> Screens:
        started.append(Screens(port, tmp_path / f"screens{len(started)}.json", *extra))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def test_a_refused_connection_is_one_error_and_one_failure(screens: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gen = screens(port, "--count", "3")
    ready = gen.wait("ready")
    record = gen.dump()
    assert (ready["subscribed"], ready["failed"]) == (0, 3)
    assert [e["client"] for e in gen.errors()] == [0, 1, 2]
    assert all("refused" in e["error"] for e in gen.errors())
    assert record["clients"] == [[], [], []]


def test_screens_not_started_by_the_connect_timeout_count_as_failed(
        listener: socket.socket, screens: Any) -> None:
    # The server accepts nothing: each connection waits in its backlog, unanswered.
    gen = screens(listener.getsockname()[1], "--count", "5", "--concurrency", "2",
                  "--connect-timeout", "300")
    ready = gen.wait("ready")
    record = gen.dump()
    # Every screen asked for is in the record: the share delivered is over all of them.
    assert (ready["subscribed"], ready["failed"]) == (0, 5)
    assert (record["subscribed"], record["failed"]) == (0, 5)
    assert record["clients"] == [[], [], [], [], []]


def test_the_heartbeat_says_the_first_version_at_once_then_the_newest_every_4_5_s(
        listener: socket.socket, screens: Any) -> None:
    gen = screens(listener.getsockname()[1], "--count", "1", "--heartbeat", "--id-prefix", "p")
    conn, _ = listener.accept()
    with conn:
        peer = Peer(conn)
        peer.upgrade(frame(OPEN))
        assert peer.read() == '40{"token": "T"}'
        peer.conn.sendall(frame('40{"sid":"x"}'))
        hello = peer.read()  # as a page: hello (with an ack), then subscribe
        assert hello.startswith('422["hello",')
        assert json.loads(hello[3:])[1] == {"kind": "screen", "screen_id": "p-0", "lang": "es",
                                            "viewport": [1920, 1080], "room": "R"}
        assert peer.read() == '421["subscribe",{"room": "R"}]'
        # A broadcast may overtake the subscribe's answer: its version is said at once.
        peer.conn.sendall(frame(state("5-0")) + frame('432[{"ok":true}]'))
        assert peer.read_event() == ["shown", {"version": "5-0"}]
        said_at = time.monotonic()
        peer.conn.sendall(frame("431" + json.dumps([{"ok": True, "state": {"version": "5-0"}}])))
        gen.wait("ready")
        peer.conn.sendall(frame(state("6-0")) + frame(state("7-0")))
        assert peer.read_event() == ["shown", {"version": "7-0"}]  # the newest, 4-5 s later
        assert 3.9 <= time.monotonic() - said_at <= 7
        record = gen.dump()
        assert record["heartbeat"] == {"hellos": 1, "hello_acks": 1, "shown": 2}
        assert [record["versions"][v] for v in record["clients"][0][::2]] == ["5-0", "6-0", "7-0"]


def test_every_state_frame_is_recorded_once_with_its_version_when_read(
        listener: socket.socket, screens: Any) -> None:
    gen = screens(listener.getsockname()[1], "--count", "1")
    conn, _ = listener.accept()
    with conn:
        peer = Peer(conn)
        peer.connect({"ok": True, "state": {"version": "1-0"}})  # not a frame: not recorded
        assert gen.wait("ready")["subscribed"] == 1
        # Several frames in one write, then one split across three writes: its instant
        # is when its last byte is read.
        split = frame(state("4-0"))
        conn.sendall(frame(state("2-0")) + frame('42["status",{"live":true}]')
                     + frame(state("3-0")) + split[:1])
        time.sleep(0.1)
        conn.sendall(split[1:40])
        time.sleep(0.1)
        last_byte_at = time.time() * 1000
        conn.sendall(split[40:])
        # A frame of a 64-bit length; JSON written with spaces (loadgen.js reads both).
        conn.sendall(frame(state("5-0", pad=70_000)) + frame('42["state", {"version": "6-0"}]'))
        conn.sendall(frame("2"))  # Engine.IO's ping
        assert peer.read() == "3"
        conn.sendall(frame(b"", opcode=8))  # the server closes
        while gen.ask("stats", "stats")["disconnects"] < 1:
            time.sleep(0.05)
        assert conn.recv(1) == b""
    record = gen.dump()
    versions = [record["versions"][v] for v in record["clients"][0][::2]]
    instants = record["clients"][0][1::2]
    assert versions == ["2-0", "3-0", "4-0", "5-0", "6-0"]
    assert instants == sorted(instants)
    assert instants[2] >= last_byte_at
    assert len(record["pings_at"]) == 1
    assert (record["subscribed"], record["failed"], record["disconnects"]) == (1, 0, 1)
