"""Clients that never read cannot make the server hold states for them without end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket

from tests.faults.harness import node
from tests.integration.test_fanout import open_plenary, post_long_announcements
from tests.support import LiveServer, engine_socket

pytestmark = pytest.mark.slow

SWARM = 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def bounded_server(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server with the default bounds on what may wait for one client."""
    server = node(redis_url, tmp_path / "node", prefix, PLENARY_MAX_QUEUED_FRAMES="32",
                  PLENARY_MAX_QUEUED_BYTES=str(1 << 20))
    server.start()
    yield server
    server.stop()


def test_a_swarm_that_never_reads_is_cut_off_and_memory_stays_flat(
        bounded_server: LiveServer) -> None:
    live_server = bounded_server
    admin = live_server.token("admin")
    auth = {"Authorization": f"Bearer {admin}"}
    room, _codes, chair = open_plenary(live_server)
    post_long_announcements(live_server, admin, room, 20)  # a ~30 KB state
    swarm: list[websocket.WebSocket] = []
    for _ in range(SWARM):
        ws = engine_socket(live_server, chair, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                         1024),))
        ws.send('420["subscribe",' + json.dumps({"room": room}) + "]")
        swarm.append(ws)  # never read again
    watcher = engine_socket(live_server, live_server.token("screen", room))
    watcher.send('420["subscribe",' + json.dumps({"room": room}) + "]")
    assert live_server.process is not None
    pid = live_server.process.pid
    time.sleep(1.0)
    before = rss_mb(pid)
    started = time.monotonic()
    for n in range(150):  # 10 commands a second for 15 s
        kind = "list.close" if n % 2 == 0 else "list.reopen"
        assert live_server.command(chair, {"type": kind, "room": room}).status_code == 200
        time.sleep(max(0.0, started + (n + 1) * 0.1 - time.monotonic()))
    time.sleep(2.0)
    after = rss_mb(pid)
    node = requests.get(f"{live_server.url}/api/node", headers=auth, timeout=10).json()
    final = requests.get(f"{live_server.url}/api/rooms/{room}", headers=auth,
                         timeout=10).json()["version"]
    # The reading screen got the last state; the swarm was cut off, memory stayed flat.
    watcher.settimeout(10)
    newest = None
    while newest != final:
        frame = watcher.recv()
        if frame == "2":
            watcher.send("3")
        elif frame.startswith('42["state",'):
            newest = json.loads(frame[2:])[1]["version"]
    watcher.close()
    for ws in swarm:
        ws.close()
    print(f"non-reading swarm: rss {before:.1f} -> {after:.1f} MB, "
          f"cut off {node['frames']['cut_off']}, sockets left {node['sockets']}")
    assert node["frames"]["cut_off"] >= SWARM
    assert after - before < 20, (before, after)
    log = live_server.log_path.read_text()
    assert log.count("is not reading") == node["frames"]["cut_off"]


FROZEN_CLIENT = """
import json, socket, sys, time
import websocket
url, origin, token, room = sys.argv[1:5]
ws = websocket.create_connection(url, origin=origin, timeout=10,
                                 sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 1024),))
assert ws.recv().startswith("0{")
ws.send("40" + json.dumps({"token": token}))
assert ws.recv().startswith("40")
ws.send('420["subscribe",' + json.dumps({"room": room}) + "]")
print(ws.sock.getsockname()[1], flush=True)
time.sleep(600)
"""


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of a loopback TCP connection, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port):
            return fields[9]
    return None


def _holds(pid: int, inode: str) -> bool:
    """Whether the process still has that socket open."""
    target = f"socket:[{inode}]"
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:
            continue
    return False


@pytest.fixture
def quick_pings(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Pings every 3 s, 3 s to answer; no bound on queued states (the ping path alone)."""
    server = node(redis_url, tmp_path / "node", prefix, PLENARY_PING_INTERVAL_S="3",
                  PLENARY_PING_TIMEOUT_S="3")
    server.start()
    yield server
    server.stop()


def test_a_frozen_client_is_closed_within_the_ping_bound(quick_pings: LiveServer) -> None:
    server = quick_pings
    admin = server.token("admin")
    room, _codes, chair = open_plenary(server)
    post_long_announcements(server, admin, room, 20)  # a ~30 KB state: buffers fill fast
    client = subprocess.Popen(
        [sys.executable, "-c", FROZEN_CLIENT, server.socket_url, server.url, chair, room],
        stdout=subprocess.PIPE, text=True)
    try:
        client_port = int(client.stdout.readline())  # type: ignore[union-attr]
        assert server.process is not None
        inode = _server_socket_inode(server.port, client_port)
        assert inode is not None and _holds(server.process.pid, inode)
        client.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        for n in range(40):  # states the frozen client never reads: its buffers fill
            kind = "list.close" if n % 2 == 0 else "list.reopen"
            assert server.command(chair, {"type": kind, "room": room}).status_code == 200
        bound = 3 + 3 + 2  # ping interval + ping timeout, and a margin
        while _holds(server.process.pid, inode):
            assert time.monotonic() - frozen < bound, "the frozen client's socket is held"
            time.sleep(0.2)
        print(f"frozen client: socket released {time.monotonic() - frozen:.1f} s after the "
              f"freeze (bound {bound} s)")
    finally:
        client.kill()
        client.wait()
        client.stdout.close()  # type: ignore[union-attr]
