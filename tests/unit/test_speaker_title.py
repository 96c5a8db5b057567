"""A speaker's title ("Minister of Foreign Affairs"): optional, bounded as the name, carried
from the command to the entry, the floor, an undo, a request and a snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.domain import (
    Audience,
    Invalid,
    apply,
    decide,
    new_state,
    parse_command,
    room_view,
)
from dashboard.domain.commands import Actor
from dashboard.domain.events import Event
from dashboard.domain.limits import Limits
from dashboard.domain.snapshot import from_dict, to_dict

from .conftest import REFERENCE, Driver

ROOM = "plenario"
TITLE = "Ministra de Relaciones Exteriores"


def as_delegation(driver: Driver, code: str, type: str, **fields: Any) -> list[Event]:
    """Run a command as the delegation `code`'s link."""
    events = decide(driver.state, parse_command({"type": type, **fields}), driver.now,
                    sender=Actor("delegation", code))
    for event in events:
        event = event.with_id(f"{int(driver.now * 1000)}-{len(driver.log)}")
        apply(driver.state, event)
        driver.log.append(event)
    return events


def speakers(driver: Driver) -> dict[str, Any]:
    return driver.view()["speakers"]


def test_the_title_is_stored_on_the_event_and_shown_on_the_entry_and_the_floor(
    plenary: Driver,
) -> None:
    (added,) = plenary.run("speaker.add", room=ROOM, delegation="COL", speaker_name="Ana Pérez",
                           speaker_title=f"  {TITLE}\u200b ")
    assert added.data.to_data()["speaker_title"] == TITLE  # cleaned as a name is
    assert speakers(plenary)["queue"][0]["speaker_title"] == TITLE
    (given,) = plenary.run("speaker.next", room=ROOM)
    assert given.data.to_data()["speaker_title"] == TITLE
    current = speakers(plenary)["current"]
    assert (current["speaker_name"], current["speaker_title"]) == ("Ana Pérez", TITLE)


def test_without_a_title_events_are_stored_as_before_it_existed(plenary: Driver) -> None:
    (added,) = plenary.run("speaker.add", room=ROOM, delegation="PAN", speaker_title="  ")
    assert "speaker_title" not in added.data.to_data()  # blank is none
    (given,) = plenary.run("speaker.next", room=ROOM)
    assert "speaker_title" not in given.data.to_data()
    assert speakers(plenary)["current"]["speaker_title"] is None


def test_an_entry_written_before_titles_existed_reads_and_folds(plenary: Driver) -> None:
    (added,) = plenary.run("speaker.add", room=ROOM, delegation="USA", speaker_title=TITLE)
    fields = added.to_fields()
    assert '"speaker_title"' in fields["data"] and "v" not in fields  # still version 1
    old = {**fields, "data": fields["data"].replace(f',"speaker_title":"{TITLE}"', "")}
    assert "speaker_title" not in old["data"]
    read = Event.from_fields(old, added.id)
    assert "speaker_title" not in read.data.to_data()
    assert Event.from_fields(fields, added.id).data == added.data
    state = new_state(REFERENCE)
    for event in plenary.log[:-1]:
        apply(state, event)
    apply(state, read)
    assert room_view(state, ROOM, plenary.now)["speakers"]["queue"][0]["speaker_title"] is None


