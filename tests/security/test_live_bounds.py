"""The live state is bounded from outside: announcements per room, a room's queue, every
instant a command carries, and texts that show nothing or show reversed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SECRET
from tests.support import LiveServer, free_port

pytestmark = pytest.mark.slow

CAP, QUEUE, TEXT, NAME = 3, 3, 40, 12


@pytest.fixture
def bounded(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[LiveServer]:
    """`plenary run` with small bounds of the live state."""
    server = LiveServer(port=free_port(), data_dir=tmp_path / "node", env={
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_MAX_ANNOUNCEMENTS": str(CAP), "PLENARY_MAX_QUEUE": str(QUEUE),
        "PLENARY_MAX_TEXT_CHARS": str(TEXT), "PLENARY_MAX_NAME_CHARS": str(NAME)})
    server.start()
    yield server
    server.stop()


def _room(server: LiveServer, room: str) -> dict[str, Any]:
    return requests.get(f"{server.url}/api/rooms/{room}", timeout=5, headers={
        "Authorization": f"Bearer {server.token('admin')}"}).json()


def _post(server: LiveServer, level: str, n: int, **extra: Any) -> requests.Response:
    return server.command(server.token("staff"), {
        "type": "announcement.post", "level": level, "rooms": ["plenario"],
        "text": {"es": f"aviso {n}", "en": f"notice {n}"}, **extra})


def test_posting_past_the_cap_expires_the_oldest_info_ones_then_refuses_urgent(
        bounded: LiveServer) -> None:
    ids = [_post(bounded, "info", n).json()["id"] for n in range(CAP)]
    shown = lambda: [a["id"] for a in _room(bounded, "plenario")["announcements"]]  # noqa: E731
    urgent = _post(bounded, "urgent", 10)
    assert urgent.status_code == 200, urgent.text
    kinds = [e["type"] for e in urgent.json()["events"]]
    assert kinds == ["announcement.expired", "announcement.posted"]
    assert urgent.json()["events"][0]["data"]["id"] == ids[0]  # the oldest info one
    assert sorted(shown()) == sorted([*ids[1:], urgent.json()["id"]])
    for n in range(11, 10 + CAP):  # the cap fills with urgent ones, the info ones expire
        assert _post(bounded, "urgent", n).status_code == 200
    before = shown()
    assert len(before) == CAP
    for level in ("urgent", "info"):
        refused = _post(bounded, level, 99)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "too_many"
    assert shown() == before


def test_a_queue_is_bounded(bounded: LiveServer) -> None:
    chair = bounded.token("chair", "plenario")
    assert bounded.command(chair, {"type": "session.open", "room": "plenario",
                                   "session_id": "plenaria"}).status_code == 200
    for code in ("PAN", "BRA", "COL"):
        assert bounded.command(chair, {"type": "speaker.add", "room": "plenario",
                                       "delegation": code}).status_code == 200
    refused = bounded.command(chair, {"type": "speaker.add", "room": "plenario",
                                      "delegation": "MEX", "kind": "point_of_order"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many"
    assert len(_room(bounded, "plenario")["speakers"]["queue"]) == QUEUE


def test_texts_and_names_are_bounded_by_the_settings(bounded: LiveServer) -> None:
    long_text = {"es": "a" * (TEXT + 1), "en": "b" * TEXT}
    refused = bounded.command(bounded.token("staff"), {
        "type": "announcement.post", "rooms": ["plenario"], "text": long_text})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "text.es"
    chair = bounded.token("chair", "plenario")
    assert bounded.command(chair, {"type": "session.open", "room": "plenario",
                                   "session_id": "plenaria"}).status_code == 200
    body = {"type": "speaker.add", "room": "plenario", "delegation": "PAN"}
    refused = bounded.command(chair, {**body, "speaker_name": "x" * (NAME + 1)})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "speaker_name"
    assert _room(bounded, "plenario")["speakers"]["queue"] == []
    assert bounded.command(chair, {**body, "speaker_name": "x" * NAME}).status_code == 200
    fits = _post(bounded, "info", 1, text={"es": "a" * TEXT, "en": "b" * TEXT})
    assert fits.status_code == 200, fits.text


@pytest.mark.parametrize("until", [1e13, 1e308, "day+"])
def test_a_suspension_ends_within_a_day(live_server: LiveServer, until: Any) -> None:
    chair = live_server.token("chair", "plenario")
    assert live_server.command(chair, {"type": "session.open", "room": "plenario",
                                       "session_id": "plenaria"}).status_code == 200
    if until == "day+":
        until = time.time() + 24 * 3600 + 60
    refused = live_server.command(chair, {"type": "session.suspend", "room": "plenario",
                                          "until": until})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == {**refused.json()["error"], "code": "invalid",
                                       "field": "until"}
    assert _room(live_server, "plenario")["session"]["status"] == "open"
    within = live_server.command(chair, {"type": "session.suspend", "room": "plenario",
                                         "until": time.time() + 24 * 3600 - 60})
    assert within.status_code == 200, within.text


@pytest.mark.parametrize("expires_at", [1e13, 1e308, "week+"])
def test_an_announcement_expires_within_a_week(live_server: LiveServer, expires_at: Any) -> None:
    if expires_at == "week+":
        expires_at = time.time() + 7 * 24 * 3600 + 60
    refused = _post(live_server, "info", 1, expires_at=expires_at)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "expires_at"
    assert _room(live_server, "plenario")["announcements"] == []
    within = _post(live_server, "info", 2, expires_at=time.time() + 7 * 24 * 3600 - 60)
    assert within.status_code == 200, within.text


BLANK = ["\u200b\u200c\u200d", "\u2060\ufeff", "\u202e\u202d", "\u2066 \u2069", "\u200e\u200f"]


def test_invisible_texts_are_refused_and_overrides_are_taken_out(live_server: LiveServer
                                                                 ) -> None:
    chair, staff = live_server.token("chair", "plenario"), live_server.token("staff")
    assert live_server.command(chair, {"type": "session.open", "room": "plenario",
                                       "session_id": "plenaria"}).status_code == 200
    for blank in BLANK:
        r = live_server.command(chair, {"type": "speaker.add", "room": "plenario",
                                        "delegation": "PAN", "speaker_name": blank})
        assert r.status_code == 422 and r.json()["error"]["field"] == "speaker_name", r.text
        r = live_server.command(staff, {"type": "announcement.post",
                                        "text": {"es": "aviso", "en": blank}})
        assert r.status_code == 422 and r.json()["error"]["field"] == "text.en", r.text
    assert _room(live_server, "plenario")["speakers"]["queue"] == []
    assert _room(live_server, "plenario")["announcements"] == []
    added = live_server.command(chair, {"type": "speaker.add", "room": "plenario",
                                        "delegation": "PAN",
                                        "speaker_name": "Jose\u0301 \u202eanaM\u202c"})
    assert added.status_code == 200, added.text
    assert _room(live_server, "plenario")["speakers"]["queue"][0]["speaker_name"] == \
        "Jos\u00e9 anaM"
    posted = live_server.command(staff, {"type": "announcement.post",
                                         "text": {"es": "\u2067Sala\u2069 1", "en": ""}})
    assert posted.status_code == 200, posted.text
    assert _room(live_server, "plenario")["announcements"][0]["text"] == {"es": "Sala 1",
                                                                          "en": ""}
