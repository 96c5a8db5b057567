"""One rate limit per access link for commands, over HTTP and Socket.IO, held across nodes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.faults.harness import node
from tests.support import LiveServer, engine_socket

pytestmark = pytest.mark.slow

RATE = 20


@pytest.fixture
def two_nodes(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    servers = [node(redis_url, tmp_path / f"n{i}", prefix, PLENARY_COMMAND_RATE=str(RATE))
               for i in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def test_a_link_spread_over_two_nodes_gets_one_allowance(two_nodes: list[LiveServer]) -> None:
    one, two = two_nodes
    chair = one.token("chair", "plenario")
    opened = one.command(chair, {"type": "session.open", "room": "plenario",
                                 "session_id": "plenaria"})
    assert opened.status_code == 200
    time.sleep(1.1)  # a fresh window
    accepted: list[float] = []
    refused = []
    for i in range(80):
        server = two_nodes[i % 2]
        kind = "list.close" if len(accepted) % 2 == 0 else "list.reopen"
        answer = server.command(chair, {"type": kind, "room": "plenario"})
        if answer.status_code == 200:
            accepted.append(time.monotonic())
        else:
            assert answer.status_code == 429, answer.text
            assert answer.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(answer.headers["Retry-After"]) <= 2
            refused.append(answer)
    assert refused, "a burst of 80 was never limited"
    # No window of 0.9 s holds more than the allowance, whichever node took the command.
    for start in accepted:
        assert sum(1 for t in accepted if start <= t < start + 0.9) <= RATE

    # The same link over Socket.IO draws on the same allowance: sent right after the
    # link's allowance is spent over HTTP, on the other node, a command is refused.
    # The HTTP burst is sent at once, so the window stays full for most of a second;
    # should the host be so slow that a slot frees before the command gets there, it
    # is admitted (and refused by the state: the list is open), and the pair is tried
    # again.
    ws = engine_socket(two, chair)
    try:
        acks = []
        for _ in range(3):
            time.sleep(1.1)  # a fresh window
            with ThreadPoolExecutor(RATE + 5) as pool:
                codes = list(pool.map(lambda _: one.command(
                    chair, {"type": "list.reopen", "room": "plenario"}).status_code,
                    range(RATE + 5)))
            # The list is open (409), or opened by the first of them (200).
            assert 429 in codes and set(codes) <= {200, 409, 429}, codes
            ws.send("420" + json.dumps(["command", {"type": "list.reopen", "room": "plenario"}]))
            while True:
                frame = ws.recv()
                if frame.startswith("430"):
                    break
            ack = json.loads(frame[3:])[0]
            assert ack["ok"] is False
            acks.append(ack["error"])
            if ack["error"]["code"] == "rate_limited":
                break
        assert [a["code"] for a in acks[:-1]] == ["conflict"] * (len(acks) - 1), acks
        assert acks[-1]["code"] == "rate_limited" and acks[-1]["retry_after"] >= 1, acks
    finally:
        ws.close()


def test_another_link_keeps_its_own_allowance(two_nodes: list[LiveServer]) -> None:
    one, two = two_nodes
    busy, other = one.token("chair", "plenario"), two.token("chair", "gt-seguridad")
    codes = [one.command(busy, {"type": "list.close", "room": "plenario"}).status_code
             for _ in range(RATE + 10)]
    assert 429 in codes
    answer = two.command(other, {"type": "list.close", "room": "gt-seguridad"})
    assert answer.status_code == 409  # refused by the rules (no sitting), not rate-limited


def test_refused_commands_draw_on_the_allowance(two_nodes: list[LiveServer]) -> None:
    one, _ = two_nodes
    chair = one.token("chair", "plenario")
    time.sleep(1.1)  # a fresh window
    malformed = [one.command(chair, {"type": "speaker.add", "room": "plenario"})
                 for _ in range(RATE // 2)]
    assert {a.status_code for a in malformed} == {422}
    refused = [one.command(chair, {"type": "list.close", "room": "plenario"})
               for _ in range(RATE // 2)]
    assert {a.status_code for a in refused} == {409}  # no sitting open: refused by the rules
    # The allowance is spent: a command that would be appended is refused, and not applied.
    def version() -> str:
        return requests.get(f"{one.url}/api/rooms/plenario", timeout=5, headers={
            "Authorization": f"Bearer {chair}"}).json()["version"]

    before = version()
    answer = one.command(chair, {"type": "session.open", "room": "plenario",
                                 "session_id": "plenaria"})
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limited"
    assert version() == before
    time.sleep(1.1)
    assert one.command(chair, {"type": "session.open", "room": "plenario",
                               "session_id": "plenaria"}).status_code == 200
