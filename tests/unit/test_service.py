"""decide/apply/touched_rooms/room_view as adapters use them: versions, staleness, purity."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dashboard.domain import (
    Audience,
    Event,
    EventType,
    Stale,
    apply,
    decide,
    new_state,
    parse_command,
    room_view,
    room_views,
    touched_rooms,
)
from dashboard.domain.events import AnnouncementRetracted, Opaque, SpeakerAdded

from .conftest import Driver

ROOM = "plenario"


def test_events_from_decide_are_unstamped_and_at_now(plenary: Driver) -> None:
    events = decide(plenary.state, parse_command({"type": "list.close", "room": ROOM}), 123.5)
    assert [(e.type, e.room, e.at, e.id) for e in events] == [("list.closed", ROOM, 123.5, None)]


def test_decide_accepts_a_raw_body(plenary: Driver) -> None:
    events = decide(plenary.state, {"type": "list.close", "room": ROOM}, 1.0)
    assert events[0].type == EventType.LIST_CLOSED


def test_decide_never_mutates_the_state(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.add", room=ROOM, delegation="USA")
    plenary.run("speaker.next", room=ROOM)
    programme = plenary.state.programme
    before = copy.deepcopy(plenary.state, {id(programme): programme})
    for body in (
        {"type": "speaker.next", "room": ROOM},
        {"type": "session.close", "room": ROOM},
        {"type": "speaker.add", "room": ROOM, "delegation": "COL"},
        {"type": "announcement.post", "text": {"es": "a", "en": "b"}},
    ):
        decide(plenary.state, parse_command(body), plenary.now + 10)
    assert plenary.state == before


def test_apply_stamps_the_meeting_and_the_room_versions(meeting: Driver) -> None:
    assert meeting.state.version == "0-0"
    assert meeting.view()["version"] == "0-0"
    (event,) = meeting.run("session.open", room=ROOM, session_id="plenaria")
    assert meeting.state.version == event.id
    assert meeting.view()["version"] == event.id
    assert meeting.view("gt-seguridad")["version"] == "0-0"


def test_expected_version_must_match_the_room(plenary: Driver) -> None:
    version = plenary.view()["version"]
    plenary.run("speaker.add", room=ROOM, delegation="PAN", expected_version=version)
    with pytest.raises(Stale) as caught:  # a double "Next" from the same stale screen
        plenary.decide("speaker.add", room=ROOM, delegation="USA", expected_version=version)
    assert caught.value.code == "stale" and caught.value.status == 409
    assert caught.value.field == "expected_version"


def test_another_rooms_change_does_not_make_a_chair_stale(plenary: Driver) -> None:
    version = plenary.view()["version"]
    plenary.run("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    plenary.run("announcement.post", text={"es": "a", "en": "b"}, rooms="hotel")
    plenary.run("speaker.add", room=ROOM, delegation="PAN", expected_version=version)


def test_expected_version_on_announcements_applies_only_with_a_room(meeting: Driver) -> None:
    text = {"es": "a", "en": "b"}
    meeting.run("announcement.post", text=text, expected_version="99-9")
    with pytest.raises(Stale):
        meeting.decide("announcement.post", text=text, room=ROOM, expected_version="99-9")


def test_touched_rooms_is_the_same_before_and_after_apply(meeting: Driver) -> None:
    events = meeting.decide("session.open", room=ROOM, session_id="plenaria")
    assert touched_rooms(meeting.state, events[0]) == [ROOM]
    apply(meeting.state, events[0].with_id("5-0"))
    assert touched_rooms(meeting.state, events[0]) == [ROOM]


def test_event_fields_round_trip_as_strings_and_bytes() -> None:
    added = SpeakerAdded("sp1", "PAN", "Panamá", "speech", 0)
    event = Event.of(added, ROOM, 1650.25).with_id("1-2")
    fields = event.to_fields()
    assert all(isinstance(v, str) for v in fields.values())
    assert "v" not in fields  # version 1 is written as release 0.1.0 wrote it
    assert Event.from_fields(fields, "1-2") == event
    as_bytes = {k.encode(): v.encode() for k, v in fields.items()}
    assert Event.from_fields(as_bytes, b"1-2") == event
    meeting_event = Event.of(AnnouncementRetracted("an1", [ROOM]), None, 2.0)
    assert Event.from_fields(meeting_event.to_fields()) == meeting_event
    assert event.to_dict() == {
        "id": "1-2",
        "type": "speaker.added",
        "room": ROOM,
        "data": {"entry_id": "sp1", "delegation": "PAN", "speaker_name": "Panamá",
                 "kind": "speech", "position": 0},
        "at": 1650.25,
    }


def test_an_entry_of_a_type_nobody_declared_is_read_opaque() -> None:
    fields = {"type": "future.thing", "room": ROOM, "data": '{"x":1}', "at": "1.0"}
    event = Event.from_fields(fields, "7-0")
    assert event.data == Opaque({"x": 1})
    assert event.to_dict()["data"] == {"x": 1}


def test_unknown_event_types_are_ignored_but_advance_the_version(meeting: Driver) -> None:
    apply(meeting.state, Event("future.thing", ROOM, Opaque({"x": 1}), 1.0, "7-0"))
    assert meeting.state.version == "7-0"


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_room_view_is_json_ready_with_the_contract_keys(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.add", room=ROOM, delegation="USA")
    plenary.run("speaker.next", room=ROOM)
    plenary.run("announcement.post", text={"es": "a", "en": "b"}, level="urgent")
    view = plenary.view()
    assert _plain(view)
    json.dumps(view, allow_nan=False)
    assert set(view) == {
        "room",
        "version",
        "server_time",
        "session",
        "next_session",
        "speakers",
        "announcements",
        "totals",
    }
    assert view["room"] == {
        "id": ROOM,
        "name": {"es": "Salón Plenario", "en": "Plenary Hall"},
        "venue": "palacio-bolivar",
    }
    assert view["server_time"] == plenary.now
    assert set(view["speakers"]) == {"current", "queue", "list_closed", "undo", "for_session",
                                     "forecast_end"}
    # The podium monitor gets the chair's message too; desks also the pending requests.
    podium = room_view(plenary.state, ROOM, plenary.now, Audience.PODIUM)
    desk = room_view(plenary.state, ROOM, plenary.now, Audience.DESK)
    assert set(podium) == set(view) | {"podium"} and podium["speakers"] == view["speakers"]
    assert set(desk) == set(podium) and set(desk["speakers"]) == set(view["speakers"]) | {
        "requests"}


def test_room_views_cover_every_room_and_unknown_rooms_are_not_found(programme) -> None:
    state = new_state(programme)
    assert [v["room"]["id"] for v in room_views(state, 0.0)] == [r.id for r in programme.rooms]
    from dashboard.domain import NotFound

    with pytest.raises(NotFound):
        room_view(state, "attic", 0.0)


def test_errors_serialise_for_the_adapters() -> None:
    from dashboard.domain import Conflict, DomainError, Forbidden, Invalid, NotFound

    assert Invalid("bad", field="text.es").to_dict() == {
        "code": "invalid",
        "message": "bad",
        "field": "text.es",
    }
    statuses = {cls("x").code: cls("x").status for cls in (Invalid, Forbidden, NotFound, Conflict)}
    assert statuses == {"invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409}
    assert isinstance(Stale("x"), DomainError)
    assert DomainError("custom", "m").to_dict() == {"code": "custom", "message": "m"}
