"""Real servers (`plenary run` processes), real sockets, real Redis."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import socketio

from tests.conftest import SECRET
from tests.support import LiveServer, free_port

pytestmark = pytest.mark.slow


def programme_of(server: LiveServer) -> dict:
    return requests.get(f"{server.url}/api/programme",
                        headers={"Authorization": f"Bearer {server.token('admin')}"}).json()


def plenary_sitting(programme: dict) -> tuple[str, str]:
    s = next(s for s in programme["sessions"] if s["kind"] == "plenary")
    return s["room"], s["id"]


class Screen:
    """A stock python-socketio client subscribed to one room, keeping the newest state."""

    def __init__(self, server: LiveServer, room: str) -> None:
        self.states: list[dict] = []
        self.got = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2,
                                   reconnection_delay_max=1)
        self.sio.on("state", self._on_state)
        self.sio.on("connect", lambda: self.sio.emit("subscribe", {"room": room},
                                                     callback=self._on_ack))
        self.sio.connect(server.url, auth={"token": server.token("screen", room)},
                         transports=["websocket"], wait_timeout=10)

    def _on_ack(self, ack: dict) -> None:
        if ack.get("ok"):
            self._on_state(ack["state"])

    def _on_state(self, state: dict) -> None:
        self.states.append(state)
        self.got.set()

    def wait_for(self, version: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in reversed(self.states):
                if s["version"] == version:
                    return s
            time.sleep(0.01)
        raise AssertionError(f"no state {version}; last {self.states[-1:]}")

    def close(self) -> None:
        self.sio.disconnect()


def test_a_chair_command_reaches_every_subscribed_screen(live_server):
    room, session = plenary_sitting(programme_of(live_server))
    screens = [Screen(live_server, room) for _ in range(5)]
    chair = live_server.token("chair", room)
    try:
        live_server.command(chair, {"type": "session.open", "room": room, "session_id": session})
        answer = live_server.command(chair, {"type": "speaker.add", "room": room,
                                             "delegation": "PAN"}).json()
        for screen in screens:
            state = screen.wait_for(answer["version"])
            assert state["speakers"]["queue"][0]["delegation"]["code"] == "PAN"
    finally:
        for screen in screens:
            screen.close()


def test_two_nodes_never_both_apply_conflicting_commands(redis_url, prefix, tmp_path):
    env = {"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET}
    nodes = [LiveServer(free_port(), tmp_path / f"n{i}", env) for i in range(2)]
    for node in nodes:
        node.start()
    try:
        programme = programme_of(nodes[0])
        room, session = plenary_sitting(programme)
        chair = nodes[0].token("chair", room)
        codes = [d["code"] for d in programme["delegations"]][:12]
        nodes[0].command(chair, {"type": "session.open", "room": room, "session_id": session})
        for code in codes:
            assert nodes[1].command(chair, {"type": "speaker.add", "room": room,
                                            "delegation": code}).status_code == 200
        # 24 "Next" presses at once, spread over both nodes, for 12 waiting speakers.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda i: nodes[i % 2].command(chair, {"type": "speaker.next", "room": room}),
                range(24)))
        assert all(a.status_code in (200, 409) for a in answers)
        log = requests.get(f"{nodes[0].url}/api/events?limit=1000",
                           headers={"Authorization": f"Bearer {nodes[0].token('admin')}"}).json()
        given = [e["data"]["delegation"] for e in log if e["type"] == "speaker.floor_given"]
        assert sorted(given) == sorted(codes)  # each exactly once, none skipped
        assert given == codes  # and in the order of the list
        # both nodes end with the same state
        states = [requests.get(f"{n.url}/api/rooms/{room}",
                               headers={"Authorization": f"Bearer {chair}"}).json()
                  for n in nodes]
        assert states[0]["version"] == states[1]["version"]
        assert states[0]["speakers"] == {**states[1]["speakers"], "current": states[0][
            "speakers"]["current"], "forecast_end": states[0]["speakers"]["forecast_end"]}
        assert states[0]["speakers"]["queue"] == []
    finally:
        for node in nodes:
            node.stop()


def test_expected_version_lets_one_of_two_simultaneous_presses_through(live_server):
    room, session = plenary_sitting(programme_of(live_server))
    chair = live_server.token("chair", room)
    live_server.command(chair, {"type": "session.open", "room": room, "session_id": session})
    for code in ("PAN", "USA", "MEX"):
        live_server.command(chair, {"type": "speaker.add", "room": room, "delegation": code})
    version = requests.get(f"{live_server.url}/api/rooms/{room}",
                           headers={"Authorization": f"Bearer {chair}"}).json()["version"]
    body = {"type": "speaker.next", "room": room, "expected_version": version}
    with ThreadPoolExecutor(6) as pool:
        codes = [r.status_code for r in pool.map(lambda _: live_server.command(chair, body),
                                                   range(6))]
    assert sorted(codes) == [200, 409, 409, 409, 409, 409]


def test_a_hard_killed_embedded_service_restarts_with_nothing_lost(tmp_path: Path):
    env = {"REDIS_URL": "", "SECRET_KEY": SECRET}
    server = LiveServer(free_port(), tmp_path / "data", env)
    server.start()
    try:
        room, session = plenary_sitting(programme_of(server))
        chair = server.token("chair", room)
        server.command(chair, {"type": "session.open", "room": room, "session_id": session})
        for code in ("PAN", "USA", "BRA", "CAN"):
            assert server.command(chair, {"type": "speaker.add", "room": room,
                                          "delegation": code}).status_code == 200
        server.command(chair, {"type": "speaker.next", "room": room})
        before = requests.get(f"{server.url}/api/rooms/{room}",
                              headers={"Authorization": f"Bearer {chair}"}).json()
        server.kill()
        server.start()
        after = requests.get(f"{server.url}/api/rooms/{room}",
                             headers={"Authorization": f"Bearer {chair}"}).json()
        assert after["version"] == before["version"]
        assert [{k: v for k, v in e.items() if k != "wait_s"} for e in after[
            "speakers"]["queue"]] == [{k: v for k, v in e.items() if k != "wait_s"}
                                     for e in before["speakers"]["queue"]]
        assert after["speakers"]["current"]["entry_id"] == before["speakers"]["current"][
            "entry_id"]
        # the same links still work: same secret, same tokens
        links = [json.loads(line) for line in
                 server_links(server).splitlines() if line.strip()]
        assert any(link["token"] == chair for link in links)
    finally:
        server.stop()
    pidfile = tmp_path / "data" / "valkey" / "valkey.pid"
    deadline = time.monotonic() + 10
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pidfile.exists(), "the embedded server outlived its owner"


def server_links(server: LiveServer) -> str:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "links", "--json"],
        env=server.env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout


def test_a_foreign_origin_is_refused_on_a_real_socket(live_server):
    import websocket

    ws_url = live_server.socket_url
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, origin="https://evil.example", timeout=5)
    assert refused.value.status_code == 403
    own = websocket.create_connection(ws_url, origin=live_server.url, timeout=5)
    assert own.recv().startswith("0{")  # the engine.io open packet
    own.close()

    poll_url = f"{live_server.url}/socket.io/?EIO=4&transport=polling"
    assert requests.get(poll_url, headers={"Origin": "https://evil.example"},
                        timeout=5).status_code == 400
    ok = requests.get(poll_url, headers={"Origin": live_server.url}, timeout=5)
    assert ok.status_code == 200 and ok.text.startswith("0{")
