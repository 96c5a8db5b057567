"""The list of speakers: ordering by kind, duplicates, closed list, the floor."""

from __future__ import annotations

import pytest

from dashboard.domain import Conflict, NotFound

from .conftest import Driver

ROOM = "plenario"


def add(meeting: Driver, delegation: str, kind: str = "speech", **extra: object) -> str:
    (event,) = meeting.run("speaker.add", room=ROOM, delegation=delegation, kind=kind, **extra)
    assert event.type == "speaker.added"
    return str(event.data.entry_id)


def test_speeches_are_first_come_first_served(plenary: Driver) -> None:
    for code in ("PAN", "USA", "COL"):
        add(plenary, code)
    assert plenary.queue() == [("PAN", "speech"), ("USA", "speech"), ("COL", "speech")]


def test_points_of_order_go_ahead_of_speeches_after_earlier_points_of_order(
    plenary: Driver,
) -> None:
    add(plenary, "PAN")
    add(plenary, "USA")
    add(plenary, "BRA", "point_of_order")
    add(plenary, "CAN", "point_of_order")
    assert plenary.queue() == [
        ("BRA", "point_of_order"),
        ("CAN", "point_of_order"),
        ("PAN", "speech"),
        ("USA", "speech"),
    ]


def test_replies_wait_at_the_end_after_every_speech_first_come(plenary: Driver) -> None:
    add(plenary, "PAN")
    add(plenary, "MEX", "reply")
    add(plenary, "USA")
    add(plenary, "PER", "reply")
    add(plenary, "COL")
    add(plenary, "HTI", "point_of_order")
    assert plenary.queue() == [
        ("HTI", "point_of_order"),
        ("PAN", "speech"),
        ("USA", "speech"),
        ("COL", "speech"),
        ("MEX", "reply"),
        ("PER", "reply"),
    ]


def test_added_event_is_self_contained(plenary: Driver) -> None:
    add(plenary, "PAN")
    (event,) = plenary.run("speaker.add", room=ROOM, delegation="USA", speaker_name=" Minister ")
    assert event.room == ROOM
    assert event.data.to_data() == {
        "entry_id": event.data.entry_id,
        "delegation": "USA",
        "speaker_name": "Minister",
        "kind": "speech",
        "position": 1,
    }
    assert event.data.entry_id != plenary.entry("PAN")


def test_a_delegation_waiting_with_the_same_kind_is_a_conflict(plenary: Driver) -> None:
    add(plenary, "PAN")
    with pytest.raises(Conflict) as caught:
        plenary.decide("speaker.add", room=ROOM, delegation="PAN")
    assert caught.value.field == "delegation"
    add(plenary, "PAN", "reply")
    add(plenary, "PAN", "point_of_order")
    with pytest.raises(Conflict):
        plenary.decide("speaker.add", room=ROOM, delegation="PAN", kind="reply")


def test_the_current_speaker_may_ask_again(plenary: Driver) -> None:
    add(plenary, "PAN")
    plenary.run("speaker.next", room=ROOM)
    add(plenary, "PAN")
    assert plenary.queue() == [("PAN", "speech")]


def test_a_closed_list_refuses_speeches_but_takes_points_of_order_and_replies(
    plenary: Driver,
) -> None:
    add(plenary, "PAN")
    plenary.run("list.close", room=ROOM)
    assert plenary.view()["speakers"]["list_closed"] is True
    with pytest.raises(Conflict):
        plenary.decide("speaker.add", room=ROOM, delegation="USA")
    add(plenary, "USA", "point_of_order")
    add(plenary, "MEX", "reply")
    plenary.run("list.reopen", room=ROOM)
    add(plenary, "COL")
    assert plenary.queue()[-2:] == [("COL", "speech"), ("MEX", "reply")]


def test_closing_or_reopening_twice_is_a_conflict(plenary: Driver) -> None:
    with pytest.raises(Conflict):
        plenary.decide("list.reopen", room=ROOM)
    plenary.run("list.close", room=ROOM)
    with pytest.raises(Conflict):
        plenary.decide("list.close", room=ROOM)


