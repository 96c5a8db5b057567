"""The speaking clock: decide and apply for timer.* and speaker.record_overrun."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .commands import CHAIR_OF_ROOM, N_, SYSTEM, Id, RoomCommand, command
from .errors import Conflict
from .events import Event, SpeakerOverran, TimerExtended, TimerPaused, TimerResumed, applies
from .speakers import require_current, sitting_in_progress
from .state import MeetingState, RoomState, SessionStatus

# --- decide -----------------------------------------------------------------------------------


class SpeakerRecordOverrun(RoomCommand):
    """Scheduler: record that the current speech went over its limit (once per speech)."""

    type: Literal["speaker.record_overrun"]
    entry_id: Id


@command(SpeakerRecordOverrun, may=SYSTEM, name=N_("Record an overrun"))
def decide_record_overrun(
    state: MeetingState, room: RoomState, cmd: SpeakerRecordOverrun, now: float
) -> list[Event]:
    """speaker.record_overrun → speaker.overran (once per speech, only while overrunning)."""
    speech = require_current(room)
    if speech.entry_id != cmd.entry_id:
        raise Conflict(f"entry {cmd.entry_id!r} does not have the floor", field="entry_id")
    if speech.overrun_recorded:
        raise Conflict("the overrun of this speech is already recorded", field="entry_id")
    elapsed = speech.elapsed(now)
    if elapsed <= speech.limit_s:
        raise Conflict("the speech is within its limit", field="entry_id")
    data = SpeakerOverran(
        entry_id=speech.entry_id,
        delegation=speech.delegation,
        kind=str(speech.kind),
        limit_s=speech.limit_s,
        elapsed_s=elapsed,
        overrun_s=elapsed - speech.limit_s,
    )
    return [Event.of(data, room.id, now)]


class TimerPause(RoomCommand):
    """Stop the speaking clock."""

    type: Literal["timer.pause"]


@command(TimerPause, may=CHAIR_OF_ROOM, name=N_("Pause clock"))
def decide_pause(state: MeetingState, room: RoomState, cmd: TimerPause, now: float) -> list[Event]:
    """timer.pause → timer.paused."""
    speech = require_current(room)
    if speech.paused:
        raise Conflict("the clock is already paused")
    return [Event.of(TimerPaused(speech.entry_id, speech.elapsed(now)), room.id, now)]


class TimerResume(RoomCommand):
    """Restart the speaking clock."""

    type: Literal["timer.resume"]


@command(TimerResume, may=CHAIR_OF_ROOM, name=N_("Resume clock"))
def decide_resume(
    state: MeetingState, room: RoomState, cmd: TimerResume, now: float
) -> list[Event]:
    """timer.resume → timer.resumed (only while the sitting is open)."""
    speech = require_current(room)
    if not speech.paused:
        raise Conflict("the clock is already running")
    sitting = sitting_in_progress(state, room)
    if sitting is None or sitting.status is not SessionStatus.OPEN:
        raise Conflict("the clock can run only while the sitting is open")
    return [Event.of(TimerResumed(speech.entry_id, speech.elapsed(now)), room.id, now)]


# The longest limit a speech may reach with its extensions: each is bounded, and so
# must their sum be (the countdown every screen shows).
MAX_SPEECH_S = 24 * 3600


class TimerExtend(RoomCommand):
    """Give the current speaker more seconds."""

    type: Literal["timer.extend"]
    seconds: Annotated[int, Field(ge=1, le=3600)]


@command(TimerExtend, may=CHAIR_OF_ROOM, name=N_("Extend the time"))
def decide_extend(
    state: MeetingState, room: RoomState, cmd: TimerExtend, now: float
) -> list[Event]:
    """timer.extend → timer.extended (data holds the new limit)."""
    speech = require_current(room)
    if speech.limit_s + cmd.seconds > MAX_SPEECH_S:
        raise Conflict(f"a speech's limit is at most {MAX_SPEECH_S // 3600} hours "
                       f"(it is {speech.limit_s} s)", field="seconds")
    data = TimerExtended(speech.entry_id, cmd.seconds, speech.limit_s + cmd.seconds)
    return [Event.of(data, room.id, now)]


# --- apply ------------------------------------------------------------------------------------


def pause_clock(room: RoomState, at: float) -> None:
    """Stop the current clock at `at`, keeping the seconds already spoken."""
    speech = room.current
    if speech is not None and speech.running_since is not None:
        speech.accumulated_s = speech.elapsed(at)
        speech.running_since = None


@applies(TimerPaused)
def apply_paused(state: MeetingState, room: RoomState, data: TimerPaused, at: float) -> None:
    """Stop the clock."""
    pause_clock(room, at)


@applies(TimerResumed)
def apply_resumed(state: MeetingState, room: RoomState, data: TimerResumed, at: float) -> None:
    """Restart the clock from the event's instant."""
    if room.current is not None and room.current.running_since is None:
        room.current.running_since = at


@applies(TimerExtended)
def apply_extended(state: MeetingState, room: RoomState, data: TimerExtended, at: float) -> None:
    """Set the new limit."""
    if room.current is not None:
        room.current.limit_s = data.limit_s


@applies(SpeakerOverran)
def apply_overran(state: MeetingState, room: RoomState, data: SpeakerOverran, at: float) -> None:
    """Remember the overrun was recorded."""
    if room.current is not None and room.current.entry_id == data.entry_id:
        room.current.overrun_recorded = True
