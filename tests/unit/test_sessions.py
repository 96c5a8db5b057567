"""Sittings: the transition table, one sitting per room, and what opening/closing do."""

from __future__ import annotations

import itertools

import pytest

from dashboard.domain import SESSION_TRANSITIONS, Conflict, Invalid, NotFound, SessionStatus
from dashboard.domain.sessions import COMMAND_TRANSITIONS

from .conftest import Driver

ROOM = "plenario"
SITTING = "plenaria"


def bring_to(meeting: Driver, status: SessionStatus) -> None:
    """Drive the plenary sitting to a status through the chair's commands."""
    steps = {
        SessionStatus.SCHEDULED: [],
        SessionStatus.OPEN: ["session.open"],
        SessionStatus.SUSPENDED: ["session.open", "session.suspend"],
        SessionStatus.CLOSED: ["session.open", "session.close"],
    }[status]
    for step in steps:
        meeting.run(step, room=ROOM, session_id=SITTING)
    assert meeting.state.sessions[SITTING].status is status


def test_the_table_is_scheduled_open_suspended_closed() -> None:
    S = SessionStatus
    assert SESSION_TRANSITIONS == {
        S.SCHEDULED: {S.OPEN},
        S.OPEN: {S.SUSPENDED, S.CLOSED},
        S.SUSPENDED: {S.OPEN, S.CLOSED},
        S.CLOSED: set(),
    }


def test_every_command_transition_is_in_the_table() -> None:
    for sources, target in COMMAND_TRANSITIONS.values():
        for source in sources:
            assert target in SESSION_TRANSITIONS[source]


@pytest.mark.parametrize(
    ("status", "command"), list(itertools.product(SessionStatus, COMMAND_TRANSITIONS))
)
def test_each_command_from_each_status(
    meeting: Driver, status: SessionStatus, command: str
) -> None:
    bring_to(meeting, status)
    sources, target = COMMAND_TRANSITIONS[command]
    if status in sources:
        meeting.run(command, room=ROOM, session_id=SITTING)
        assert meeting.state.sessions[SITTING].status is target
        assert meeting.view()["session"] is None or meeting.view()["session"]["status"] == target
    else:
        with pytest.raises(Conflict) as caught:
            meeting.decide(command, room=ROOM, session_id=SITTING)
        assert caught.value.field == "session_id"
        assert meeting.state.sessions[SITTING].status is status


@pytest.mark.parametrize("command", ["session.suspend", "session.resume", "session.close"])
def test_without_a_sitting_in_progress_there_is_nothing_to_move(
    meeting: Driver, command: str
) -> None:
    with pytest.raises(Conflict):
        meeting.decide(command, room=ROOM)