def test_unknown_delegation_is_not_found_with_its_field(plenary: Driver) -> None:
    with pytest.raises(NotFound) as caught:
        plenary.decide("speaker.add", room=ROOM, delegation="ATLANTIS")
    assert caught.value.field == "delegation"


def test_the_list_needs_a_sitting_in_progress(meeting: Driver) -> None:
    for command, fields in [
        ("speaker.add", {"delegation": "PAN"}),
        ("list.close", {}),
        ("speaker.next", {}),
    ]:
        with pytest.raises(Conflict):
            meeting.decide(command, room=ROOM, **fields)


def test_remove_takes_an_entry_off_the_list(plenary: Driver) -> None:
    pan, usa = add(plenary, "PAN"), add(plenary, "USA")
    (event,) = plenary.run("speaker.remove", room=ROOM, entry_id=pan)
    assert event.data.to_data() == {"entry_id": pan, "delegation": "PAN", "kind": "speech",
                                    "position": 0}
    assert plenary.queue() == [("USA", "speech")]
    with pytest.raises(NotFound) as caught:
        plenary.decide("speaker.remove", room=ROOM, entry_id=pan)
    assert caught.value.field == "entry_id"
    plenary.run("speaker.next", room=ROOM)
    with pytest.raises(Conflict):  # has the floor: stop it instead
        plenary.decide("speaker.remove", room=ROOM, entry_id=usa)


def test_move_puts_an_entry_at_a_zero_based_index(plenary: Driver) -> None:
    for code in ("PAN", "USA", "COL", "MEX"):
        add(plenary, code)
    plenary.run("speaker.move", room=ROOM, entry_id=plenary.entry("MEX"), position=0)
    assert [c for c, _ in plenary.queue()] == ["MEX", "PAN", "USA", "COL"]
    plenary.run("speaker.move", room=ROOM, entry_id=plenary.entry("MEX"), position=3)
    assert [c for c, _ in plenary.queue()] == ["PAN", "USA", "COL", "MEX"]
    plenary.run("speaker.move", room=ROOM, entry_id=plenary.entry("PAN"), position=2)
    assert [c for c, _ in plenary.queue()] == ["USA", "COL", "PAN", "MEX"]


def test_move_out_of_range_or_unknown_entry_is_refused(plenary: Driver) -> None:
    pan = add(plenary, "PAN")
    with pytest.raises(Conflict) as caught:
        plenary.decide("speaker.move", room=ROOM, entry_id=pan, position=1)
    assert caught.value.field == "position"
    with pytest.raises(NotFound):
        plenary.decide("speaker.move", room=ROOM, entry_id="sp999", position=0)


def test_next_gives_the_floor_to_the_head_and_ends_the_current_speech(plenary: Driver) -> None:
    add(plenary, "PAN")
    add(plenary, "USA")
    (given,) = plenary.run("speaker.next", room=ROOM)
    assert given.type == "speaker.floor_given"
    assert given.data.delegation == "PAN" and given.data.out_of_turn is False
    assert given.data.limit_s == 240 and given.data.session_id == "plenaria"
    plenary.tick(100)
    ended, given = plenary.run("speaker.next", room=ROOM)
    assert ended.type == "speaker.speech_ended"
    assert ended.data.delegation == "PAN" and ended.data.elapsed_s == 100
    assert ended.data.reason == "next" and ended.data.overran is False
    assert given.data.delegation == "USA"
    current = plenary.view()["speakers"]["current"]
    assert current["delegation"]["code"] == "USA" and plenary.queue() == []


def test_next_with_an_empty_queue_only_ends_the_speech(plenary: Driver) -> None:
    add(plenary, "PAN")
    plenary.run("speaker.next", room=ROOM)
    (ended,) = plenary.run("speaker.next", room=ROOM)
    assert ended.type == "speaker.speech_ended"
    assert plenary.view()["speakers"]["current"] is None
    with pytest.raises(Conflict):
        plenary.decide("speaker.next", room=ROOM)


