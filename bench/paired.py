"""Two builds side by side: the chair's ack of each, commands alternated between them.

`run.py --suites ack` measures one build at a time; two builds are compared by
alternating whole runs, and the machine's own drift between runs (other work
on a shared host) is often larger than a change of a tenth of a millisecond.
Here both builds run at once, each `plenary run` on a `redis-server` of its
own (`appendfsync always`), and one client sends a command to each in turn
(which goes first alternates), over a kept-alive HTTP connection (or, with
`--transport socketio`, as a Socket.IO event with an ack), with no screen
(or, with `--screens N`, N screens of the room on each build, each sent every
state): what the two builds' acks differ by is measured under the same
conditions, command by command. Each round is one JSON line: each build's p50 / p90 / p99
(ms) and the median of the paired differences (`a_minus_b_ms`).

    python bench/paired.py --a . --b ../plenary-0.1.0 --rounds 3 --out results/x.jsonl

A checkout is run with its own `.venv/bin/plenary` when it has one (a build with
other dependencies), else with this interpreter's `plenary` and the checkout
first on PYTHONPATH. `--env-b KEY=VALUE` sets a variable for build B only (a
setting compared with itself: `--a . --b . --env-b PLENARY_DISABLE_SEAMS=writer`).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine import BENCH, HOST, Proc, code_of, free_port, log, machine_info, stop_all, wait_ready
from screens_epoll import event_frame, masked
from targets import Redis, auto_room, ours_commands, pick_token, plenary_argv, plenary_env


class HttpChair:
    """The chair over HTTP: a kept-alive connection, as a browser's `fetch`."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(HOST, port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, command: dict[str, Any]) -> float:
        body = json.dumps(command)
        began = time.perf_counter()
        self.conn.request("POST", "/api/commands", body, self.headers)
        answer = self.conn.getresponse()
        answer.read()
        took = time.perf_counter() - began
        if answer.status != 200:
            raise RuntimeError(f"command answered {answer.status}")
        return took


class SocketChair:
    """The chair over Socket.IO: Engine.IO v4 / Socket.IO v5 on a websocket framed here,
    as `screens_epoll.py`'s screens; each command is an event with an ack."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"no websocket: {head[:200]!r}")
        self._frame()  # Engine.IO's open packet
        self.sock.sendall(masked("40" + json.dumps({"token": token})))
        while not (connected := self._frame()).startswith("4"):
            pass
        if not connected.startswith("40"):
            raise RuntimeError(f"Socket.IO connect refused: {connected[:200]}")
        self.acks = 0

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the socket")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self) -> str:
        """The next text frame; Engine.IO's pings answered on the way."""
        while True:
            first, second = self._take(2)
            n = second & 0x7F
            if n >= 126:
                n = int.from_bytes(self._take(2 if n == 126 else 8), "big")
            text = self._take(n).decode()
            if first & 0x0F == 8:
                raise ConnectionError("the server closed the websocket")
            if text == "2":
                self.sock.sendall(masked("3"))
                continue
            return text

    def send(self, command: dict[str, Any]) -> float:
        self.acks += 1
        frame, prefix = event_frame("command", command, self.acks), f"43{self.acks}["
        began = time.perf_counter()
        self.sock.sendall(frame)
        while not (text := self._frame()).startswith(prefix):
            pass
        took = time.perf_counter() - began
        answer = json.loads(text[len(prefix) - 1:])[0]
        if not answer.get("ok"):
            raise RuntimeError(f"command refused: {answer}")
        return took


@dataclass
class Build:
    """One build's server, its Redis, the chair and its acks (seconds)."""

    name: str
    tree: Path
    proc: Proc
    redis: Redis
    chair: HttpChair | SocketChair
    cycle: list[dict[str, Any]]
    acks: list[float] = field(default_factory=list)
    sent: int = 0  # the cycle goes on across rounds: each command applies to the state

    def send(self) -> float:
        command = self.cycle[self.sent % len(self.cycle)]
        self.sent += 1
        try:
            return self.chair.send(command)
        except RuntimeError as exc:
            raise RuntimeError(f"{self.name}: {exc}") from None