def test_the_title_is_bounded_as_the_name(plenary: Driver) -> None:
    with pytest.raises(Invalid) as caught:
        parse_command({"type": "speaker.add", "room": ROOM, "delegation": "PAN",
                       "speaker_title": "x" * 121})
    assert (caught.value.code, caught.value.field) == ("invalid", "speaker_title")
    with pytest.raises(Invalid) as caught:
        parse_command({"type": "speaker.add", "room": ROOM, "delegation": "PAN",
                       "speaker_title": "\u200b\u202e"})
    assert (caught.value.code, caught.value.field) == ("invalid", "speaker_title")
    tight = Limits(max_name=20)
    for body, sender in (
        ({"type": "speaker.add", "room": ROOM, "delegation": "PAN"}, Actor("admin", "*")),
        ({"type": "request.submit", "room": ROOM}, Actor("delegation", "PAN")),
    ):
        with pytest.raises(Invalid) as caught:
            decide(plenary.state, parse_command({**body, "speaker_title": TITLE}), plenary.now,
                   limits=tight, sender=sender)
        assert (caught.value.code, caught.value.field) == ("invalid", "speaker_title")
        assert decide(plenary.state, parse_command({**body, "speaker_title": "Ministra"}),
                      plenary.now, limits=tight, sender=sender)
    assert speakers(plenary)["queue"] == []  # nothing changed


def test_an_undo_puts_back_the_title_of_the_entry_and_of_the_floor(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="COL", speaker_title=TITLE)
    plenary.run("speaker.add", room=ROOM, delegation="PAN", speaker_title="Vicecanciller")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(10)
    plenary.run("speaker.next", room=ROOM)  # COL ends, PAN has the floor
    assert speakers(plenary)["current"]["speaker_title"] == "Vicecanciller"
    plenary.run("speaker.undo", room=ROOM, expected_version=plenary.state.rooms[ROOM].version)
    view = speakers(plenary)
    assert view["current"]["speaker_title"] == TITLE  # the restored speech
    assert view["queue"][0]["speaker_title"] == "Vicecanciller"  # the requeued entry
    pan = view["queue"][0]["entry_id"]
    plenary.run("speaker.remove", room=ROOM, entry_id=pan)
    (undone,) = plenary.run("speaker.undo", room=ROOM,
                            expected_version=plenary.state.rooms[ROOM].version)
    assert undone.data.to_data()["requeued"]["speaker_title"] == "Vicecanciller"
    assert speakers(plenary)["queue"][0]["speaker_title"] == "Vicecanciller"
    replayed = new_state(REFERENCE)
    for event in plenary.log:
        apply(replayed, Event.from_fields(event.to_fields(), event.id))
    assert replayed == plenary.state
    assert from_dict(REFERENCE, to_dict(plenary.state)) == plenary.state


def test_a_request_carries_the_title_to_its_entry(plenary: Driver) -> None:
    (sub,) = as_delegation(plenary, "BRB", "request.submit", room=ROOM, speaker_name="J. Mottley",
                           speaker_title="Prime Minister")
    assert sub.type == "request.submitted" and sub.data.to_data()["speaker_title"] == (
        "Prime Minister")
    desk = room_view(plenary.state, ROOM, plenary.now, Audience.DESK)
    assert desk["speakers"]["requests"][0]["speaker_title"] == "Prime Minister"
    assert from_dict(REFERENCE, to_dict(plenary.state)) == plenary.state
    plenary.run("request.accept", room=ROOM, request_id=sub.data.to_data()["request_id"])
    assert speakers(plenary)["queue"][0]["speaker_title"] == "Prime Minister"


def test_a_direct_request_and_a_closed_sitting_keep_the_title(meeting: Driver) -> None:
    meeting.run("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    (added,) = as_delegation(meeting, "COL", "request.submit", room="gt-seguridad",
                             speaker_title=TITLE)
    assert added.type == "speaker.added"
    assert meeting.view("gt-seguridad")["speakers"]["queue"][0]["speaker_title"] == TITLE
    (closed,) = meeting.run("session.close", room="gt-seguridad")
    assert closed.data.to_data()["dropped"][0]["speaker_title"] == TITLE


def test_a_snapshot_taken_before_titles_existed_loads(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="COL")
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.next", room=ROOM)
    data = to_dict(plenary.state)
    for room in data["rooms"]:
        for entry in room["queue"]:
            del entry["speaker_title"]
        if room["current"] is not None:
            del room["current"]["speaker_title"]
    assert from_dict(REFERENCE, data) == plenary.state
