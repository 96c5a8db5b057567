"""The speaking clock: pause, resume, extend, suspension, and negative overrun."""

from __future__ import annotations

import pytest

from dashboard.domain import Conflict, Invalid

from .conftest import Driver

ROOM = "plenario"


@pytest.fixture
def speaking(plenary: Driver) -> Driver:
    """Panama has the floor in the open plenary (limit 240 s)."""
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.next", room=ROOM)
    return plenary


def clock(meeting: Driver) -> dict:
    return meeting.view()["speakers"]["current"]


def test_the_clock_runs_from_the_floor_being_given(speaking: Driver) -> None:
    started = speaking.now
    speaking.tick(30)
    current = clock(speaking)
    assert current["started_at"] == started
    assert current["running_since"] == started
    assert current["elapsed_s"] == 30 and current["paused"] is False
    assert current["limit_s"] == 240


def test_pause_and_resume_keep_the_accumulated_time(speaking: Driver) -> None:
    speaking.tick(30)
    (paused,) = speaking.run("timer.pause", room=ROOM)
    assert paused.data.elapsed_s == 30
    speaking.tick(600)
    assert clock(speaking)["elapsed_s"] == 30
    assert clock(speaking)["paused"] is True and clock(speaking)["running_since"] is None
    speaking.run("timer.resume", room=ROOM)
    speaking.tick(10)
    assert clock(speaking)["elapsed_s"] == 40


def test_nothing_to_pause_or_resume_is_a_conflict(plenary: Driver) -> None:
    for command in ("timer.pause", "timer.resume"):
        with pytest.raises(Conflict):
            plenary.decide(command, room=ROOM)
    with pytest.raises(Conflict):
        plenary.decide("timer.extend", room=ROOM, seconds=30)


def test_pausing_twice_or_resuming_a_running_clock_is_a_conflict(speaking: Driver) -> None:
    with pytest.raises(Conflict):
        speaking.decide("timer.resume", room=ROOM)
    speaking.run("timer.pause", room=ROOM)
    with pytest.raises(Conflict):
        speaking.decide("timer.pause", room=ROOM)


def test_extend_adds_seconds_to_the_limit(speaking: Driver) -> None:
    (extended,) = speaking.run("timer.extend", room=ROOM, seconds=60)
    assert extended.data.limit_s == 300 and extended.data.seconds == 60
    speaking.run("timer.extend", room=ROOM, seconds=15)
    assert clock(speaking)["limit_s"] == 315


def test_extend_bounds_are_validated(speaking: Driver) -> None:
    for seconds in (0, 3601):
        with pytest.raises(Invalid):
            speaking.decide("timer.extend", room=ROOM, seconds=seconds)


def test_a_speech_is_never_extended_past_24_hours(speaking: Driver) -> None:
    # Each extension is bounded; their sum must be too, or a repeated one grows
    # the limit (and every screen's countdown) without end.
    for _ in range(23):
        speaking.run("timer.extend", room=ROOM, seconds=3600)
    assert clock(speaking)["limit_s"] == 240 + 23 * 3600
    with pytest.raises(Conflict) as refused:
        speaking.decide("timer.extend", room=ROOM, seconds=3600)
    assert refused.value.field == "seconds"
    assert clock(speaking)["limit_s"] == 240 + 23 * 3600
    speaking.run("timer.extend", room=ROOM, seconds=24 * 3600 - 240 - 23 * 3600)
    assert clock(speaking)["limit_s"] == 24 * 3600


def test_overrun_is_negative_remaining_time_never_clamped(speaking: Driver) -> None:
    speaking.tick(300)
    current = clock(speaking)
    assert current["elapsed_s"] == 300
    assert current["limit_s"] - current["elapsed_s"] == -60
    assert speaking.state.rooms[ROOM].current.remaining(speaking.now) == -60


def test_suspending_pauses_the_clock_and_resuming_does_not_restart_it(speaking: Driver) -> None:
    speaking.tick(20)
    (suspended,) = speaking.run("session.suspend", room=ROOM)
    assert suspended.data.clock_paused is True
    speaking.tick(300)
    assert clock(speaking)["paused"] is True and clock(speaking)["elapsed_s"] == 20
    with pytest.raises(Conflict):  # the clock runs only while the sitting is open
        speaking.decide("timer.resume", room=ROOM)
    speaking.run("session.resume", room=ROOM)
    speaking.tick(50)
    assert clock(speaking)["paused"] is True and clock(speaking)["elapsed_s"] == 20
    speaking.run("timer.resume", room=ROOM)
    speaking.tick(5)
    assert clock(speaking)["elapsed_s"] == 25


def test_suspending_with_a_paused_clock_records_that_nothing_was_paused(speaking: Driver) -> None:
    speaking.run("timer.pause", room=ROOM)
    (suspended,) = speaking.run("session.suspend", room=ROOM)
    assert suspended.data.clock_paused is False


def test_a_speech_ended_after_pauses_reports_only_speaking_time(speaking: Driver) -> None:
    speaking.tick(10)
    speaking.run("timer.pause", room=ROOM)
    speaking.tick(100)
    speaking.run("timer.resume", room=ROOM)
    speaking.tick(5)
    (ended,) = speaking.run("speaker.stop", room=ROOM)
    assert ended.data.elapsed_s == 15