def start(name: str, tree: Path, env_extra: list[str], workdir: Path, transport: str,
          screens: int = 0) -> Build:
    redis = Redis("always", workdir)
    data = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    env = plenary_env(redis.url, data, f"paired{uuid.uuid4().hex[:8]}")
    env["PYTHONPATH"] = str(tree)
    env["SECRET_KEY"] = uuid.uuid4().hex * 2
    # One chair socket sends every command, the warm-up's with no pause: above a
    # socket's allowance of events (run.py's chair spreads them over several sockets).
    env["PLENARY_SOCKET_RATE"] = "1000"
    env.update(kv.split("=", 1) for kv in env_extra)  # type: ignore[misc]
    own = tree / ".venv" / "bin" / "plenary"
    argv = [str(own)] if own.exists() else plenary_argv()
    port = free_port()
    proc = Proc.start(name, [*argv, "run", "--host", HOST, "--port", str(port)], env=env)
    wait_ready(port, proc, 120)
    out = subprocess.run([*argv, "links", "--json"], env=env, capture_output=True, text=True,
                         timeout=60)
    links = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    room = auto_room(links)
    token = pick_token(links, "chair", room)
    cycle = ours_commands(port, token, room, 5)
    if screens:  # the room's screens, each sent every state, as in run.py's ack suite
        watchers = Proc.start(f"{name}-screens", [
            sys.executable, str(BENCH / "screens_epoll.py"), "--url", f"http://{HOST}:{port}",
            "--token", pick_token(links, "screen", room), "--room", room,
            "--count", str(screens), "--out", str(workdir / f"{name}-screens.json")],
            cwd=BENCH, stdin=True)
        watchers.wait_json("ready", 60)
    chair = SocketChair(port, token) if transport == "socketio" else HttpChair(port, token)
    return Build(name, tree, proc, redis, chair, cycle)


def percentiles(acks: list[float]) -> dict[str, float]:
    ordered = sorted(acks)
    n = len(ordered)
    return {f"p{q}": round(ordered[min(n - 1, n * q // 100)] * 1000, 3) for q in (50, 90, 99)}


def one_round(a: Build, b: Build, commands: int, pause_s: float) -> dict[str, Any]:
    for build in (a, b):
        build.acks = []
    for i in range(commands):
        for build in ((a, b) if i % 2 else (b, a)):
            build.acks.append(build.send())
            time.sleep(pause_s)
    differences = [x - y for x, y in zip(a.acks, b.acks, strict=True)]
    return {"a": percentiles(a.acks), "b": percentiles(b.acks),
            "a_minus_b_ms": round(statistics.median(differences) * 1000, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", type=Path, required=True, help="checkout of build A")
    p.add_argument("--b", type=Path, required=True, help="checkout of build B")
    p.add_argument("--env-b", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--commands", type=int, default=3000, help="per build and round")
    p.add_argument("--warmup", type=int, default=300, help="per build, not measured")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pause-ms", type=float, default=3.0, help="after each command")
    p.add_argument("--transport", choices=["http", "socketio"], default="http",
                   help="the chair's: HTTP on a kept-alive connection, or Socket.IO")
    p.add_argument("--screens", type=int, default=0,
                   help="screens of the room on each build (bench/screens_epoll.py)")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="plenary-paired-") as tmp:
        try:
            workdir = Path(tmp)
            a = start("a", args.a.resolve(), [], workdir, args.transport, args.screens)
            b = start("b", args.b.resolve(), args.env_b, workdir, args.transport, args.screens)
            for _ in range(args.warmup):
                a.send()
                b.send()
            for n in range(args.rounds):
                line = {"suite": "paired-ack", "transport": args.transport, "round": n + 1,
                        "commands": args.commands, "screens": args.screens,
                        "a_code": code_of(a.tree), "b_code": code_of(b.tree),
                        "b_env": args.env_b, **one_round(a, b, args.commands, args.pause_ms / 1000),
                        "machine": machine_info()}
                print(json.dumps(line), flush=True)
                if args.out:
                    with args.out.open("a") as f:
                        f.write(json.dumps(line) + "\n")
                log(f"round {n + 1}: A {line['a']} B {line['b']} A-B {line['a_minus_b_ms']} ms")
        finally:
            stop_all()


if __name__ == "__main__":
    main()