def test_start_gives_the_floor_out_of_turn(plenary: Driver) -> None:
    add(plenary, "PAN")
    add(plenary, "USA")
    plenary.run("speaker.next", room=ROOM)
    ended, given = plenary.run("speaker.start", room=ROOM, entry_id=plenary.entry("USA"))
    assert ended.data.reason == "start"
    assert given.data.delegation == "USA" and given.data.out_of_turn is False
    add(plenary, "COL")
    add(plenary, "MEX")
    _, given = plenary.run("speaker.start", room=ROOM, entry_id=plenary.entry("MEX"))
    assert given.data.out_of_turn is True
    assert plenary.queue() == [("COL", "speech")]
    with pytest.raises(NotFound):
        plenary.decide("speaker.start", room=ROOM, entry_id="sp999")


def test_stop_ends_the_current_speech(plenary: Driver) -> None:
    with pytest.raises(Conflict):
        plenary.decide("speaker.stop", room=ROOM)
    add(plenary, "PAN")
    plenary.run("speaker.next", room=ROOM)
    (ended,) = plenary.run("speaker.stop", room=ROOM)
    assert ended.data.reason == "stop"
    assert plenary.view()["speakers"]["current"] is None


def test_the_floor_is_given_only_while_the_sitting_is_open(plenary: Driver) -> None:
    pan = add(plenary, "PAN")
    plenary.run("session.suspend", room=ROOM)
    with pytest.raises(Conflict):
        plenary.decide("speaker.next", room=ROOM)
    with pytest.raises(Conflict):
        plenary.decide("speaker.start", room=ROOM, entry_id=pan)
    add(plenary, "USA")  # requests are still taken during a suspension
    plenary.run("session.resume", room=ROOM)
    plenary.run("speaker.next", room=ROOM)
    assert plenary.view()["speakers"]["current"]["delegation"]["code"] == "PAN"


def test_limits_come_from_the_sitting_kind_and_speech_kind(meeting: Driver) -> None:
    meeting.run("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    for code, kind in (("PAN", "speech"), ("USA", "point_of_order"), ("MEX", "reply")):
        meeting.run("speaker.add", room="gt-seguridad", delegation=code, kind=kind)
    limits = []
    for _ in range(3):
        given = meeting.run("speaker.next", room="gt-seguridad")[-1]
        limits.append((given.data.kind, given.data.limit_s))
    assert limits == [("point_of_order", 60), ("speech", 300), ("reply", 120)]


def test_overrun_is_recorded_once_and_only_while_overrunning(plenary: Driver) -> None:
    pan = add(plenary, "PAN")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(240)
    with pytest.raises(Conflict):  # exactly at the limit is not over it
        plenary.decide("speaker.record_overrun", room=ROOM, entry_id=pan)
    plenary.tick(5)
    (overran,) = plenary.run("speaker.record_overrun", room=ROOM, entry_id=pan)
    assert overran.type == "speaker.overran"
    assert overran.data.overrun_s == 5 and overran.data.limit_s == 240
    with pytest.raises(Conflict):
        plenary.decide("speaker.record_overrun", room=ROOM, entry_id=pan)
    with pytest.raises(Conflict):
        plenary.decide("speaker.record_overrun", room=ROOM, entry_id="sp999")


def test_view_entries_have_the_contract_fields(plenary: Driver) -> None:
    add(plenary, "PAN", speaker_name="Head of delegation")
    add(plenary, "IDB")
    plenary.run("speaker.next", room=ROOM)
    speakers = plenary.view()["speakers"]
    assert speakers["queue"] == [
        {
            "entry_id": plenary.entry("IDB"),
            "delegation": {
                "code": "IDB",
                "name": {
                    "es": "Banco Interamericano de Desarrollo (BID)",
                    "en": "Inter-American Development Bank (IDB)",
                },
                "kind": "development_bank",
            },
            "speaker_name": None,
            "speaker_title": None,
            "kind": "speech",
            "inscribed_at": plenary.now,
            "level": None,
            "language": None,
            "on_behalf_of": None,
            "wait_s": 240.0,
        }
    ]
    assert set(speakers["current"]) == {
        "level", "language", "on_behalf_of", "warn_s", "budget_s", "spoken_before_s",
        "entry_id",
        "delegation",
        "speaker_name",
        "speaker_title",
        "kind",
        "started_at",
        "limit_s",
        "elapsed_s",
        "paused",
        "running_since",
    }
    assert speakers["current"]["speaker_name"] == "Head of delegation"
