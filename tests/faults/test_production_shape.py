"""The production shape of docker-compose.yml, run natively on loopback ports: nginx with
deploy/nginx.conf, two gunicorn web nodes, the workers and Redis. A browser screen and stock
Socket.IO clients (websocket and long-polling) connect through nginx; each web node in turn
is SIGKILLed and every screen is on the other within 5 s, with /readyz staying 200."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from dashboard.store.eventlog import id_key
from tests.conftest import SECRET
from tests.faults.harness import RetryingChair, Swarm, programme_of, rooms_with_sittings
from tests.faults.topology import NGINX, Topology, wait_ok
from tests.support import LiveServer

pytestmark = pytest.mark.slow

SCREENS = 10


class PollingScreen:
    """A stock python-socketio client on HTTP long-polling only."""

    def __init__(self, url: str, token: str, room: str) -> None:
        self.version: str | None = None
        self.room = room
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.3,
                                   reconnection_delay_max=1.0)
        self.sio.on("connect", lambda: self.sio.emit(
            "subscribe", {"room": room}, callback=lambda ack: self.seen(ack.get("state"))))
        self.sio.on("state", self.seen)
        self.sio.connect(url, auth={"token": token}, transports=["polling"], wait_timeout=10)

    def seen(self, state: dict[str, Any] | None) -> None:
        if state and state["room"]["id"] == self.room and (
                self.version is None or id_key(state["version"]) > id_key(self.version)):
            self.version = state["version"]


@pytest.mark.timeout(90)
def test_production_shape_survives_a_killed_web_node(tmp_path, browser, record_property):
    if not Path(NGINX).exists():
        pytest.skip("nginx not installed: apt-get install -y nginx")
    topology = Topology.load({"SECRET_KEY": SECRET}, tmp_path)
    assert len(topology.ports["web"]) == 2  # compose's deploy.replicas
    assert topology.environment("web")["PLENARY_PROXY_COUNT"] == "1"
    proxy = f"http://{topology.address('proxy')}"
    topology.env["PLENARY_BASE_URL"] = proxy
    stop = threading.Event()
    refused: list[int] = []
    polling = swarm = context = None
    try:
        topology.start("redis")
        for index in range(2):
            topology.start("web", index)
        for name in ("scheduler", "minutes", "snapshots"):
            topology.start(name)
        topology.start_proxy()
        for index in range(2):
            wait_ok(f"http://{topology.address('web', index)}/readyz", 40, f"web {index}")
        wait_ok(f"{proxy}/readyz", 10, "nginx")

        def watch_ready() -> None:
            while not stop.is_set():
                try:
                    status = requests.get(f"{proxy}/readyz", timeout=2).status_code
                except requests.RequestException:
                    status = 0
                if status != 200:
                    refused.append(status)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch_ready, daemon=True)
        watcher.start()

        server = LiveServer(int(topology.ports["proxy"][0]), tmp_path / "client",
                            {"SECRET_KEY": SECRET})
        programme = programme_of(server)
        room, sitting = rooms_with_sittings(programme)[0]
        codes = [d["code"] for d in programme["delegations"]]
        chair = RetryingChair([server], server.token("chair", room), room)
        chair.send({"type": "session.open", "session_id": sitting})
        screen_token = server.token("screen", room)
        swarm = Swarm([proxy], screen_token, [room], SCREENS, tmp_path)
        swarm.wait_ready(30)
        polling = PollingScreen(proxy, screen_token, room)
        context = browser.new_context(bypass_csp=True)  # Playwright polls by evaluating strings
        page = context.new_page()
        page.goto(f"{proxy}/access/{screen_token}")
        page.wait_for_function("document.body.dataset.phase === 'live'", timeout=15000)

        def everyone_at(version: str) -> bool:
            shown = page.evaluate("document.body.dataset.version") or "0-0"
            status = swarm.status()
            return (status["subscribed"] == SCREENS
                    and all(v and id_key(v) >= id_key(version) for v in status["versions"])
                    and polling.version is not None
                    and id_key(polling.version) >= id_key(version)
                    and id_key(shown) >= id_key(version))

        moved: list[float] = []
        for turn, index in enumerate((0, 1)):
            node = topology.processes["web"][index]
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
            killed = time.monotonic()
            command_id = f"add-{turn}"
            for _ in range(20):  # a 502 of the proxy: the command_id makes a retry safe
                try:
                    chair.send({"type": "speaker.add", "delegation": codes[turn]},
                               command_id=command_id)
                    break
                except AssertionError as exc:
                    assert "502" in str(exc), exc
                    time.sleep(0.1)
            version = chair.acked[-1][1]
            while not everyone_at(version):
                assert time.monotonic() - killed < 5, (
                    f"screens not on the other node within 5 s: {swarm.status()['versions']}, "
                    f"polling {polling.version}")
                time.sleep(0.1)
            moved.append(time.monotonic() - killed)
            topology.start("web", index)  # back, for the next turn to kill the other
            wait_ok(f"http://{topology.address('web', index)}/readyz", 40, f"web {index}")
            time.sleep(2.5)  # nginx's fail_timeout: the restarted node is an upstream again
        stop.set()
        watcher.join(5)
        print(f"every screen (10 websocket, 1 long-polling, 1 browser) on the other node "
              f"{moved[0]:.2f} s and {moved[1]:.2f} s after each kill; "
              f"/readyz through nginx: {len(refused)} not 200")
        record_property("moved_s", [round(m, 2) for m in moved])
        assert not refused, refused
    finally:
        stop.set()
        if context is not None:
            context.close()
        if polling is not None:
            polling.sio.disconnect()
        if swarm is not None:
            swarm.close()
        topology.stop_all()


@pytest.mark.timeout(60)
def test_no_web_node_answering_is_a_503_unavailable(tmp_path: Path) -> None:
    # nginx answered its own HTML 502 when the node it picked was down: a client
    # reading the contract's JSON error (503 `unavailable`: retry) got neither.
    topology = Topology.load({"SECRET_KEY": SECRET}, tmp_path)
    try:
        topology.start_proxy()  # the web nodes' ports: nothing listens on them
        url = f"http://{topology.address('proxy')}"
        wait_ok(f"{url}/nginx-health", 20, "proxy")
        for answer in (requests.post(f"{url}/api/commands", json={}, timeout=10),
                       requests.get(f"{url}/socket.io/?EIO=4&transport=polling", timeout=10)):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "unavailable"
    finally:
        topology.stop_all()
