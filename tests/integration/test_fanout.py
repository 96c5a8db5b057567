"""The relay's broadcast (dashboard/live/fanout.py): frames written straight to idle sockets,
through the queue otherwise, never interleaved, never out of order."""

from __future__ import annotations

import json
import resource
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gevent
import gevent.socket
import pytest
import requests
import websocket
from geventwebsocket.websocket import Stream, WebSocket

from dashboard.live.seams import Pipe
from tests.faults.harness import programme_of, rooms_with_sittings
from tests.support import LiveServer, engine_socket

pytestmark = pytest.mark.slow


class _Handler:
    """What gevent-websocket's WebSocket needs of its handler: the socket and its reader."""

    def __init__(self, sock: Any) -> None:
        self.socket = sock
        self.rfile = sock.makefile("rb")


def test_a_frame_half_written_is_finished_before_anything_else_goes_out():
    server_side, client_side = gevent.socket.socketpair()
    server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client_side.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    handler = _Handler(server_side)
    ws = WebSocket({}, Stream(handler), handler)
    pipe = Pipe(ws)
    big = bytes(range(256)) * 1024  # far more than the socket buffers hold

    assert pipe.try_send(big)  # partly written now, the rest by a greenlet of its own
    assert pipe.lock.locked()
    received = bytearray(client_side.recv(65536))  # room in the socket again, before
    assert received  # the greenlet that finishes the frame has run
    assert not pipe.try_send(b"next")  # busy: the caller must queue it
    after = gevent.spawn(ws.send, "after")  # engine.io's writer, say: must wait its turn

    def read() -> None:
        while len(received) < len(big) + 7:
            chunk = client_side.recv(65536)
            if not chunk:
                return
            received.extend(chunk)

    reader = gevent.spawn(read)
    gevent.joinall([after, reader], timeout=10, raise_error=True)
    assert bytes(received[: len(big)]) == big
    assert bytes(received[len(big):]) == b"\x81\x05after"  # one whole text frame, after it
    assert not pipe.lock.locked()
    handler.rfile.close()
    server_side.close()
    client_side.close()


def timeless(state: dict) -> dict:
    """A room state without what moves with the clock (the server's time, time spoken, the
    estimates made from it)."""
    state = {k: v for k, v in state.items() if k not in ("server_time", "totals")}
    speakers = {k: v for k, v in state["speakers"].items() if k != "forecast_end"}
    speakers["queue"] = [{k: v for k, v in e.items() if k != "wait_s"} for e in speakers["queue"]]
    if speakers["current"]:
        speakers["current"] = {k: v for k, v in speakers["current"].items() if k != "elapsed_s"}
    return {**state, "speakers": speakers}


class RawScreen:
    """A screen speaking Engine.IO 4 / Socket.IO 5 itself, keeping every state frame whole."""

    def __init__(self, server: LiveServer, room: str, rcvbuf: int | None = None) -> None:
        opts = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),) if rcvbuf else ()
        self.ws = engine_socket(server, server.token("screen", room), sockopt=opts)
        self.ws.send('421["subscribe",' + json.dumps({"room": room}) + "]")
        ack = self.ws.recv()
        assert ack.startswith("431"), ack
        self.states: list[dict] = [json.loads(ack[3:])[0]["state"]]

    def read_until(self, version: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.states[-1]["version"] != version:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            frame = self.ws.recv()  # raises on a malformed or interleaved websocket frame
            if frame == "2":
                self.ws.send("3")
                continue
            assert frame.startswith('42["state",'), frame[:80]
            self.states.append(json.loads(frame[2:])[1])
            assert time.monotonic() < deadline, "no state of the last version"

    def versions(self) -> list[tuple[int, int]]:
        return [tuple(int(p) for p in s["version"].split("-")) for s in self.states]


def open_plenary(server: LiveServer) -> tuple[str, list[str], str]:
    """The plenary with its sitting open: (room, delegation codes, the room chair's token)."""
    programme = programme_of(server)
    room, sitting = rooms_with_sittings(programme)[0]
    chair = server.token("chair", room)
    server.command(chair, {"type": "session.open", "room": room, "session_id": sitting})
    return room, [d["code"] for d in programme["delegations"]], chair


def post_long_announcements(server: LiveServer, admin: str, room: str, count: int) -> None:
    """`count` announcements of ~1.5 KB each on `room`: its state frame grows by that."""
    for n in range(count):
        server.command(admin, {"type": "announcement.post", "rooms": [room],
                               "text": {"es": f"Aviso {n} " + "ñ" * 480,
                                        "en": f"Notice {n} " + "x" * 480}})


def test_every_screen_gets_whole_frames_in_order_fast_or_slow(live_server):
    admin = live_server.token("admin")
    auth = {"Authorization": f"Bearer {admin}"}
    room, codes, chair = open_plenary(live_server)
    post_long_announcements(live_server, admin, room, 10)  # ~15 KB per state frame
    screens = [RawScreen(live_server, room) for _ in range(10)]
    # Reads nothing until the end: after the kernel's buffers (4 MB at most) are
    # full, the frames for it must go through its queue, behind a half-written one.
    slow = RawScreen(live_server, room, rcvbuf=1024)

    stop = threading.Event()

    def keep_reading(screen: RawScreen) -> None:
        while not stop.is_set():
            try:
                screen.ws.settimeout(0.2)
                frame = screen.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            assert frame.startswith('42["state",'), frame[:80]
            screen.states.append(json.loads(frame[2:])[1])

    readers = [threading.Thread(target=keep_reading, args=(s,)) for s in screens]
    for reader in readers:
        reader.start()
    try:
        # One command at a time (each its own frame, ~6 MB for the slow screen), then a burst.
        for code in codes[:30] * 3:
            for command in ({"type": "speaker.add", "room": room, "delegation": code},
                            {"type": "speaker.next", "room": room}):
                assert live_server.command(chair, command).status_code == 200
        burst = [{"type": "speaker.add", "room": room, "delegation": code} for code in codes[:30]]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda c: live_server.command(chair, c), burst))
        assert all(a.status_code == 200 for a in answers)
        final = requests.get(f"{live_server.url}/api/rooms/{room}", headers={  # as screens
            "Authorization": f"Bearer {live_server.token('screen', room)}"}).json()
        deadline = time.monotonic() + 15
        while any(s.states[-1]["version"] != final["version"] for s in screens):
            assert time.monotonic() < deadline, "a screen never got the last version"
            time.sleep(0.05)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    slow.read_until(final["version"])

    for screen in [*screens, slow]:
        versions = screen.versions()
        assert versions == sorted(set(versions))  # never older, never the same twice
        assert timeless(screen.states[-1]) == timeless(final)
        screen.ws.close()
    frames = requests.get(f"{live_server.url}/api/node", headers=auth).json()["frames"]
    assert frames["direct"] > 0  # idle screens got frames straight away
    assert frames["queued"] > 0  # the slow one's full socket sent the rest through its queue


