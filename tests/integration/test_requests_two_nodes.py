"""Two web nodes on one stream: a delegation's request made on one node reaches the chair
connected to the other, live, and never the room's screen there."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
import websocket

from tests.conftest import SECRET
from tests.support import LiveServer, engine_socket, free_port

ROOM, SITTING = "plenario", "plenaria"


def states_until(ws: websocket.WebSocket, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """The states a raw socket receives until `done(state)` or the timeout."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        if frame == "2":
            ws.send("3")  # Engine.IO ping: answer, or the server drops us
            continue
        if frame.startswith('42["state",'):
            got.append(json.loads(frame[2:])[1])
            if done(got[-1]):
                return got
    raise AssertionError(f"not seen within {timeout} s: {got[-1:] if got else 'no state'}")


def test_a_request_made_on_one_node_is_seen_by_the_chair_on_the_other(
        redis_url: str, prefix: str, tmp_path: Any) -> None:
    env = {"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET}
    nodes = [LiveServer(free_port(), tmp_path / f"n{i}", env) for i in range(2)]
    for node in nodes:
        node.start()
    try:
        chair_token = nodes[1].token("chair", ROOM)
        assert nodes[1].command(chair_token, {"type": "session.open", "room": ROOM,
                                              "session_id": SITTING}).status_code == 200
        desk = engine_socket(nodes[1], chair_token, timeout=1)
        screen = engine_socket(nodes[1], nodes[1].token("screen", ROOM), timeout=1)
        for ws in (desk, screen):
            ws.send('421["subscribe",' + json.dumps({"room": ROOM}) + "]")
            assert ws.recv().startswith("431")
        answer = nodes[0].command(nodes[0].token("delegation", "JAM"),
                                  {"type": "request.submit", "room": ROOM,
                                   "on_behalf_of": "CARICOM", "language": "en"})
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        seen = states_until(desk, lambda s: any(
            r["request_id"] == request_id for r in s["speakers"].get("requests", [])))
        request = seen[-1]["speakers"]["requests"][0]
        assert request["delegation"]["code"] == "JAM"
        assert request["on_behalf_of"]["code"] == "CARICOM"
        version = seen[-1]["version"]
        shown = states_until(screen, lambda s: s["version"] == version)
        assert all("requests" not in s["speakers"] for s in shown)
        # The chair on the second node accepts it; the first node serves the new list.
        assert nodes[1].command(chair_token, {"type": "request.accept", "room": ROOM,
                                              "request_id": request_id}).status_code == 200
        deadline = time.monotonic() + 10
        while True:
            state = requests.get(f"{nodes[0].url}/api/rooms/{ROOM}", timeout=10, headers={
                "Authorization": f"Bearer {nodes[0].token('screen', ROOM)}"}).json()
            if [e["delegation"]["code"] for e in state["speakers"]["queue"]] == ["JAM"]:
                break
            assert time.monotonic() < deadline, state["speakers"]
            time.sleep(0.1)
        desk.close()
        screen.close()
    finally:
        for node in nodes:
            node.stop()
