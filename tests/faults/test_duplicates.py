"""Promise 5: a command sent three times with one command_id, or retried after its
answer was lost, appends exactly one event (over HTTP, Socket.IO, and across nodes)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
import socketio

from tests.faults.harness import node, programme_of, rooms_with_sittings, stream_entries

pytestmark = pytest.mark.slow


def events_of(redis_url: str, prefix: str, meeting: str, command_id: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [eid for eid, f in stream_entries(client, prefix, meeting)
                if f.get("cmd") == command_id]
    finally:
        client.close()


def test_one_command_id_sent_three_times_at_once_to_two_nodes_appends_once(
        live_server, redis_url, prefix, tmp_path):
    other = node(redis_url, tmp_path / "other", prefix)
    other.start()
    try:
        programme = programme_of(live_server)
        meeting = programme["meeting"]["id"]
        room, session = rooms_with_sittings(programme)[0]
        chair = live_server.token("chair", room)
        live_server.command(chair, {"type": "session.open", "room": room, "session_id": session})
        body = {"type": "speaker.add", "room": room, "delegation": "PAN",
                "command_id": uuid.uuid4().hex}
        servers = [live_server, other, live_server]
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda s: s.command(chair, body), servers))
        assert [a.status_code for a in answers] == [200, 200, 200]
        bodies = [a.json() for a in answers]
        assert len({b["version"] for b in bodies}) == 1
        assert len({b["entry_id"] for b in bodies}) == 1
        assert sorted(bool(b.get("retried")) for b in bodies) == [False, True, True]
        assert len(events_of(redis_url, prefix, meeting, body["command_id"])) == 1
        # and once more, later, in sequence
        again = other.command(chair, body).json()
        assert again["retried"] and again["version"] == bodies[0]["version"]
        assert len(events_of(redis_url, prefix, meeting, body["command_id"])) == 1
    finally:
        other.stop()


def test_a_retry_after_the_answer_was_lost_appends_nothing_more(live_server, redis_url, prefix):
    programme = programme_of(live_server)
    meeting = programme["meeting"]["id"]
    room, session = rooms_with_sittings(programme)[0]
    chair = live_server.token("chair", room)
    live_server.command(chair, {"type": "session.open", "room": room, "session_id": session})
    command_id = uuid.uuid4().hex
    body = json.dumps({"type": "speaker.add", "room": room, "delegation": "USA",
                       "command_id": command_id}).encode()
    # send the request and hang up before the answer: the answer is lost
    raw = socket.create_connection(("127.0.0.1", live_server.port))
    raw.sendall(b"POST /api/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nAuthorization: Bearer " + chair.encode()
                + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    raw.close()
    deadline = time.monotonic() + 5
    while not events_of(redis_url, prefix, meeting, command_id):
        assert time.monotonic() < deadline, "the first send never arrived"
        time.sleep(0.05)
    retry = live_server.command(chair, json.loads(body))
    assert retry.status_code == 200 and retry.json()["retried"] is True
    assert len(events_of(redis_url, prefix, meeting, command_id)) == 1
    state = requests.get(f"{live_server.url}/api/rooms/{room}", timeout=5,
                         headers={"Authorization": f"Bearer {chair}"}).json()
    assert [e["delegation"]["code"] for e in state["speakers"]["queue"]] == ["USA"]


def test_the_same_command_id_over_socketio_and_http_appends_once(live_server, redis_url, prefix):
    programme = programme_of(live_server)
    meeting = programme["meeting"]["id"]
    room, session = rooms_with_sittings(programme)[0]
    chair = live_server.token("chair", room)
    live_server.command(chair, {"type": "session.open", "room": room, "session_id": session})
    body = {"type": "speaker.add", "room": room, "delegation": "MEX",
            "command_id": uuid.uuid4().hex}
    sio = socketio.Client()
    sio.connect(live_server.url, auth={"token": chair}, transports=["websocket"])
    try:
        acks = [sio.call("command", body, timeout=10) for _ in range(3)]
    finally:
        sio.disconnect()
    http = live_server.command(chair, body).json()
    assert all(a["ok"] for a in acks)
    assert len({a["version"] for a in acks} | {http["version"]}) == 1
    assert [bool(a.get("retried")) for a in acks] == [False, True, True] and http["retried"]
    assert len(events_of(redis_url, prefix, meeting, body["command_id"])) == 1
