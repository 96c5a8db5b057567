"""A command id belongs to its sender and to one body: a retry is answered as the first
time, a reused id with another body is refused, another sender's id is a new id."""

from __future__ import annotations

import pytest
import requests

from tests.support import LiveServer

pytestmark = pytest.mark.slow


def _room(server: LiveServer, room: str) -> dict:
    return requests.get(f"{server.url}/api/rooms/{room}", timeout=5, headers={
        "Authorization": f"Bearer {server.token('admin')}"}).json()


def test_a_command_id_is_scoped_to_its_sender_and_bound_to_its_body(
        live_server: LiveServer) -> None:
    a, b = "gt-cancillerias", "gt-seguridad"
    chair_a, chair_b = live_server.token("chair", a), live_server.token("chair", b)
    for chair, room, sitting in ((chair_a, a, "gt-cancillerias-1"),
                                 (chair_b, b, "gt-seguridad-1")):
        assert live_server.command(chair, {"type": "session.open", "room": room,
                                           "session_id": sitting}).status_code == 200

    secret = {"type": "speaker.add", "room": b, "delegation": "PAN",
              "speaker_name": "Nombre reservado", "command_id": "c-1"}
    first = live_server.command(chair_b, secret)
    assert first.status_code == 200, first.text

    # The same sender, the same body: the first answer, nothing appended.
    again = live_server.command(chair_b, secret)
    assert again.status_code == 200 and again.json()["retried"] is True
    assert again.json()["events"] == first.json()["events"]
    assert len(_room(live_server, b)["speakers"]["queue"]) == 1

    # The same sender, the same id, another body: refused, nothing appended.
    other = live_server.command(chair_b, {**secret, "delegation": "BRA"})
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "command_id_reused"
    assert other.json()["error"]["field"] == "command_id"
    assert [e["delegation"]["code"] for e in _room(live_server, b)["speakers"]["queue"]] == [
        "PAN"]

    # Another room's chair reusing the id: its own command runs, never room B's events.
    mine = live_server.command(chair_a, {"type": "speaker.add", "room": a, "delegation": "COL",
                                         "command_id": "c-1"})
    assert mine.status_code == 200, mine.text
    assert "retried" not in mine.json()
    assert "Nombre reservado" not in mine.text
    assert {e["room"] for e in mine.json()["events"]} == {a}
    assert [e["delegation"]["code"] for e in _room(live_server, a)["speakers"]["queue"]] == [
        "COL"]

    # An admin's id is another sender's too.
    admin = live_server.command(live_server.token("admin"), {
        "type": "speaker.add", "room": a, "delegation": "MEX", "command_id": "c-1"})
    assert admin.status_code == 200 and "retried" not in admin.json(), admin.text
