"""Deeply nested JSON is refused with a clear error before anything walks it, in one log line."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support import LiveServer, engine_socket


def _logged_since(server: LiveServer, before: int) -> list[str]:
    """The server's log lines after the first `before`, less the start's banner and links
    (printed once the server listens, so possibly after the test began)."""
    lines = server.log_path.read_text().splitlines()[before:]
    banner = ("Plenary Live:", "Serving on", "Access links:")
    return [line for line in lines
            if not line.startswith(banner) and "/access/" not in line]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.slow
@pytest.mark.parametrize("depth", [40, 1000, 5000, 100_000])
def test_deep_http_bodies_are_bad_json(live_server: LiveServer, depth: int) -> None:
    before = len(live_server.log_path.read_text().splitlines())
    body = ('{"type":"speaker.add","room":"plenario","delegation":"PAN","speaker_name":'
            + _deep(depth) + "}")
    answer = requests.post(f"{live_server.url}/api/commands", data=body, timeout=10, headers={
        "Authorization": f"Bearer {live_server.token('admin')}",
        "Content-Type": "application/json"})
    assert answer.status_code == 400 if depth < 30_000 else answer.status_code in (400, 413)
    assert answer.json()["error"]["code"] in ("bad_json", "too_large")
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
    logged = _logged_since(live_server, before)
    assert len(logged) <= 1, logged
    assert not any("Traceback" in line or "RecursionError" in line for line in logged)


@pytest.mark.slow
def test_a_deep_socketio_command_is_refused_in_its_ack(live_server: LiveServer) -> None:
    before = len(live_server.log_path.read_text().splitlines())
    ws = engine_socket(live_server, live_server.token("admin"))
    ws.send('421["command",{"type":"speaker.add","speaker_name":' + _deep(2000) + "}]")
    ws.send("422" + json.dumps(["probe", {"room": "plenario"}]))
    answers = []
    for _ in range(5):
        frame = ws.recv()
        if frame == "2":  # a ping: answer it and keep reading
            ws.send("3")
            continue
        answers.append(frame)
        if frame.startswith("432") and any(a.startswith("431") for a in answers):
            break
    ws.close()
    refused = next(json.loads(a[3:])[0] for a in answers if a.startswith("431"))
    assert refused["ok"] is False and refused["error"]["code"] == "bad_json"
    assert any(a.startswith("432") for a in answers), answers  # the socket still serves
    logged = _logged_since(live_server, before)
    assert len(logged) <= 1, logged
    assert not any("Traceback" in line or "RecursionError" in line for line in logged)
