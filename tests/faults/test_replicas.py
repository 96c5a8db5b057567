"""PLENARY_MIN_REPLICAS: a command is acknowledged only once a replica has it (WAIT); when
none confirms in time the answer is 503 `unavailable` saying it may have applied, and a
retry with the same command_id is answered with the first result, appending nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.faults.harness import stream_entries
from tests.faults.sentinels import ReplicaSet

pytestmark = pytest.mark.slow


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[ReplicaSet]:
    nodes = ReplicaSet(tmp_path / "redis")
    nodes.start()
    yield nodes
    nodes.stop()


@pytest.fixture
def app(replicated: ReplicaSet, tmp_path: Path):  # type: ignore[no-untyped-def]
    from dashboard import create_app
    from dashboard.settings import load_settings

    return create_app(load_settings(
        redis_url=replicated.url, data_dir=tmp_path / "node", secret_key=SECRET,
        # A bound a replica answers within on a busy machine (the whole suite running);
        # the frozen replica below is waited for this long, twice.
        run_workers=False, min_replicas=1, replica_timeout_ms=2000))


def post(client, token, body):  # type: ignore[no-untyped-def]
    return client.post("/api/commands", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.timeout(60)
def test_acknowledged_only_once_a_replica_has_it(app, replicated, token):
    client = app.test_client()
    meeting = app.extensions["plenary"].meeting
    sitting = meeting.programme.sessions[0]
    room = sitting.room
    chair = token("chair", room)
    stream = ("plenary", meeting.programme.meeting.id)
    replica = replicated.replicas[0]

    ok = post(client, chair, {"type": "session.open", "room": room,
                          "session_id": sitting.id, "command_id": "c1"})
    assert ok.status_code == 200, ok.json
    # a 200 means the replica has it
    assert ok.json["version"] in dict(stream_entries(replica.client(), *stream))
    assert client.get("/readyz").status_code == 200

    assert replica.process is not None
    os.kill(replica.process.pid, signal.SIGSTOP)  # the replica stops confirming
    try:
        late = post(client, chair, {"type": "session.suspend", "room": room, "command_id": "c2"})
        assert late.status_code == 503
        error = late.json["error"]
        assert error["code"] == "unavailable"
        assert "may have been applied" in error["message"] and "command_id" in error["message"]
        assert "replica" in error["message"]
        # it did apply on the primary, unconfirmed; a retry meanwhile is refused the same way
        entries = stream_entries(replicated.primary.client(), *stream)
        assert [f["cmd"] for _, f in entries].count("c2") == 1
        again = post(client, chair, {"type": "session.suspend", "room": room, "command_id": "c2"})
        assert again.status_code == 503
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)

    retried = post(client, chair, {"type": "session.suspend", "room": room, "command_id": "c2"})
    assert retried.status_code == 200, retried.json
    assert retried.json.get("retried") is True
    entries = stream_entries(replicated.primary.client(), *stream)
    assert [f["cmd"] for _, f in entries].count("c2") == 1  # nothing appended twice
    assert retried.json["version"] in dict(stream_entries(replica.client(), *stream))


@pytest.mark.timeout(60)
def test_readyz_says_when_too_few_replicas_confirm_commands(app, replicated):
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["replicas"] == {"required": 1, "online": 1}
    replicated.replicas[0].kill()
    deadline = time.monotonic() + 10
    while client.get("/readyz").json["replicas"]["online"] != 0:
        assert time.monotonic() < deadline, "the primary still counts the replica"
        time.sleep(0.1)
    ready = client.get("/readyz")
    # still ready (screens are served, pages read), and saying why commands are refused
    assert ready.status_code == 200 and ready.json["ok"] is True
    assert ready.json["replicas"] == {"required": 1, "online": 0}
    assert "PLENARY_MIN_REPLICAS" in ready.json["warning"]
