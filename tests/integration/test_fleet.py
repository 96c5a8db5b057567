"""The fleet across two web nodes, and the metrics every node serves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.harness import node, programme_of, two_nodes_running
from tests.support import LiveServer, engine_socket

ROOM, OTHER = "plenario", "gt-seguridad"


@pytest.fixture
def two_nodes(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    """Two web nodes on one Redis, one meeting (the same key prefix)."""
    with two_nodes_running(redis_url, tmp_path, prefix, PLENARY_FLEET_SILENT_S="2",
                           PLENARY_FLEET_GONE_KEEP_S="30",
                           PLENARY_FLEET_BEHIND_S="0.5") as servers:
        yield servers


def ask(ws: websocket.WebSocket, n: int, event: str, data: Any) -> Any:
    """Send a Socket.IO event with ack id `n`; the ack's data (pings answered meanwhile)."""
    ws.send(f"42{n}" + json.dumps([event, data]))
    return ask_answer(ws, n)


def say(ws: websocket.WebSocket, event: str, data: Any) -> None:
    ws.send("42" + json.dumps([event, data]))


def screen(server: LiveServer, room: str, screen_id: str, version: str | None = None,
           ) -> websocket.WebSocket:
    ws = engine_socket(server, server.token("screen", room))
    assert ask(ws, 1, "subscribe", {"room": room})["ok"]
    hello = {"kind": "screen", "screen_id": screen_id, "lang": "es", "viewport": [1920, 1080]}
    if version:
        hello["version"] = version
    answer = ask(ws, 2, "hello", hello)
    assert answer["ok"] and answer["screen_id"] == screen_id
    return ws


def listing(server: LiveServer, token: str | None = None) -> list[dict[str, Any]]:
    response = requests.get(f"{server.url}/api/screens", timeout=10, headers={
        "Authorization": f"Bearer {token or server.token('admin')}"})
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def version_of(server: LiveServer, room: str) -> str:
    response = requests.get(f"{server.url}/api/rooms/{room}", timeout=10, headers={
        "Authorization": f"Bearer {server.token('admin')}"})
    return str(response.json()["version"])


def test_api_screens_lists_screens_of_both_nodes_with_their_status(
        two_nodes: list[LiveServer]) -> None:
    a, b = two_nodes
    token = a.token("admin")
    assert a.command(token, {"type": "session.open", "room": ROOM,
                             "session_id": "plenaria"}).status_code == 200
    version = version_of(a, ROOM)
    left = screen(a, ROOM, "left", version)
    right = screen(b, OTHER, "right", version_of(b, OTHER))
    old = screen(b, ROOM, "old", "1-0")  # shows a version older than its room's
    time.sleep(0.6)  # the room's version is older than the threshold
    say(old, "shown", {"version": "1-0"})  # and it says so after the change reached it
    time.sleep(0.4)  # the node writes the reports (every 0.25 s with these settings)
    for server in (a, b):  # either node lists the whole fleet
        found = {s["screen_id"]: s for s in listing(server)}
        assert found["left"]["node"] == "node-a" and found["left"]["room"] == ROOM
        assert found["right"]["node"] == "node-b" and found["right"]["room"] == OTHER
        assert found["left"]["version_shown"] == version == found["left"]["room_version"]
        assert found["left"]["viewport"] == [1920, 1080]
        assert found["left"]["status"] == found["right"]["status"] == "live"
        assert found["old"]["status"] == "behind"
    # Heartbeats keep them live; a silent one turns silent, a closed one gone.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for ws in (left, right):
            say(ws, "shown", {"version": None})
        time.sleep(0.5)
    found = {s["screen_id"]: s for s in listing(a)}
    assert found["left"]["status"] == "live" and found["right"]["status"] == "live"
    assert found["old"]["status"] == "silent"
    right.close()
    time.sleep(0.5)
    found = {s["screen_id"]: s for s in listing(a)}
    assert found["right"]["status"] == "gone"
    left.close()
    old.close()


