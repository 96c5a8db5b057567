"""Clients that never read cannot make the server hold states for them without end."""

from __future__ import annotations

import json
import socket
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
