"""A data folder written by release 0.1.0 loads in this release with the same state, minutes,
events and tokens: from its stored snapshot, and by replaying the whole stream.

The folder (tests/fixtures/datadir-0.1.0, made by tests/fixtures/record_datadir.py) holds
the embedded Valkey's files and the secret key; `expected.json` what 0.1.0 answered.
Each test runs the real `plenary run` on a copy of it, with no REDIS_URL.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.support import ROOT, LiveServer, free_port

FIXTURE = ROOT / "tests" / "fixtures" / "datadir-0.1.0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
TAG = "plenary:{mmm-panama-2022}"
REVOKED = ("screen", "gt-desarrollo")


def _server(data: Path) -> LiveServer:
    server = LiveServer(free_port(), data, env={"REDIS_URL": ""})
    for name in ("SECRET_KEY", "PLENARY_KEY_PREFIX", "PLENARY_PROGRAMME"):
        server.env.pop(name, None)  # the folder's own secret key, prefix and programme
    return server


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 data folder."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    return data


@pytest.fixture
def from_snapshot(folder: Path) -> Iterator[LiveServer]:
    """`plenary run` on the copy, loading the snapshot 0.1.0 stored."""
    server = _server(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def from_replay(folder: Path) -> Iterator[LiveServer]:
    """`plenary run` on the copy once its stored snapshot and minutes are gone: every event
    of the stream is folded by this release, into the state and into the minutes."""
    server = _server(folder)
    server.start()
    try:
        found = re.search(r"embedded Valkey on 127\.0\.0\.1:(\d+)",
                          server.log_path.read_text())
        assert found, server.log_path.read_text()
        password = (folder / "valkey_password").read_text().strip()
        client = redis.Redis(port=int(found.group(1)), password=password)
        removed = client.delete(f"{TAG}:snapshot", f"{TAG}:minutes", f"{TAG}:minutes:cursor",
                                f"{TAG}:minutes:speeches")
        client.close()
        assert removed >= 2
        server.stop()
        server.start()
        yield server
    finally:  # a failed check must not leave the server (and its Valkey) running
        server.stop()


def _get(server: LiveServer, path: str, token: str) -> requests.Response:
    return requests.get(f"{server.url}{path}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def _token(role: str, room: str = "*") -> str:
    return next(link["token"] for link in EXPECTED["links"]
                if (link["role"], link["room"]) == (role, room))


def _room_now_free(state: dict[str, Any]) -> dict[str, Any]:
    """A RoomState without what depends on the instant it was read: the server time, and a
    running clock's elapsed seconds (kept as the instant its speech would have begun)."""
    state = json.loads(json.dumps(state))
    server_time = state.pop("server_time")
    # A field 0.1.0 did not have: a folder that old has nothing left to undo.
    assert state["speakers"].pop("undo", None) is None
    # Nor a message on the podium monitor.
    assert state.pop("podium", None) is None
    drop_added_since(state, server_time)
    current = state["speakers"]["current"]
    if current is not None and not current["paused"]:
        current["elapsed_s"] = round(server_time - current.pop("elapsed_s"), 3)
    return state


# Fields of the RoomState added since 0.1.0 (prepared lists, protocol levels, groups,
# languages, agenda items, requests, time per delegation, speakers' titles): each checked
# for what a folder of 0.1.0 must give, then set aside so the rest is compared as it was.
SPEECH_ADDED = ("item_id", "item_title", "level", "language", "on_behalf_of")
ENTRY_ADDED = ("inscribed_at", "level", "language", "on_behalf_of", "wait_s", "speaker_title")
SESSION_ADDED = ("inscription", "budget_s", "item")


def drop_added_since(state: dict[str, Any], server_time: float = 0.0) -> None:
    """Set aside the RoomState's fields added since 0.1.0 (checked where they must be empty)."""
    state.pop("totals", None)
    speakers = state["speakers"]
    speakers.pop("for_session", None)
    speakers.pop("forecast_end", None)
    speakers.pop("requests", None)
    for sitting in (state["session"], state["next_session"]):
        for key in SESSION_ADDED:
            if sitting is not None:
                sitting.pop(key, None)
    for entry in speakers["queue"]:
        for key in ENTRY_ADDED:
            value = entry.pop(key, None)
            assert key in ("inscribed_at", "wait_s") or value is None, (key, value)
    current = speakers["current"]
    if current is not None:
        for key in (*ENTRY_ADDED, "warn_s", "budget_s", "spoken_before_s"):
            current.pop(key, None)