def test_a_chairs_socket_ack_goes_out_before_the_broadcast_of_its_change(live_server):
    """The command's ack waits in the chair's socket queue while the relay, woken by the
    same command, would write the new state to every screen first: the chair would hear
    back only after the last screen. The relay steps aside once before it broadcasts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    room, codes, chair = open_plenary(live_server)
    screens = [RawScreen(live_server, room) for _ in range(600)]
    console = engine_socket(live_server, chair)
    poller = select.poll()  # readable: a state frame has come (select() stops at fd 1024)
    for screen in screens:
        poller.register(screen.ws.sock, select.POLLIN)
    ahead = []  # for each command: how many screens had its state when the ack came
    try:
        for n, code in enumerate(codes[:7]):
            command = {"type": "speaker.add", "room": room, "delegation": code}
            console.send(f"42{n}" + json.dumps(["command", command]))
            while not (frame := console.recv()).startswith(f"43{n}"):
                assert frame == "2", frame[:80]  # a ping, the only other thing it may get
                console.send("3")
            ahead.append(len(poller.poll(0)))
            assert json.loads(frame[len(f"43{n}"):])[0]["ok"]
            version = json.loads(frame[len(f"43{n}"):])[0]["version"]
            for screen in screens:
                screen.read_until(version)
    finally:
        console.close()
        for screen in screens:
            screen.ws.close()
    print(f"\nscreens that had the state before the chair had its ack (of {len(screens)}):",
          ahead)
    # Written after the broadcast, the ack would find all 600 states there (~10 ms of
    # sends); written first, it comes while most are still to go out.
    assert sorted(ahead)[len(ahead) // 2] < 0.8 * len(screens), ahead


def test_acks_never_cut_into_a_busy_sockets_frames(live_server):
    """On a socket whose buffers are full (a console reading slowly) a command's ack
    takes the queue, behind the states already there, and every frame arrives whole."""
    admin = live_server.token("admin")
    auth = {"Authorization": f"Bearer {admin}"}
    room, codes, chair = open_plenary(live_server)
    post_long_announcements(live_server, admin, room, 20)  # ~30 KB per state frame

    def body(n: int) -> dict:
        return ({"type": "speaker.add", "room": room, "delegation": codes[n % 30]}
                if n % 2 else {"type": "speaker.next", "room": room})

    def command(n: int) -> str:
        return f"42{n}" + json.dumps(["command", body(n)])

    idle = engine_socket(live_server, chair)
    for n in range(1, 6):
        idle.send(command(n))
        assert json.loads(idle.recv()[len(f"43{n}"):])[0]["ok"]
    idle.close()

    # Subscribed, reading nothing while 200 states (~6 MB, more than the kernel's
    # buffers) are sent to it; then its own commands.
    busy = engine_socket(live_server, chair, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 1024),))
    busy.send('420["subscribe",' + json.dumps({"room": room}) + "]")
    for n in range(200):
        assert live_server.command(chair, body(n)).status_code in (200, 409)
    for n in range(1, 4):
        busy.send(command(n))
    frames, acks = [], {}
    final = None  # the room's version once the three acks are in: the last state to wait for

    def key(version: str) -> tuple[int, int]:
        ms, seq = version.split("-")
        return int(ms), int(seq)

    busy.settimeout(15)
    while final is None or not any(
            k == "state" and key(v) >= key(final) for k, v in frames):
        frame = busy.recv()  # raises on a malformed or interleaved websocket frame
        if frame == "2":
            busy.send("3")
        elif frame.startswith('42["state",'):
            frames.append(("state", json.loads(frame[2:])[1]["version"]))
        elif frame.startswith("43"):
            answer = json.loads(frame[3:])[0]
            if "state" in answer:  # the subscription's
                frames.append(("state", answer["state"]["version"]))
                continue
            acks[frame[2]] = answer
            assert answer["ok"], answer
            frames.append(("ack", answer["version"]))
            if len(acks) == 3:
                final = requests.get(f"{live_server.url}/api/rooms/{room}",
                                     headers=auth).json()["version"]
    busy.close()

    for i, (kind, version) in enumerate(frames):
        if kind == "ack":  # nothing queued before the ack arrives after it
            assert all(key(v) >= key(version) for k, v in frames[i + 1:] if k == "state"), \
                frames[i - 2:i + 5]
