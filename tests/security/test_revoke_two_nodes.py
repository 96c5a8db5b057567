"""A revoke on one node holds on every node from the next request: HTTP, commands and
Socket.IO connections; sockets already open close within about a second."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from tests.faults.harness import node, programme_of, rooms_with_sittings
from tests.support import engine_socket

pytestmark = pytest.mark.slow


def connect_refusal(server, token: str) -> str:
    """The first Socket.IO frame a connection with `token` gets: "40…" or "44{error}"."""
    ws = websocket.create_connection(server.socket_url, origin=server.url, timeout=10)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40" + json.dumps({"token": token}))
        return str(ws.recv())
    finally:
        ws.close()


def test_a_revoked_link_is_refused_by_the_other_node_at_its_next_request(
        redis_url, prefix, tmp_path):
    a, b = (node(redis_url, tmp_path / name, prefix) for name in ("a", "b"))
    a.start()
    b.start()
    try:
        room, sitting = rooms_with_sittings(programme_of(a))[0]
        admin = {"Authorization": f"Bearer {a.token('admin')}"}
        old = b.token("chair", room)
        opened = engine_socket(b, old)  # an open console on the other node
        for round_ in range(3):  # each round revokes the link the round before made
            assert requests.get(f"{b.url}/api/rooms/{room}", timeout=5,
                                headers={"Authorization": f"Bearer {old}"}).status_code == 200
            answer = requests.post(f"{a.url}/api/access/revoke", headers=admin, timeout=5,
                                   json={"role": "chair", "room": room})
            assert answer.status_code == 200, answer.text
            new = answer.json()["token"]
            # At once, on the other node: no wait for its once-a-second refresh.
            refused = requests.get(f"{b.url}/api/rooms/{room}", timeout=5,
                                   headers={"Authorization": f"Bearer {old}"})
            assert refused.status_code == 401, (round_, refused.text)
            assert refused.json()["error"]["code"] == "token_revoked"
            # Whether the command would be appended, refused by the rules or malformed.
            version = requests.get(f"{b.url}/api/rooms/{room}", timeout=5, headers={
                "Authorization": f"Bearer {new}"}).json()["version"]
            for body in ({"type": "session.open", "room": room, "session_id": sitting},
                         {"type": "list.close", "room": room},
                         {"type": "speaker.add", "room": room}):
                command = b.command(old, body)
                assert command.status_code == 401 and \
                    command.json()["error"]["code"] == "token_revoked", (body, command.text)
            assert requests.get(f"{b.url}/api/rooms/{room}", timeout=5, headers={
                "Authorization": f"Bearer {new}"}).json()["version"] == version
            frame = connect_refusal(b, old)
            assert frame.startswith("44") and "token_revoked" in frame, frame
            assert connect_refusal(b, new).startswith("40")
            page = requests.get(f"{b.url}/chair/{room}", cookies={"plenary_session": old},
                                timeout=5)
            assert page.status_code == 401
            old = new
        # The console opened before the first revoke is closed within about a second.
        opened.settimeout(5)
        deadline = time.monotonic() + 5
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                frame = opened.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                closed = True
                break
            closed = frame in ("", "1") or frame.startswith("41")
        assert closed, "the revoked console's socket stayed open"
        opened.close()
    finally:
        a.stop()
        b.stop()