def _same(got: Any, want: Any, where: str = "") -> None:
    """Equal, with floats computed from the current instant (seconds spoken, paused, over
    the limit) equal to the millisecond the report rounds them to."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (where, got, want)
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{index}]")
    elif isinstance(want, float) and where.rsplit(".", 1)[-1] in ("spoken_s", "overrun_s"):
        assert got == pytest.approx(want, abs=0.0015), where
    else:
        assert got == want, where


def _minutes_now_free(minutes: dict[str, Any]) -> dict[str, Any]:
    """The minutes without the paused seconds of a speech still in progress (they grow)."""
    minutes = json.loads(json.dumps(minutes))
    for speech in minutes["speeches"]:
        if speech["end_reason"] == "in_progress":
            speech.pop("paused_s")
    return minutes


def check_same_as_the_previous_release(server: LiveServer) -> None:
    admin = _token("admin")
    rooms = _get(server, "/api/rooms", admin)
    assert rooms.status_code == 200, rooms.text
    assert [_room_now_free(r) for r in rooms.json()] == [
        _room_now_free(r) for r in EXPECTED["rooms"]]

    minutes = _get(server, "/api/minutes.json", admin)
    assert minutes.status_code == 200, minutes.text
    record = minutes.json()
    assert record.pop("timezone") == "America/Panama"  # added since 0.1.0; the rest is equal
    assert record["totals"].pop("items")  # added since: speeches by agenda item
    for speech in record["speeches"]:  # added since: none of them in a folder of 0.1.0
        for key in SPEECH_ADDED:
            assert speech.pop(key) is None, key
    _same(_minutes_now_free(record), _minutes_now_free(EXPECTED["minutes"]))

    events = _get(server, "/api/events?limit=1000", admin).json()
    assert len(events) == len(EXPECTED["events"])
    for got, want in zip(events, EXPECTED["events"], strict=True):
        assert {k: got[k] for k in ("id", "type", "room", "at")} == {
            k: want[k] for k in ("id", "type", "room", "at")}
        assert {k: got["data"].get(k) for k in want["data"]} == want["data"], want["id"]


def check_the_links_of_the_previous_release(server: LiveServer) -> None:
    for link in EXPECTED["links"]:
        revoked = (link["role"], link["room"]) == REVOKED
        answer = _get(server, "/api/rooms", link["token"])
        if revoked:
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "token_revoked"
        else:
            assert answer.status_code == 200, (link, answer.text)
        page = requests.get(f"{server.url}/access/{link['token']}", timeout=10)
        assert page.status_code == 200
        assert ("invalid=1" in page.url) == revoked, (link, page.url)
    replacement = EXPECTED["revoked"]
    answer = _get(server, f"/api/rooms/{replacement['room']}", replacement["token"])
    assert answer.status_code == 200, answer.text
    page = requests.get(f"{server.url}/access/{replacement['token']}", timeout=10)
    assert page.status_code == 200 and page.url.endswith(f"/screen/{replacement['room']}")


def test_loaded_from_its_snapshot_it_shows_the_same_state_minutes_and_events(from_snapshot):
    assert re.search(r"snapshot at \S+ \(\d+ events\) loaded", from_snapshot.log_path.read_text())
    check_same_as_the_previous_release(from_snapshot)


def test_replayed_from_the_first_event_it_shows_the_same_state_minutes_and_events(from_replay):
    log = from_replay.log_path.read_text().split("Serving on")
    assert len(log) == 3 and "snapshot at" not in log[1] + log[2]  # the second start replayed
    check_same_as_the_previous_release(from_replay)


def test_its_links_still_open_and_authorise_and_the_revoked_one_does_not(from_snapshot):
    check_the_links_of_the_previous_release(from_snapshot)
    printed = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "links", "--json", "--base-url", "http://h"],
        env=from_snapshot.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    tokens = {(x["role"], x["room"]): x["token"] for x in map(json.loads,
                                                              printed.stdout.splitlines())}
    # Added since 0.1.0: one link per delegation.
    delegations = {key for key in tokens if key[0] == "delegation"}
    assert len(delegations) == 34
    tokens = {key: value for key, value in tokens.items() if key not in delegations}
    want = {(x["role"], x["room"]): x["token"] for x in EXPECTED["links"]}
    want[REVOKED] = EXPECTED["revoked"]["token"]
    assert tokens == want


def _send(server: LiveServer, token: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/api/commands", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def test_a_retry_of_a_command_it_answered_is_answered_the_same_and_applied_once(from_snapshot):
    """0.1.0 kept its answers under the bare command id: a retry sent across the upgrade
    gets that answer; the id sent for another room's command is refused; nothing is
    appended either way."""
    admin = _token("admin")
    before = _get(from_snapshot, "/api/events?limit=1000", admin).json()
    added = [e for e in EXPECTED["events"] if e["type"] == "speaker.added"
             and e["room"] == "gt-cancillerias" and e["data"]["delegation"] == "PAN"]
    posted = [e for e in EXPECTED["events"] if e["type"] == "announcement.posted"
              and e["data"]["text"]["en"] == "Shuttle"]
    assert len(added) == len(posted) == 1

    # Refused on the state now (the list is closed): answered from the kept answer.
    retry = _send(from_snapshot, _token("chair", "gt-cancillerias"), {
        "type": "speaker.add", "room": "gt-cancillerias", "delegation": "PAN",
        "kind": "speech", "speaker_name": "Ministra", "command_id": "add-PAN"})
    assert retry.status_code == 200, retry.text
    answer = retry.json()
    assert answer["retried"] is True
    assert answer["entry_id"] == added[0]["data"]["entry_id"]
    assert [e["id"] for e in answer["events"]] == [added[0]["id"]]

    # Valid on the state now (another post would be appended): found by the append. An
    # announcement's events are of no room, whether or not the command names one.
    for room in ({}, {"room": "plenario"}):
        retry = _send(from_snapshot, admin, {
            "type": "announcement.post", "text": {"es": "Traslado", "en": "Shuttle"},
            "rooms": "palacio-bolivar", "command_id": "shuttle-1", **room})
        assert retry.status_code == 200, retry.text
        assert retry.json()["retried"] is True
        assert retry.json()["id"] == posted[0]["data"]["id"]

    # The same id for a command of another room, or of none: taken, nothing appended.
    for token, body in [
            (_token("chair", "plenario"), {"type": "speaker.add", "room": "plenario",
                                           "delegation": "PAN", "command_id": "add-PAN"}),
            (admin, {"type": "announcement.post", "text": {"es": "Otro", "en": "Other"},
                     "command_id": "add-PAN"})]:
        refused = _send(from_snapshot, token, body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "command_id_reused"

    assert _get(from_snapshot, "/api/events?limit=1000", admin).json() == before
