"""The data folder's disk full under a running `plenary run` (embedded Valkey): commands are
refused with 503 `unavailable`, nothing is acknowledged that was not written, the log
says why, and the service serves again by itself once space is freed.

The disk is a small tmpfs the test mounts (skipped where mounting is not allowed).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.harness import fill, small_disk
from tests.support import LiveServer, free_port

pytestmark = pytest.mark.timeout(120)

ROOM, SITTING = "plenario", "plenaria"
DELEGATIONS = ("PAN", "BRA", "ARG", "GTM", "HND", "SLV", "PRY", "URY")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path) as mount:
        yield mount


def command(server: LiveServer, token: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/api/commands", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def events(server: LiveServer) -> list[dict[str, Any]]:
    admin = server.token("admin")
    return requests.get(f"{server.url}/api/events", params={"limit": 1000}, timeout=10,
                        headers={"Authorization": f"Bearer {admin}"}).json()


def test_a_full_disk_refuses_commands_and_the_service_recovers_once_space_is_freed(
    disk: Path, tmp_path: Path
) -> None:
    server = LiveServer(free_port(), disk / "data", {"REDIS_URL": ""})
    server.env.pop("SECRET_KEY", None)
    server.log_path = tmp_path / "server.log"  # not on the disk that fills
    server.start()
    try:
        chair = server.token("chair", ROOM)
        assert command(server, chair, {"type": "session.open", "room": ROOM,
                                       "session_id": SITTING}).status_code == 200
        filler = fill(disk)

        # the append-only file may have room left in its last page: send until refused
        acked: list[str] = []
        refused: dict[str, Any] | None = None
        for i in range(200):
            body = {"type": "speaker.add", "room": ROOM, "delegation": DELEGATIONS[i % 8],
                    "kind": "speech", "command_id": uuid.uuid4().hex}
            started = time.monotonic()
            answer = command(server, chair, body)
            assert time.monotonic() - started < 5, "a command on a full disk must not hang"
            if answer.status_code == 200:
                acked.append(answer.json()["entry_id"])
                command(server, chair, {"type": "speaker.remove", "room": ROOM,
                                        "entry_id": acked[-1]})
                continue
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "unavailable"
            refused = body
            break
        assert refused is not None, "the disk never filled"
        time.sleep(1.0)  # the server is started again meanwhile, and fails again
        assert command(server, chair, refused).status_code == 503
        log = server.log_path.read_text()
        assert "the embedded Valkey" in log and "exited" in log, log[-3000:]
        assert "0 bytes free" in log, log[-3000:]

        filler.unlink()
        deadline = time.monotonic() + 30
        while True:  # the chair retries with the same command_id, as the contract says
            answer = command(server, chair, refused)
            if answer.status_code == 200:
                break
            assert answer.status_code == 503, answer.text
            assert time.monotonic() < deadline, f"no recovery: {log[-3000:]}"
            time.sleep(0.5)
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        added = [e["data"]["entry_id"] for e in events(server) if e["type"] == "speaker.added"]
        assert added == [*acked, answer.json()["entry_id"]]  # the refused one once
    finally:
        server.stop()

    # what was acknowledged is on the disk: a fresh start reads the same events back
    server.start()
    try:
        again = [e["data"]["entry_id"] for e in events(server) if e["type"] == "speaker.added"]
        assert again == added
    finally:
        server.stop()


def test_an_operators_redis_that_cannot_write_its_disk_is_503_saying_so(
    disk: Path, tmp_path: Path
) -> None:
    # A Redis with `appendfsync everysec` (or RDB snapshots) does not exit on a full
    # disk: it refuses writes with MISCONF until it can write again.
    from dashboard import create_app
    from dashboard.settings import load_settings
    from dashboard.web.access import make_token
    from tests.conftest import SECRET
    from tests.faults.harness import redis_binary

    port = free_port()
    redis_server = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes",
         "--appendfsync", "everysec", "--save", "", "--dir", str(disk)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        import redis

        store = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if store.ping():
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app = create_app(load_settings(redis_url=url, key_prefix="misconf", data_dir=tmp_path,
                                       secret_key=SECRET, run_workers=False))
        client = app.test_client()
        meeting = app.extensions["plenary"].meeting
        admin = make_token("admin", "*", SECRET, deployment=app.config["PLENARY_DEPLOYMENT"])
        headers = {"Authorization": f"Bearer {admin}"}
        stream = f"misconf:{{{meeting.programme.meeting.id}}}:events"
        filler = fill(disk)
        body: dict[str, Any] = {}
        for i in range(200):  # the first appends may still find room: until refused
            body = {"type": "announcement.post", "room": ROOM, "command_id": f"c{i}",
                    "text": {"es": f"aviso {i}", "en": f"notice {i}"}}
            refused = client.post("/api/commands", json=body, headers=headers)
            if refused.status_code != 200:
                break
            client.post("/api/commands", headers=headers, json={
                "type": "announcement.retract", "id": refused.json["id"]})
        assert refused.status_code == 503, refused.json
        assert refused.json["error"]["code"] == "unavailable"
        message = refused.json["error"]["message"]
        # not "unreachable": Redis answered, and said why it wrote nothing
        assert "disk" in message and "nothing was changed" in message, message
        before = store.xlen(stream)
        assert client.post("/api/commands", json=body, headers=headers).status_code == 503
        assert store.xlen(stream) == before

        filler.unlink()
        deadline = time.monotonic() + 20
        while (answer := client.post("/api/commands", json=body, headers=headers)
               ).status_code != 200:
            assert time.monotonic() < deadline, answer.json
            time.sleep(0.5)
        assert store.xlen(stream) == before + 1
        store.close()
    finally:
        redis_server.kill()
        redis_server.wait()
