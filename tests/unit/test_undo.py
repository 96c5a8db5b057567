"""speaker.undo: the newest change to the list of speakers taken back, exactly, within 120 s."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dashboard.domain import Conflict, Invalid, Stale, apply, new_state
from dashboard.domain.minutes import fold_all, report
from dashboard.domain.snapshot import from_dict, to_dict
from dashboard.domain.state import UNDO_WINDOW_S, RoomState

from .conftest import REFERENCE, Driver

ROOM = "plenario"


def undo(meeting: Driver, **extra: Any) -> Any:
    version = meeting.state.rooms[ROOM].version
    return meeting.run("speaker.undo", room=ROOM, expected_version=version, **extra)


def picture(meeting: Driver) -> tuple[list[Any], Any]:
    """The list and the floor as they stand now: the queue's entries exactly, and the
    speech with the seconds its clock shows now and whether it runs."""
    room: RoomState = meeting.state.rooms[ROOM]
    speech = room.current
    floor = None if speech is None else (
        speech.entry_id, speech.delegation, speech.speaker_name, speech.kind,
        speech.started_at, speech.limit_s, round(speech.elapsed(meeting.now), 6),
        speech.paused, speech.overrun_recorded,
    )
    return copy.deepcopy(room.queue), floor


@pytest.fixture
def busy(plenary: Driver) -> Driver:
    """Guatemala has the floor for 40 s; four delegations wait."""
    for code in ("GTM", "HND", "PAN", "USA", "COL"):
        plenary.run("speaker.add", room=ROOM, delegation=code)
        plenary.tick(1)
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(40)
    return plenary


def _entry(meeting: Driver, code: str) -> str:
    return meeting.entry(code)


ACTIONS: dict[str, Any] = {
    "next": lambda m: m.run("speaker.next", room=ROOM),
    "start": lambda m: m.run("speaker.start", room=ROOM, entry_id=_entry(m, "USA")),
    "stop": lambda m: m.run("speaker.stop", room=ROOM),
    "remove": lambda m: m.run("speaker.remove", room=ROOM, entry_id=_entry(m, "PAN")),
    "move": lambda m: m.run("speaker.move", room=ROOM, entry_id=_entry(m, "COL"), position=0),
    "add": lambda m: m.run("speaker.add", room=ROOM, delegation="MEX"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_undo_restores_the_exact_list_and_floor(busy: Driver, action: str) -> None:
    before = picture(busy)
    ACTIONS[action](busy)
    assert picture(busy) != before
    busy.tick(25)  # the undone change lasted a while
    (event,) = undo(busy)
    assert event.type == "speaker.undone" and event.data.undone == f"speaker.{action}"
    if action in ("add", "remove", "move"):  # the floor was not part of it: its clock ran on
        queue, floor = before
        before = (queue, (*floor[:6], floor[6] + 25, *floor[7:]))
    # the floor was: the speaker's clock shows what it showed when the change was made
    assert picture(busy) == before
    # running if it was running: the restored clock goes on from where it stood
    if before[1] is not None:
        busy.tick(5)
        assert picture(busy)[1][6] == pytest.approx(before[1][6] + 5)


def test_undoing_a_next_when_nobody_had_the_floor_leaves_it_empty(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="HND")
    before = picture(plenary)
    plenary.run("speaker.next", room=ROOM)
    undo(plenary)
    assert picture(plenary) == before and before[1] is None


def test_a_paused_clock_comes_back_paused(busy: Driver) -> None:
    busy.run("timer.pause", room=ROOM)
    before = picture(busy)
    busy.run("speaker.next", room=ROOM)
    busy.tick(30)
    undo(busy)
    busy.tick(30)
    assert picture(busy) == before
    assert busy.state.rooms[ROOM].current.paused  # type: ignore[union-attr]


def test_a_next_with_nobody_waiting_only_ended_the_speech(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="HND")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(12)
    before = picture(plenary)
    plenary.run("speaker.next", room=ROOM)
    view = plenary.view()["speakers"]["undo"]
    assert (view["action"], view["change"], view["delegation"]["code"]) == (
        "speaker.next", "speech_ended", "HND")
    undo(plenary)
    assert picture(plenary) == before


def test_the_view_names_the_change_and_until_when(busy: Driver) -> None:
    busy.run("speaker.next", room=ROOM)
    view = busy.view()["speakers"]["undo"]
    assert view["action"] == "speaker.next" and view["change"] == "floor_given"
    assert view["delegation"]["code"] == "HND"
    assert view["until"] == pytest.approx(busy.now + UNDO_WINDOW_S)
    busy.tick(UNDO_WINDOW_S + 1)
    assert busy.view()["speakers"]["undo"] is None


def test_only_changes_of_the_last_120_s_can_be_undone(busy: Driver) -> None:
    busy.run("speaker.next", room=ROOM)
    busy.tick(UNDO_WINDOW_S)
    version = busy.state.rooms[ROOM].version
    assert busy.decide("speaker.undo", room=ROOM, expected_version=version)
    busy.tick(0.5)
    with pytest.raises(Conflict, match="too old.*120 s"):
        busy.decide("speaker.undo", room=ROOM, expected_version=version)


def test_only_the_newest_change_once(busy: Driver) -> None:
    busy.run("speaker.remove", room=ROOM, entry_id=busy.entry("PAN"))
    busy.run("speaker.next", room=ROOM)
    undo(busy)
    assert busy.queue()[0] == ("HND", "speech")
    assert "PAN" not in [code for code, _ in busy.queue()]  # the removal stays
    with pytest.raises(Conflict, match="nothing to undo"):
        undo(busy)


def test_expected_version_is_required_and_checked(busy: Driver) -> None:
    busy.run("speaker.next", room=ROOM)
    with pytest.raises(Invalid) as caught:
        busy.decide("speaker.undo", room=ROOM)
    assert caught.value.field == "expected_version" and caught.value.status == 422
    old = busy.state.rooms[ROOM].version
    busy.tick(1)
    busy.run("timer.extend", room=ROOM, seconds=30)
    with pytest.raises(Stale) as stale:
        busy.decide("speaker.undo", room=ROOM, expected_version=old)
    assert stale.value.code == "stale" and stale.value.status == 409


def test_nothing_to_undo_after_a_suspension_or_in_a_new_sitting(busy: Driver) -> None:
    busy.run("speaker.next", room=ROOM)
    busy.run("session.suspend", room=ROOM)
    with pytest.raises(Conflict, match="nothing to undo"):
        undo(busy)
    fresh = Driver(REFERENCE)
    fresh.run("session.open", room=ROOM, session_id="plenaria")
    with pytest.raises(Conflict, match="nothing to undo"):
        undo(fresh)


def test_a_replay_of_the_stream_and_a_snapshot_give_the_same_state(busy: Driver) -> None:
    busy.run("speaker.start", room=ROOM, entry_id=busy.entry("USA"))
    assert from_dict(REFERENCE, to_dict(busy.state)) == busy.state  # undo record kept
    busy.tick(9)
    undo(busy)
    replayed = new_state(REFERENCE)
    for event in busy.log:
        apply(replayed, event)
    assert replayed == busy.state
    assert from_dict(REFERENCE, to_dict(busy.state)) == busy.state


def test_a_snapshot_without_an_undo_record_loads(busy: Driver) -> None:
    data = to_dict(busy.state)
    for room in data["rooms"]:
        del room["undo"]
    assert from_dict(REFERENCE, data).rooms[ROOM].undo is None


# --- the minutes --------------------------------------------------------------------------


def _speeches(meeting: Driver) -> list[tuple[str, str | None, float]]:
    rows = report(fold_all(meeting.log), REFERENCE, meeting.now)["speeches"]
    return [(r["delegation"], r["end_reason"], r["spoken_s"]) for r in rows]


def test_minutes_no_speech_for_an_undone_floor_one_for_the_restored_one(busy: Driver) -> None:
    busy.run("speaker.next", room=ROOM)  # GTM ends after 40 s, HND gets the floor
    busy.tick(20)
    undo(busy)  # GTM has it again at 40 s; HND waits again
    busy.tick(15)
    assert _speeches(busy) == [("GTM", "in_progress", 55.0)]
    busy.run("speaker.next", room=ROOM)
    busy.tick(7)
    busy.run("speaker.stop", room=ROOM)
    assert _speeches(busy) == [("GTM", "next", 55.0), ("HND", "stop", 7.0)]
    record = report(fold_all(busy.log), REFERENCE, busy.now)
    gtm = record["speeches"][0]
    assert gtm["paused_s"] == 20.0 and gtm["pauses"] == 0
    assert [t["code"] for t in record["totals"]["delegations"]] == ["GTM", "HND"]


def test_minutes_an_undone_stop_resumes_the_row(busy: Driver) -> None:
    busy.run("speaker.stop", room=ROOM)
    busy.tick(10)
    undo(busy)
    busy.tick(5)
    busy.run("speaker.stop", room=ROOM)
    assert _speeches(busy) == [("GTM", "stop", 45.0)]


def test_minutes_an_undone_removal_or_addition_leaves_no_trace(busy: Driver) -> None:
    busy.run("speaker.remove", room=ROOM, entry_id=busy.entry("PAN"))
    undo(busy)
    busy.run("speaker.add", room=ROOM, delegation="MEX")
    undo(busy)
    busy.run("session.close", room=ROOM)
    record = report(fold_all(busy.log), REFERENCE, busy.now)
    unserved = [(u["delegation"], u["reason"]) for u in record["unserved"]]
    assert unserved == [(c, "sitting_closed") for c in ("HND", "PAN", "USA", "COL")]