def test_a_frozen_screen_is_behind_though_its_room_changes_faster_than_the_bound(
        two_nodes: list[LiveServer]) -> None:
    """The room changes every 0.2 s (the bound is 0.5 s here): its newest version is
    never older than the bound, but the screen has missed the first change longer."""
    a, b = two_nodes
    admin = a.token("admin")
    assert a.command(admin, {"type": "session.open", "room": ROOM,
                             "session_id": "plenaria"}).status_code == 200
    codes = [d["code"] for d in programme_of(a)["delegations"]]
    start = version_of(a, ROOM)
    frozen, following = screen(b, ROOM, "frozen", start), screen(b, ROOM, "following", start)
    began = time.monotonic()
    i = 0
    checked: set[str] = set()
    while len(checked) < 2:
        assert time.monotonic() - began < 10, "the room kept changing: no listing in time"
        body = {"type": "speaker.add", "delegation": codes[i // 2 % len(codes)]} if i % 2 == 0 \
            else {"type": "speaker.next"}
        assert a.command(admin, {**body, "room": ROOM}).status_code == 200
        i += 1
        time.sleep(0.2)
        say(frozen, "shown", {"version": start})
        say(following, "shown", {"version": version_of(b, ROOM)})
        if time.monotonic() - began < 1.5:
            continue  # the reports are written (every 0.25 s here), well past the bound
        server = (a, b)[len(checked)]  # either node lists the whole fleet
        found = {s["screen_id"]: s for s in listing(server)}
        newest = found["frozen"]["room_version"]
        if time.time() - int(newest.split("-")[0]) / 1000 >= 0.5:
            continue  # a slow moment: the room's newest change is past the bound itself
        assert found["frozen"]["status"] == "behind", found["frozen"]
        assert found["following"]["status"] == "live", found["following"]
        checked.add(server.url)
    frozen.close()
    following.close()


def test_a_screen_is_renamed_and_told_on_the_node_that_holds_it(
        two_nodes: list[LiveServer]) -> None:
    a, b = two_nodes
    ws = screen(b, ROOM, "lobby-1")
    answer = a.command(a.token("admin"), {"type": "screen.rename", "screen_id": "lobby-1",
                                          "name": "Vestíbulo"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"][0]["type"] == "screen.directed"
    a.command(a.token("admin"), {"type": "screen.identify", "screen_id": "lobby-1"})
    directives = []
    while len(directives) < 2:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith('42["directive"'):
            directives.append(json.loads(frame[2:])[1])
    assert directives[0]["action"] == "rename" and directives[0]["name"] == "Vestíbulo"
    assert directives[1]["action"] == "identify" and directives[1]["name"] == "Vestíbulo"
    assert {s["screen_id"]: s["name"] for s in listing(b)}["lobby-1"] == "Vestíbulo"
    ws.close()
    again = screen(a, ROOM, "lobby-1")  # back, on the other node, after a restart of its page
    assert ask(again, 3, "hello", {"kind": "screen", "screen_id": "lobby-1"})["name"] == (
        "Vestíbulo")
    again.close()


def test_screen_commands_are_for_the_admin_only(two_nodes: list[LiveServer]) -> None:
    a, _ = two_nodes
    for role, room in (("chair", "*"), ("staff", "*"), ("screen", ROOM)):
        answer = a.command(a.token(role, room), {"type": "screen.reload", "screen_id": "x"})
        assert answer.status_code == 403, (role, answer.text)
    response = requests.get(f"{a.url}/api/screens", timeout=10, headers={
        "Authorization": f"Bearer {a.token('chair', '*')}"})
    assert response.status_code == 403


def scrape(server: LiveServer, token: str) -> dict[str, Any]:
    response = requests.get(f"{server.url}/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def value(families: dict[str, Any], name: str, sample: str, **labels: str) -> float:
    return sum(s.value for s in families[name].samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_parse_and_count_commands_and_clients(two_nodes: list[LiveServer]) -> None:
    a, _ = two_nodes
    admin = a.token("admin")
    assert a.command(admin, {"type": "session.open", "room": ROOM,
                             "session_id": "plenaria"}).status_code == 200
    for delegation in ("PAN", "USA"):
        assert a.command(admin, {"type": "speaker.add", "room": ROOM,
                                 "delegation": delegation}).status_code == 200
    assert a.command(admin, {"type": "speaker.add", "room": ROOM,
                             "delegation": "PAN"}).status_code == 409
    sockets = [screen(a, ROOM, f"s{i}") for i in range(3)]
    families = scrape(a, admin)
    assert all(name.startswith("plenary_") for name in families)
    assert value(families, "plenary_commands", "plenary_commands_total",
                 type="speaker.add", outcome="ok") == 2
    assert value(families, "plenary_commands", "plenary_commands_total",
                 type="speaker.add", outcome="conflict") == 1
    assert value(families, "plenary_command_seconds", "plenary_command_seconds_count") == 4
    assert value(families, "plenary_append_seconds", "plenary_append_seconds_count") == 3
    assert value(families, "plenary_clients", "plenary_clients",
                 kind="screen", room=ROOM, node="node-a") == 3
    assert value(families, "plenary_fleet_pages", "plenary_fleet_pages", status="live") == 3
    assert value(families, "plenary_tail_lag_seconds", "plenary_tail_lag_seconds",
                 node="node-a") == 0
    for ws in sockets:
        ws.close()


def test_metrics_refuse_a_screen_token_and_take_the_scrape_token(
        redis_url: str, prefix: str, tmp_path: Path) -> None:
    server = node(redis_url, tmp_path / "m", prefix, PLENARY_METRICS_TOKEN="s" * 32)
    server.start()
    try:
        for token, status in ((server.token("screen", ROOM), 403), (None, 401),
                              (server.token("staff"), 403), ("s" * 31 + "x", 401),
                              ("s" * 32, 200), (server.token("admin"), 200)):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            got = requests.get(f"{server.url}/metrics", timeout=10, headers=headers)
            assert got.status_code == status, (token, got.text)
            if status != 200:  # a scraper is told why, as the API tells (not a page)
                assert got.json()["error"]["code"] == {401: "unauthorized",
                                                       403: "forbidden"}[status]
    finally:
        server.stop()


def test_a_burst_of_hellos_lists_every_page(two_nodes: list[LiveServer]) -> None:
    """Screens reconnecting together (a node restarted) each say hello at once: every one
    is listed, none refused for want of a connection to Redis."""
    server, count = two_nodes[0], 300
    token = server.token("screen", ROOM)
    sockets = [engine_socket(server, token) for _ in range(count)]
    try:
        for i, ws in enumerate(sockets):
            say_hello = {"kind": "screen", "screen_id": f"burst-{i}", "lang": "es"}
            ws.send("421" + json.dumps(["hello", say_hello]))
        answers = [ask_answer(ws, 1) for ws in sockets]
        assert [a for a in answers if not a.get("ok")] == []
        listed = {page["screen_id"] for page in listing(server)}
        assert {f"burst-{i}" for i in range(count)} <= listed
    finally:
        for ws in sockets:
            ws.close()


def ask_answer(ws: websocket.WebSocket, n: int) -> Any:
    """The ack of the event sent with ack id `n` (pings answered meanwhile)."""
    while True:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith(f"43{n}"):
            return json.loads(frame[len(f"43{n}"):])[0]


def closed_by_server(ws: websocket.WebSocket, within: float = 5.0) -> None:
    """Wait until the server closes this socket (its Socket.IO disconnect, or the close)."""
    ws.settimeout(within)
    try:
        while (frame := ws.recv()) not in ("41", ""):
            if frame == "2":
                ws.send("3")
    except websocket.WebSocketConnectionClosedException:
        pass


def test_revoked_links_release_their_pages_and_the_node_s_bound(
        redis_url: str, prefix: str, tmp_path: Path) -> None:
    """A screen whose link is revoked is closed, listed gone, and no longer counts against
    the node's bound: screens given new links, revoked again and again, are still listed."""
    server = node(redis_url, tmp_path / "n", prefix, PLENARY_MAX_FLEET_PER_NODE="2")
    server.start()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    token = server.token("screen", ROOM)
    sockets: list[websocket.WebSocket] = []
    try:
        for i in range(4):
            sockets.append(ws := engine_socket(server, token))
            answer = ask(ws, 1, "hello", {"kind": "screen", "screen_id": f"revoked-{i}"})
            assert answer["ok"], (i, answer)
            revoked = requests.post(f"{server.url}/api/access/revoke", timeout=10,
                                    json={"role": "screen", "room": ROOM}, headers=admin)
            assert revoked.status_code == 200, revoked.text
            token = revoked.json()["token"]
            closed_by_server(ws)
        found = {s["screen_id"]: s["status"] for s in listing(server)}
        assert found == {f"revoked-{i}": "gone" for i in range(4)}
        node_figures = requests.get(f"{server.url}/api/node", timeout=10, headers=admin).json()
        assert node_figures["sockets"] == 0
    finally:
        for ws in sockets:
            ws.close()
        server.stop()
