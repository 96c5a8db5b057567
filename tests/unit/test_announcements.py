"""Announcements: targeting all rooms, a venue or chosen rooms; expiry; retract; expire once."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.domain import Conflict, Invalid, NotFound, touched_rooms

from .conftest import Driver

ALL = {"plenario", "gt-cancillerias", "gt-seguridad", "gt-desarrollo"}
TEXT = {"es": "Aviso", "en": "Notice"}


def post(meeting: Driver, **fields: Any) -> str:
    fields.setdefault("text", TEXT)
    (event,) = meeting.run("announcement.post", **fields)
    assert event.type == "announcement.posted" and event.room is None
    return str(event.data.id)


def shown_in(meeting: Driver, announcement_id: str) -> set[str]:
    return {
        room
        for room in meeting.state.rooms
        if any(a["id"] == announcement_id for a in meeting.view(room)["announcements"])
    }


@pytest.mark.parametrize(
    ("rooms", "expected"),
    [
        (["*"], ALL),
        ("*", ALL),
        ("palacio-bolivar", {"plenario", "gt-cancillerias"}),
        ("hotel", {"gt-seguridad", "gt-desarrollo"}),
        (["gt-seguridad"], {"gt-seguridad"}),
        (["plenario", "gt-desarrollo", "plenario"], {"plenario", "gt-desarrollo"}),
    ],
)
def test_targets_resolve_to_rooms(meeting: Driver, rooms: Any, expected: set[str]) -> None:
    (event,) = meeting.run("announcement.post", text=TEXT, rooms=rooms)
    assert set(event.data.rooms) == expected
    assert len(event.data.rooms) == len(expected)
    assert set(touched_rooms(meeting.state, event)) == expected
    assert shown_in(meeting, event.data.id) == expected


def test_posted_event_data(meeting: Driver) -> None:
    (event,) = meeting.run(
        "announcement.post", text=TEXT, level="urgent", rooms="hotel", expires_at=meeting.now + 60
    )
    assert event.data.to_data() == {
        "id": event.data.id,
        "text": TEXT,
        "level": "urgent",
        "target": "hotel",
        "rooms": ["gt-seguridad", "gt-desarrollo"],
        "expires_at": meeting.now + 60,
    }


def test_announcement_view_fields(meeting: Driver) -> None:
    ann = post(meeting, rooms=["plenario"], expires_at=meeting.now + 60)
    assert meeting.view()["announcements"] == [
        {
            "id": ann,
            "text": TEXT,
            "level": "info",
            "posted_at": meeting.now,
            "expires_at": meeting.now + 60,
        }
    ]


def test_unknown_targets_are_not_found(meeting: Driver) -> None:
    with pytest.raises(NotFound) as caught:
        meeting.decide("announcement.post", text=TEXT, rooms="the-beach")
    assert caught.value.field == "rooms"
    with pytest.raises(NotFound) as caught:
        meeting.decide("announcement.post", text=TEXT, rooms=["plenario", "attic"])
    assert caught.value.field == "rooms[1]"


def test_expiry_in_the_past_is_invalid(meeting: Driver) -> None:
    with pytest.raises(Invalid) as caught:
        meeting.decide("announcement.post", text=TEXT, expires_at=meeting.now)
    assert caught.value.field == "expires_at"


def test_the_view_hides_expired_announcements_and_orders_by_posting(meeting: Driver) -> None:
    first = post(meeting, expires_at=meeting.now + 30)
    meeting.tick(1)
    second = post(meeting)
    meeting.tick(1)
    third = post(meeting, expires_at=meeting.now + 100)
    assert [a["id"] for a in meeting.view()["announcements"]] == [first, second, third]
    meeting.tick(28)  # exactly at first's expiry: no longer shown
    assert [a["id"] for a in meeting.view()["announcements"]] == [second, third]


def test_retract_removes_it_everywhere_and_only_once(meeting: Driver) -> None:
    ann = post(meeting, rooms="palacio-bolivar")
    (event,) = meeting.run("announcement.retract", id=ann)
    assert event.data.to_data() == {"id": ann, "rooms": ["plenario", "gt-cancillerias"]}
    assert shown_in(meeting, ann) == set()
    with pytest.raises(NotFound) as again:  # it is not there any more
        meeting.decide("announcement.retract", id=ann)
    assert again.value.field == "id"
    with pytest.raises(NotFound) as caught:
        meeting.decide("announcement.retract", id="an999")
    assert caught.value.field == "id"


def test_an_expired_announcement_cannot_be_retracted(meeting: Driver) -> None:
    ann = post(meeting, expires_at=meeting.now + 60)
    meeting.tick(60)
    meeting.run("announcement.expire", id=ann)
    with pytest.raises(NotFound):
        meeting.decide("announcement.retract", id=ann)


def test_expire_happens_once_and_only_when_due(meeting: Driver) -> None:
    ann = post(meeting, expires_at=meeting.now + 60)
    forever = post(meeting)
    with pytest.raises(Conflict):
        meeting.decide("announcement.expire", id=ann)
    with pytest.raises(Conflict):
        meeting.decide("announcement.expire", id=forever)
    meeting.tick(60)
    (event,) = meeting.run("announcement.expire", id=ann)
    assert event.type == "announcement.expired" and set(event.data.rooms) == ALL
    with pytest.raises(Conflict):
        meeting.decide("announcement.expire", id=ann)


def test_announcements_change_the_version_of_the_rooms_they_target(meeting: Driver) -> None:
    before = {r: meeting.view(r)["version"] for r in ALL}
    (event,) = meeting.run("announcement.post", text=TEXT, rooms=["gt-seguridad"])
    after = {r: meeting.view(r)["version"] for r in ALL}
    assert after["gt-seguridad"] == event.id
    assert {r: v for r, v in after.items() if r != "gt-seguridad"} == {
        r: v for r, v in before.items() if r != "gt-seguridad"
    }
    assert meeting.state.version == event.id


def test_a_room_given_with_an_announcement_must_exist(meeting: Driver) -> None:
    with pytest.raises(NotFound):
        meeting.decide("announcement.post", text=TEXT, room="attic")
    post(meeting, room="plenario")
