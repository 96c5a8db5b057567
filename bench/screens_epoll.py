"""Screens of the fan-out benchmark on one epoll loop: the lightest load generator.

    python bench/screens_epoll.py --url U --token T --room R --count N --out F
                                  [--concurrency C] [--connect-timeout MS]
                                  [--heartbeat --id-prefix P]

The same screens as `node loadgen.js screens --client tcp` (Engine.IO v4 /
Socket.IO v5 over a websocket framed here, on bare TCP), the same lines on
stdout ("ready", then "done" after a "dump" line on stdin) and the same record
in F, the heartbeat included: with `--heartbeat` each screen says `hello` on
connect and `shown` as static/js/report.js does, on the same schedule as
loadgen.js' screens. Each socket is read with one `recv_into` when epoll says
it is readable, and a state frame costs a prefix test and a search for its
version: about half of what Node.js' streams cost per frame. On a machine
where the screens share the server's cores, that CPU is the server's
(docs/performance.md, "The load generators").

Instants are wall-clock milliseconds (time.time() * 1000), as loadgen.js'.
"""

from __future__ import annotations

import argparse
import base64
import errno
import json
import os
import random
import re
import select
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit

STATE_PREFIX = b'42["state"'
VERSION_KEY = b'"version":"'
VERSION_SPACED = re.compile(rb'"version":\s*"([^"]*)"')  # JSON written with spaces
IN, OUT, ERR = select.EPOLLIN, select.EPOLLOUT, select.EPOLLERR | select.EPOLLHUP
# The heartbeat of a screen page (static/js/report.js, live.js): `shown` with the newest
# version once a gap drawn from REPORT_MS has passed, checked on the page's 0.5 s timer.
# Each page's timer starts when it loads, so the screens' phases are spread: every
# screen gets one of CHECK_SLOTS slots of the period, and one timer checks a slot in turn.
REPORT_MS = (4000.0, 5000.0)
CHECK_MS = 500.0
CHECK_SLOTS = 50
VIEWPORT = [1920, 1080]


def now() -> float:
    return time.time() * 1000.0


def masked(text: str) -> bytes:
    """A client's websocket text frame (clients mask what they send)."""
    payload = text.encode()
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126, n >> 8, n & 0xFF])
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + body


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def version_key(version: bytes) -> tuple[int, int]:
    ms, _, seq = version.partition(b"-")
    return int(ms or 0), int(seq or 0)


def event_frame(name: str, data: Any, ack: int | None = None) -> bytes:
    """A Socket.IO event as a client's websocket frame: 42[name,data] or 42<ack>[...]."""
    return masked("42" + ("" if ack is None else str(ack)) + json.dumps([name, data]))


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