def test_commands_default_to_the_sitting_in_progress(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    meeting.run("session.suspend", room=ROOM)
    assert meeting.view()["session"]["status"] == "suspended"
    meeting.run("session.resume", room=ROOM)
    assert meeting.view()["session"]["status"] == "open"
    meeting.run("session.close", room=ROOM)
    assert meeting.view()["session"] is None


def test_unknown_room_is_not_found(meeting: Driver) -> None:
    with pytest.raises(NotFound) as caught:
        meeting.decide("session.open", room="attic", session_id=SITTING)
    assert caught.value.field == "room"
    assert caught.value.status == 404


def test_unknown_sitting_is_not_found(meeting: Driver) -> None:
    with pytest.raises(NotFound) as caught:
        meeting.decide("session.open", room=ROOM, session_id="picnic")
    assert caught.value.field == "session_id"


def test_a_sitting_of_another_room_is_a_conflict(meeting: Driver) -> None:
    with pytest.raises(Conflict) as caught:
        meeting.decide("session.open", room=ROOM, session_id="gt-seguridad-1")
    assert caught.value.field == "session_id"


def test_only_one_sitting_in_progress_per_room(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    with pytest.raises(Conflict):
        meeting.decide("session.open", room=ROOM, session_id="clausura")
    meeting.run("session.suspend", room=ROOM)
    with pytest.raises(Conflict):
        meeting.decide("session.open", room=ROOM, session_id="clausura")
    meeting.run("session.close", room=ROOM)
    meeting.run("session.open", room=ROOM, session_id="clausura")
    assert meeting.view()["session"]["id"] == "clausura"


def test_rooms_run_their_sittings_independently(meeting: Driver) -> None:
    for room in ("gt-seguridad", "gt-cancillerias", "gt-desarrollo"):
        meeting.run("session.open", room=room, session_id=f"{room}-1")
    assert {meeting.view(r)["session"]["status"] for r in meeting.state.rooms if r != ROOM} == {
        "open"
    }
    assert meeting.view(ROOM)["session"] is None


def test_session_view_has_the_contract_fields(meeting: Driver, programme) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    session = meeting.view()["session"]
    spec = programme.sessions_by_id[SITTING]
    assert session == {
        "id": SITTING,
        "title": {"es": spec.title.es, "en": spec.title.en},
        "kind": "plenary",
        "status": "open",
        "scheduled_start": programme.instant(spec.start),
        "scheduled_end": programme.instant(spec.end),
        "suspended_until": None,
        "start_due": False,
        "inscription": "approval",
        "budget_s": 360,
        "item": None,
    }


def test_next_session_is_the_earliest_scheduled_one(meeting: Driver) -> None:
    assert meeting.view()["next_session"]["id"] == SITTING
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    assert meeting.view()["next_session"]["id"] == "clausura"
    meeting.run("session.close", room=ROOM)
    meeting.run("session.open", room=ROOM, session_id="clausura")
    assert meeting.view()["next_session"] is None


def test_suspend_until_is_shown_and_cleared_on_resume(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    meeting.run("session.suspend", room=ROOM, until=meeting.now + 900)
    assert meeting.view()["session"]["suspended_until"] == meeting.now + 900
    meeting.run("session.resume", room=ROOM)
    assert meeting.view()["session"]["suspended_until"] is None


def test_suspend_until_in_the_past_is_invalid(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    with pytest.raises(Invalid) as caught:
        meeting.decide("session.suspend", room=ROOM, until=meeting.now - 1)
    assert caught.value.field == "until"


def test_closing_ends_the_speech_drops_the_queue_and_reopens_the_list(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    meeting.run("speaker.add", room=ROOM, delegation="PAN")
    meeting.run("speaker.add", room=ROOM, delegation="USA")
    meeting.run("speaker.add", room=ROOM, delegation="MEX", kind="reply")
    meeting.run("speaker.next", room=ROOM)
    meeting.run("list.close", room=ROOM)
    meeting.tick(42)
    ended, closed = meeting.run("session.close", room=ROOM)
    assert ended.type == "speaker.speech_ended"
    assert ended.data.delegation == "PAN" and ended.data.reason == "session_closed"
    assert ended.data.elapsed_s == 42
    assert closed.type == "session.closed"
    assert closed.data.ended_entry_id == ended.data.entry_id
    assert [(d.delegation, d.kind) for d in closed.data.dropped] == [
        ("USA", "speech"),
        ("MEX", "reply"),
    ]
    assert closed.data.list_was_closed is True
    room = meeting.state.rooms[ROOM]
    assert room.current is None and room.queue == [] and room.list_closed is False


def test_a_new_sitting_starts_with_an_empty_open_list(meeting: Driver) -> None:
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    meeting.run("speaker.add", room=ROOM, delegation="PAN")
    meeting.run("list.close", room=ROOM)
    meeting.run("session.close", room=ROOM)
    meeting.run("session.open", room=ROOM, session_id="clausura")
    speakers = meeting.view()["speakers"]
    assert speakers == {"current": None, "queue": [], "list_closed": False, "undo": None,
                        "for_session": "clausura", "forecast_end": meeting.now}


def test_start_due_is_flagged_once_while_scheduled(meeting: Driver) -> None:
    meeting.run("session.signal_start_due", room=ROOM, session_id=SITTING)
    assert meeting.view()["next_session"]["start_due"] is True
    with pytest.raises(Conflict):
        meeting.decide("session.signal_start_due", room=ROOM, session_id=SITTING)
    meeting.run("session.open", room=ROOM, session_id=SITTING)
    assert meeting.view()["session"]["start_due"] is False
    with pytest.raises(Conflict):
        meeting.decide("session.signal_start_due", room=ROOM, session_id=SITTING)


def test_start_due_checks_the_room(meeting: Driver) -> None:
    with pytest.raises(Conflict):
        meeting.decide("session.signal_start_due", room=ROOM, session_id="gt-seguridad-1")
    with pytest.raises(NotFound):
        meeting.decide("session.signal_start_due", room=ROOM, session_id="nope")
