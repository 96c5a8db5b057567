"""A client's event named like the server's own (`connect`, `disconnect`) is an unknown
event: python-socketio would hand it to the handler of the real connection or its end,
so a page could drop itself from the fleet, lose its socket's record while the socket
stays open, and fill the log with a traceback for every message after."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from tests.support import LiveServer, engine_socket

pytestmark = pytest.mark.slow


def _answer(ws: websocket.WebSocket, ack: str) -> dict:
    """The ack numbered `ack` (pings answered on the way)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith(ack):
            return json.loads(frame[len(ack):])[0]
    raise AssertionError(f"no ack {ack}")


def _fleet(server: LiveServer) -> dict[str, str]:
    pages = requests.get(f"{server.url}/api/screens", timeout=5, headers={
        "Authorization": f"Bearer {server.token('admin')}"}).json()
    return {page["screen_id"]: page["status"] for page in pages}


def test_events_named_connect_or_disconnect_change_nothing(live_server: LiveServer) -> None:
    token = live_server.token("screen", "plenario")
    ws = engine_socket(live_server, token)
    ws.send("421" + json.dumps(["hello", {"kind": "screen", "screen_id": "wall-1"}]))
    assert _answer(ws, "431")["ok"] is True
    before = len(live_server.log_path.read_text().splitlines())
    ws.send("42" + json.dumps(["disconnect", "client namespace disconnect"]))
    ws.send("42" + json.dumps(["connect", {"token": token}]))
    ws.send("422" + json.dumps(["probe", {"room": "plenario"}]))
    assert _answer(ws, "432")["ok"] is True  # the socket still has its record
    time.sleep(1.5)  # the node writes the fleet once a second
    assert _fleet(live_server)["wall-1"] == "live"
    ws.close()
    logged = live_server.log_path.read_text().splitlines()[before:]
    assert not any("Traceback" in line for line in logged), logged