class Screen:
    __slots__ = ("i", "sock", "rec", "pending", "upgraded", "out", "start", "settled", "open",
                 "connected", "shown", "said_at", "gap")

    def __init__(self, i: int, sock: socket.socket) -> None:
        self.i, self.sock = i, sock
        self.rec: list[Any] = []  # flat [version index, instant, ...]
        self.pending = b""
        self.upgraded = False
        self.out = b""  # what a full send buffer left to write
        self.start = now()
        self.settled = False
        self.open = True
        self.connected = False  # its Socket.IO connect answered (as the page's socket.connected)
        self.shown: bytes | None = None  # the newest version it got (the heartbeat's)
        self.said_at = 0.0  # when it last said `shown` (ms)
        self.gap = random.uniform(*REPORT_MS)


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        u = urlsplit(args.url)
        self.addr = (u.hostname or "127.0.0.1", u.port or 80)
        self.host = u.netloc
        self.ep = select.epoll()
        self.buf = bytearray(1 << 18)  # every read lands here: no allocation per frame
        self.by_fd: dict[int, Screen] = {}
        self.screens: list[Screen | None] = [None] * args.count
        self.version_index: dict[bytes, int] = {}
        self.versions: list[str] = []
        self.connect_ms: list[float] = []
        self.pings_at: list[int] = []
        self.stalls: list[list[int]] = []
        self.subscribed = self.failed = self.disconnects = self.state_events = 0
        self.next = 0
        self.connecting = 0
        self.hello = masked("40" + json.dumps({"token": args.token}))
        self.subscribe = masked('421["subscribe",' + json.dumps({"room": args.room}) + "]")
        self.slots: list[list[Screen]] = [[] for _ in range(CHECK_SLOTS)]
        self.slot = 0
        self.next_check = 0.0
        self.hellos = self.hello_acks = self.shown_sent = 0

    # ------------------------------------------------------------------ connections

    def start_more(self) -> None:
        while self.connecting < self.args.concurrency and self.next < self.args.count:
            i, self.next = self.next, self.next + 1
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            screen = Screen(i, sock)
            self.screens[i] = screen
            if self.args.heartbeat:
                self.slots[random.randrange(CHECK_SLOTS)].append(screen)
            self.connecting += 1
            err = sock.connect_ex(self.addr)
            if err not in (0, errno.EINPROGRESS):
                self.fail(screen, f"connect: {os.strerror(err)}")
                continue
            key = base64.b64encode(os.urandom(16)).decode()
            screen.out = (
                f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\n\r\n").encode()
            self.by_fd[sock.fileno()] = screen
            self.ep.register(sock.fileno(), IN | OUT | ERR)

    def settle(self, screen: Screen, ok: bool) -> None:
        if screen.settled:
            return
        screen.settled = True
        self.connecting -= 1
        if ok:
            self.subscribed += 1
            self.connect_ms.append(now() - screen.start)
        else:
            self.failed += 1

    def fail(self, screen: Screen, error: str) -> None:
        emit({"event": "error", "client": screen.i, "error": error[:300]})
        self.close(screen)

    def close(self, screen: Screen) -> None:
        if not screen.open:
            return
        screen.open = False
        self.disconnects += 1
        self.settle(screen, False)
        fd = screen.sock.fileno()
        if fd >= 0:
            self.by_fd.pop(fd, None)
            try:
                self.ep.unregister(fd)
            except OSError:
                pass
        screen.sock.close()

    def send(self, screen: Screen, data: bytes) -> None:
        if not screen.open:
            return
        if screen.out:
            screen.out += data
            return
        try:
            sent = screen.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.fail(screen, str(exc))
            return
        if sent < len(data):
            screen.out = data[sent:]
            self.ep.modify(screen.sock.fileno(), IN | OUT | ERR)

    def flush(self, screen: Screen) -> None:
        data, screen.out = screen.out, b""
        self.ep.modify(screen.sock.fileno(), IN | ERR)
        if data:
            self.send(screen, data)

    # ------------------------------------------------------------------ frames

    def on_data(self, screen: Screen, buf: bytes | bytearray, size: int, t: float) -> None:
        """The `size` bytes at the start of `buf` arrived at `t`."""
        if screen.pending or not screen.upgraded:
            buf, screen.pending = screen.pending + bytes(buf[:size]), b""
            size = len(buf)
        if not screen.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                screen.pending = buf
                return
            if b" 101" not in buf[:13]:
                self.fail(screen, buf[:min(end, 300)].decode("latin1"))
                return
            screen.upgraded = True
            buf = buf[end + 4:]
            size = len(buf)
        at = 0
        while size - at >= 2:
            opcode = buf[at] & 0x0F
            n = buf[at + 1] & 0x7F
            head = 2
            if n == 126:
                if size - at < 4:
                    break
                n, head = (buf[at + 2] << 8) | buf[at + 3], 4
            elif n == 127:
                if size - at < 10:
                    break
                n, head = int.from_bytes(buf[at + 2:at + 10], "big"), 10
            start, end = at + head, at + head + n
            if end > size:
                break
            at = end
            if opcode == 1:
                if buf.startswith(STATE_PREFIX, start):
                    self.on_state(screen, buf, start, end, t)
                else:
                    self.on_text(screen, bytes(buf[start:end]), t)
                    if not screen.open:  # refused (44) or a write failed: nothing more
                        return
            elif opcode == 8:
                self.close(screen)
                return
        if at < size:
            screen.pending = bytes(buf[at:size])

    def on_state(self, screen: Screen, buf: bytes | bytearray, start: int, end: int,
                 t: float) -> None:
        at = buf.find(VERSION_KEY, start, end)
        if at < 0:
            found = VERSION_SPACED.search(buf, start, end)
            version = found[1] if found else b""
        else:
            at += len(VERSION_KEY)
            version = bytes(buf[at:buf.find(b'"', at, end)])
        vi = self.version_index.get(version)
        if vi is None:
            vi = self.version_index[version] = len(self.versions)
            self.versions.append(version.decode("latin1") if version else None)  # type: ignore[arg-type]
        screen.rec.append(vi)
        screen.rec.append(t)
        self.state_events += 1
        if self.args.heartbeat:
            self.report_shown(screen, version)

    def report_shown(self, screen: Screen, version: bytes) -> None:
        """A newer version drawn; the first one is said at once."""
        if not version or (screen.shown is not None
                           and version_key(version) <= version_key(screen.shown)):
            return
        first = screen.shown is None
        screen.shown = version
        if first and screen.connected and screen.open:
            self.say_shown(screen, now())

    def say_shown(self, screen: Screen, t: float) -> None:
        """`shown` with the newest version drawn (none yet: null, as a page says)."""
        screen.said_at = t
        self.shown_sent += 1
        version = screen.shown.decode() if screen.shown is not None else None
        self.send(screen, event_frame("shown", {"version": version}))

    def check_slot(self) -> None:
        """The screens of one slot say `shown` if their gap has passed (a slot per
        CHECK_MS / CHECK_SLOTS)."""
        t = now()
        if t < self.next_check:
            return
        self.next_check = t + CHECK_MS / CHECK_SLOTS
        for screen in self.slots[self.slot]:
            if screen.open and screen.connected and t - screen.said_at >= screen.gap:
                screen.gap = random.uniform(*REPORT_MS)
                self.say_shown(screen, t)
        self.slot = (self.slot + 1) % CHECK_SLOTS

    def on_text(self, screen: Screen, payload: bytes, t: float) -> None:
        if payload == b"2":
            self.send(screen, masked("3"))
            self.pings_at.append(round(t))
        elif payload.startswith(b"431"):
            ack = json.loads(payload[3:])[0]
            if ack and ack.get("ok") is not False:
                self.settle(screen, True)
                state = ack.get("state")
                if self.args.heartbeat and isinstance(state, dict) and state.get("version"):
                    self.report_shown(screen, str(state["version"]).encode())
            else:
                emit({"event": "error", "client": screen.i, "ack": ack})
                self.settle(screen, False)
        elif payload.startswith(b"432"):
            self.hello_acks += 1
        elif payload.startswith(b"40"):
            screen.connected = True
            if self.args.heartbeat:  # as the page: hello first, then subscribe
                self.hellos += 1
                screen.said_at = now()
                body = {"kind": "screen", "screen_id": f"{self.args.id_prefix}-{screen.i}",
                        "lang": "es", "viewport": VIEWPORT, "room": self.args.room}
                self.send(screen, event_frame("hello", body, 2))
            self.send(screen, self.subscribe)
        elif payload.startswith(b"44"):
            self.fail(screen, payload.decode(errors="replace"))
        elif payload.startswith(b"0"):
            self.send(screen, self.hello)

    # ------------------------------------------------------------------ loop

    def step(self, timeout: float) -> None:
        self.handle(self.ep.poll(timeout))

    def handle(self, events: list[tuple[int, int]]) -> None:
        began = now()
        by_fd, buf = self.by_fd, self.buf
        for fd, ev in events:
            screen = by_fd.get(fd)
            if screen is None:
                continue
            if ev & OUT:
                self.flush(screen)
                if not screen.open:  # the write failed: closed, its error told once
                    continue
            if ev & (IN | ERR):
                try:
                    size = screen.sock.recv_into(buf)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self.fail(screen, str(exc))
                    continue
                if not size:
                    self.close(screen)
                    continue
                self.on_data(screen, buf, size, now())  # its instant: once read
        took = now() - began
        if took > 50:  # this process held up: its screens' instants are late by as much
            self.stalls.append([round(began), round(took)])

    def run(self) -> None:
        t0 = now()
        deadline = time.monotonic() + self.args.connect_timeout / 1000
        self.start_more()
        while (self.subscribed + self.failed < self.args.count
               and time.monotonic() < deadline):
            self.step(0.01)
            self.start_more()
            if self.args.heartbeat:
                self.check_slot()
        for screen in self.screens:
            if screen is not None and not screen.settled:
                self.fail(screen, "timed out connecting")
        if self.next < self.args.count:  # never started: failed too, each with a record
            emit({"event": "error", "clients": [self.next, self.args.count - 1],
                  "error": "timed out before connecting"})
            self.failed += self.args.count - self.next
            self.next = self.args.count
        self.connect_ms.sort()
        emit({"event": "ready", "subscribed": self.subscribed, "failed": self.failed,
              "connect_total_ms": now() - t0, "connect_p50_ms": pct(self.connect_ms, 50),
              "connect_p99_ms": pct(self.connect_ms, 99),
              "connect_max_ms": self.connect_ms[-1] if self.connect_ms else None})
        stdin = sys.stdin.fileno()
        os.set_blocking(stdin, False)
        self.ep.register(stdin, IN)
        line = b""
        while True:
            events = self.ep.poll(0.01 if self.args.heartbeat else 0.5)
            self.handle(events)
            if self.args.heartbeat:
                self.check_slot()
            if any(fd == stdin for fd, _ in events):
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                line += chunk
                while b"\n" in line:
                    cmd, _, line = line.partition(b"\n")
                    if self.command(cmd.decode().strip()):
                        return

    def command(self, cmd: str) -> bool:
        if cmd == "stats":
            emit({"event": "stats", "state_events": self.state_events,
                  "disconnects": self.disconnects})
        elif cmd == "dump":
            with open(self.args.out, "w") as f:
                json.dump({"versions": self.versions,
                           "clients": [s.rec if s else [] for s in self.screens],
                           "disconnects": self.disconnects, "subscribed": self.subscribed,
                           "failed": self.failed, "pings_at": self.pings_at,
                           "stalls": self.stalls,
                           "heartbeat": {"hellos": self.hellos, "hello_acks": self.hello_acks,
                                         "shown": self.shown_sent}
                           if self.args.heartbeat else None}, f)
            for screen in self.screens:
                if screen is not None and screen.open:
                    screen.open = False
                    screen.sock.close()
            emit({"event": "done", "state_events": self.state_events,
                  "disconnects": self.disconnects})
            return True
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--room", default="plenary")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--connect-timeout", type=float, default=60000)
    p.add_argument("--out", required=True)
    p.add_argument("--heartbeat", action="store_true")
    p.add_argument("--id-prefix", default=f"bench{os.getpid()}")
    Generator(p.parse_args()).run()


if __name__ == "__main__":
    main()
