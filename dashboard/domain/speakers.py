"""The list of speakers and the speaking clock: decide and apply for speaker.*, timer.*, list.*."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from .commands import (
    CHAIR_OF_ROOM,
    N_,
    SYSTEM,
    Id,
    RoomCommand,
    SpeakerName,
    command,
)
from .errors import Conflict, NotFound, TooMany
from .events import (
    Event,
    ListClosed,
    ListReopened,
    SpeakerAdded,
    SpeakerFloorGiven,
    SpeakerMoved,
    SpeakerOverran,
    SpeakerRemoved,
    SpeakerUndone,
    SpeechEnded,
    SpeechRestored,
    TimerExtended,
    TimerPaused,
    TimerResumed,
    Waiting,
    applies,
)
from .limits import Limits
from .state import (
    UNDO_WINDOW_S,
    Entry,
    MeetingState,
    RoomState,
    SessionState,
    SessionStatus,
    Speech,
    SpeechKind,
    Undoable,
)


def insert_position(queue: list[Entry], kind: SpeechKind) -> int:
    """Where a new request goes: points of order after the leading ones, replies last, speeches
    before the trailing replies."""
    if kind is SpeechKind.POINT_OF_ORDER:
        position = 0
        while position < len(queue) and queue[position].kind is SpeechKind.POINT_OF_ORDER:
            position += 1
        return position
    if kind is SpeechKind.REPLY:
        return len(queue)
    position = len(queue)
    while position > 0 and queue[position - 1].kind is SpeechKind.REPLY:
        position -= 1
    return position


def sitting_in_progress(state: MeetingState, room: RoomState) -> SessionState | None:
    """The room's open or suspended sitting, if any."""
    return state.sessions.get(room.session_id) if room.session_id else None


def _require_sitting(state: MeetingState, room: RoomState) -> SessionState:
    sitting = sitting_in_progress(state, room)
    if sitting is None:
        raise Conflict(f"no sitting in progress in room {room.id!r}")
    return sitting


def _require_open(state: MeetingState, room: RoomState) -> SessionState:
    sitting = _require_sitting(state, room)
    if sitting.status is not SessionStatus.OPEN:
        raise Conflict(f"the floor can be given only while the sitting is open ({sitting.status})")
    return sitting


def _require_current(room: RoomState) -> Speech:
    if room.current is None:
        raise Conflict("nobody has the floor")
    return room.current


def _find(room: RoomState, entry_id: str) -> int:
    for index, entry in enumerate(room.queue):
        if entry.entry_id == entry_id:
            return index
    if room.current is not None and room.current.entry_id == entry_id:
        raise Conflict(f"entry {entry_id!r} has the floor", field="entry_id")
    raise NotFound(f"no entry {entry_id!r} waiting in this room", field="entry_id")


def speech_ended(room: RoomState, session_id: str | None, now: float, reason: str) -> Event:
    """The speech_ended event for the room's current speech (the record the minutes keep)."""
    speech = room.current
    assert speech is not None
    elapsed = speech.elapsed(now)
    data = SpeechEnded(
        entry_id=speech.entry_id,
        delegation=speech.delegation,
        speaker_name=speech.speaker_name,
        kind=str(speech.kind),
        session_id=session_id,
        started_at=speech.started_at,
        limit_s=speech.limit_s,
        elapsed_s=elapsed,
        overran=elapsed > speech.limit_s,
        reason=reason,
    )
    return Event.of(data, room.id, now)


def _floor_given(
    state: MeetingState, room: RoomState, sitting: SessionState, index: int, now: float
) -> Event:
    entry = room.queue[index]
    session_kind = state.programme.sessions_by_id[sitting.id].kind
    data = SpeakerFloorGiven(
        entry_id=entry.entry_id,
        delegation=entry.delegation,
        speaker_name=entry.speaker_name,
        kind=str(entry.kind),
        session_id=sitting.id,
        limit_s=state.programme.limit_for(session_kind, entry.kind),
        requested_at=entry.requested_at,
        out_of_turn=index != 0,
    )
    return Event.of(data, room.id, now)


# --- decide -----------------------------------------------------------------------------------


class SpeakerAdd(RoomCommand):
    """Put a delegation on the list of speakers."""

    type: Literal["speaker.add"]
    delegation: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    speaker_name: SpeakerName | None = None
    kind: Literal["speech", "point_of_order", "reply"] = "speech"

    @field_validator("speaker_name")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


@command(SpeakerAdd, may=CHAIR_OF_ROOM, name=N_("Add a speaker"))
def decide_add(state: MeetingState, room: RoomState, cmd: SpeakerAdd, now: float,
               limits: Limits) -> list[Event]:
    """speaker.add → speaker.added (position chosen by the ordering rules)."""
    _require_sitting(state, room)
    if len(room.queue) >= limits.max_queue:
        raise TooMany(f"room {room.id!r} already has {limits.max_queue} requests waiting")
    if cmd.delegation not in state.programme.delegations_by_code:
        raise NotFound(f"unknown delegation {cmd.delegation!r}", field="delegation")
    kind = SpeechKind(cmd.kind)
    if kind is SpeechKind.SPEECH and room.list_closed:
        raise Conflict("the list of speakers is closed to new speeches", field="kind")
    for entry in room.queue:
        if entry.delegation == cmd.delegation and entry.kind is kind:
            raise Conflict(
                f"{cmd.delegation} is already waiting for a {kind.replace('_', ' ')}",
                field="delegation",
            )
    entry_id = f"sp{state.entry_seq + 1}"
    data = SpeakerAdded(
        entry_id=entry_id,
        delegation=cmd.delegation,
        speaker_name=cmd.speaker_name,
        kind=str(kind),
        position=insert_position(room.queue, kind),
    )
    return [Event.of(data, room.id, now)]


class SpeakerRemove(RoomCommand):
    """Take a waiting entry off the list."""

    type: Literal["speaker.remove"]
    entry_id: Id


@command(SpeakerRemove, may=CHAIR_OF_ROOM, name=N_("Remove a speaker"))
def decide_remove(
    state: MeetingState, room: RoomState, cmd: SpeakerRemove, now: float
) -> list[Event]:
    """speaker.remove → speaker.removed."""
    index = _find(room, cmd.entry_id)
    entry = room.queue[index]
    data = SpeakerRemoved(entry.entry_id, entry.delegation, str(entry.kind), index)
    return [Event.of(data, room.id, now)]


class SpeakerMove(RoomCommand):
    """Move a waiting entry to a 0-based position in the queue."""

    type: Literal["speaker.move"]
    entry_id: Id
    position: Annotated[int, Field(ge=0, le=10_000)]


@command(SpeakerMove, may=CHAIR_OF_ROOM, name=N_("Move a speaker in the list"))
def decide_move(state: MeetingState, room: RoomState, cmd: SpeakerMove, now: float) -> list[Event]:
    """speaker.move → speaker.moved (position is a 0-based index in the queue)."""
    index = _find(room, cmd.entry_id)
    if cmd.position >= len(room.queue):
        raise Conflict(
            f"position {cmd.position} is past the end of the queue ({len(room.queue)} waiting)",
            field="position",
        )
    data = SpeakerMoved(cmd.entry_id, from_position=index, position=cmd.position)
    return [Event.of(data, room.id, now)]


class SpeakerNext(RoomCommand):
    """End the current speech (if any) and give the floor to the head of the queue."""

    type: Literal["speaker.next"]


@command(SpeakerNext, may=CHAIR_OF_ROOM, name=N_("Next speaker"))
def decide_next(state: MeetingState, room: RoomState, cmd: SpeakerNext, now: float) -> list[Event]:
    """speaker.next → speech_ended (if someone speaks) + floor_given (if someone waits)."""
    sitting = _require_open(state, room)
    if room.current is None and not room.queue:
        raise Conflict("nobody is waiting and nobody has the floor")
    events = []
    if room.current is not None:
        events.append(speech_ended(room, sitting.id, now, "next"))
    if room.queue:
        events.append(_floor_given(state, room, sitting, 0, now))
    return events


class SpeakerStart(RoomCommand):
    """Give the floor to a waiting entry out of turn."""

    type: Literal["speaker.start"]
    entry_id: Id


@command(SpeakerStart, may=CHAIR_OF_ROOM, name=N_("Give the floor"))
def decide_start(
    state: MeetingState, room: RoomState, cmd: SpeakerStart, now: float
) -> list[Event]:
    """speaker.start → (speech_ended) + floor_given to a chosen entry, out of turn."""
    sitting = _require_open(state, room)
    index = _find(room, cmd.entry_id)
    events = []
    if room.current is not None:
        events.append(speech_ended(room, sitting.id, now, "start"))
    events.append(_floor_given(state, room, sitting, index, now))
    return events


class SpeakerStop(RoomCommand):
    """End the current speech."""

    type: Literal["speaker.stop"]


@command(SpeakerStop, may=CHAIR_OF_ROOM, name=N_("End the speech"))
def decide_stop(state: MeetingState, room: RoomState, cmd: SpeakerStop, now: float) -> list[Event]:
    """speaker.stop → speech_ended."""
    _require_current(room)
    return [speech_ended(room, room.session_id, now, "stop")]


class SpeakerRecordOverrun(RoomCommand):
    """Scheduler: record that the current speech went over its limit (once per speech)."""

    type: Literal["speaker.record_overrun"]
    entry_id: Id


@command(SpeakerRecordOverrun, may=SYSTEM, name=N_("Record an overrun"))
def decide_record_overrun(
    state: MeetingState, room: RoomState, cmd: SpeakerRecordOverrun, now: float
) -> list[Event]:
    """speaker.record_overrun → speaker.overran (once per speech, only while overrunning)."""
    speech = _require_current(room)
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
    speech = _require_current(room)
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
    speech = _require_current(room)
    if not speech.paused:
        raise Conflict("the clock is already running")
    sitting = sitting_in_progress(state, room)
    if sitting is None or sitting.status is not SessionStatus.OPEN:
        raise Conflict("the clock can run only while the sitting is open")
    return [Event.of(TimerResumed(speech.entry_id, speech.elapsed(now)), room.id, now)]


class TimerExtend(RoomCommand):
    """Give the current speaker more seconds."""

    type: Literal["timer.extend"]
    seconds: Annotated[int, Field(ge=1, le=3600)]


@command(TimerExtend, may=CHAIR_OF_ROOM, name=N_("Extend the time"))
def decide_extend(
    state: MeetingState, room: RoomState, cmd: TimerExtend, now: float
) -> list[Event]:
    """timer.extend → timer.extended (data holds the new limit)."""
    speech = _require_current(room)
    data = TimerExtended(speech.entry_id, cmd.seconds, speech.limit_s + cmd.seconds)
    return [Event.of(data, room.id, now)]


class ListClose(RoomCommand):
    """Close the list: no new speeches (points of order and replies still taken)."""

    type: Literal["list.close"]


@command(ListClose, may=CHAIR_OF_ROOM, name=N_("Close list"))
def decide_list_close(
    state: MeetingState, room: RoomState, cmd: ListClose, now: float
) -> list[Event]:
    """list.close → list.closed."""
    _require_sitting(state, room)
    if room.list_closed:
        raise Conflict("the list is already closed")
    return [Event.of(ListClosed(room.session_id), room.id, now)]


class ListReopen(RoomCommand):
    """Reopen a closed list."""

    type: Literal["list.reopen"]


@command(ListReopen, may=CHAIR_OF_ROOM, name=N_("Reopen list"))
def decide_list_reopen(
    state: MeetingState, room: RoomState, cmd: ListReopen, now: float
) -> list[Event]:
    """list.reopen → list.reopened."""
    _require_sitting(state, room)
    if not room.list_closed:
        raise Conflict("the list is not closed")
    return [Event.of(ListReopened(room.session_id), room.id, now)]


class SpeakerUndo(RoomCommand):
    """Take back the room's newest change to its list of speakers (at most 120 s old)."""

    type: Literal["speaker.undo"]
    # Required: an undo acts on the change its sender saw, never on a newer one.
    expected_version: Annotated[str, StringConstraints(pattern=r"^\d+-\d+$")]


@command(SpeakerUndo, may=CHAIR_OF_ROOM, name=N_("Undo the last change to the list"))
def decide_undo(state: MeetingState, room: RoomState, cmd: SpeakerUndo, now: float) -> list[Event]:
    """speaker.undo → speaker.undone (the newest list change, once, within UNDO_WINDOW_S)."""
    undo = room.undo
    if undo is None:
        raise Conflict(
            "nothing to undo: the list of speakers has not changed since the last undo "
            "or since the sitting opened, was suspended or closed"
        )
    age = now - undo.at
    if age > UNDO_WINDOW_S:
        raise Conflict(
            f"too old to undo: the last change to the list ({undo.action}) was made "
            f"{age:.0f} s ago; only changes of the last {UNDO_WINDOW_S} s can be undone"
        )
    entry, speech = undo.entry, undo.speech
    data = SpeakerUndone(
        undone=undo.action,
        undone_at=undo.at,
        entry_id=undo.entry_id,
        delegation=undo.delegation,
        position=undo.position,
        requeued=None if entry is None else Waiting(
            entry.entry_id, entry.delegation, entry.speaker_name, str(entry.kind),
            entry.requested_at,
        ),
        floor=None if speech is None else SpeechRestored(
            entry_id=speech.entry_id,
            delegation=speech.delegation,
            speaker_name=speech.speaker_name,
            kind=str(speech.kind),
            started_at=speech.started_at,
            limit_s=speech.limit_s,
            elapsed_s=speech.accumulated_s,
            running=speech.running_since is not None,
            overrun_recorded=speech.overrun_recorded,
        ),
        floor_changed=undo.floor_changed,
    )
    return [Event.of(data, room.id, now)]


# --- apply ------------------------------------------------------------------------------------


@applies(SpeakerAdded)
def apply_added(state: MeetingState, room: RoomState, data: SpeakerAdded, at: float) -> None:
    """Insert the entry where decide placed it."""
    state.entry_seq += 1
    entry = Entry(
        entry_id=data.entry_id,
        delegation=data.delegation,
        speaker_name=data.speaker_name,
        kind=SpeechKind(data.kind),
        requested_at=at,
    )
    room.queue.insert(min(data.position, len(room.queue)), entry)
    room.undo = Undoable("speaker.add", at, data.entry_id, data.delegation, data.position)


def _drop(room: RoomState, entry_id: str) -> None:
    room.queue = [e for e in room.queue if e.entry_id != entry_id]


def _index(room: RoomState, entry_id: str) -> int | None:
    for index, entry in enumerate(room.queue):
        if entry.entry_id == entry_id:
            return index
    return None


def _move(room: RoomState, entry_id: str, position: int) -> None:
    index = _index(room, entry_id)
    if index is not None:
        entry = room.queue.pop(index)
        room.queue.insert(min(position, len(room.queue)), entry)


@applies(SpeakerRemoved)
def apply_removed(state: MeetingState, room: RoomState, data: SpeakerRemoved, at: float) -> None:
    """Drop the entry from the queue (remembered, with its place, for an undo)."""
    index = _index(room, data.entry_id)
    if index is not None:
        entry = room.queue[index]
        room.undo = Undoable("speaker.remove", at, entry.entry_id, entry.delegation, index, entry)
    _drop(room, data.entry_id)


@applies(SpeakerMoved)
def apply_moved(state: MeetingState, room: RoomState, data: SpeakerMoved, at: float) -> None:
    """Move the entry to its new index (its old one remembered for an undo)."""
    index = _index(room, data.entry_id)
    if index is not None:
        delegation = room.queue[index].delegation
        room.undo = Undoable("speaker.move", at, data.entry_id, delegation, index)
    _move(room, data.entry_id, data.position)


@applies(SpeakerFloorGiven)
def apply_floor_given(
    state: MeetingState, room: RoomState, data: SpeakerFloorGiven, at: float
) -> None:
    """The entry leaves the queue and its clock starts at the event's instant."""
    index = _index(room, data.entry_id)
    # The speech a next or start ended comes just before, at the same instant: one change.
    prior = room.undo
    same_change = (
        prior is not None and prior.at == at and prior.entry is None and prior.floor_changed
        and prior.action in ("speaker.next", "speaker.start")
    )
    if index is not None:
        room.undo = Undoable(
            action=prior.action if same_change and prior is not None
            else ("speaker.start" if data.out_of_turn else "speaker.next"),
            at=at,
            entry_id=data.entry_id,
            delegation=data.delegation,
            position=index,
            entry=room.queue[index],
            speech=prior.speech if same_change and prior is not None else None,
            floor_changed=True,
        )
    _drop(room, data.entry_id)
    room.current = Speech(
        entry_id=data.entry_id,
        delegation=data.delegation,
        speaker_name=data.speaker_name,
        kind=SpeechKind(data.kind),
        started_at=at,
        limit_s=data.limit_s,
        running_since=at,
    )


@applies(SpeechEnded)
def apply_speech_ended(state: MeetingState, room: RoomState, data: SpeechEnded, at: float) -> None:
    """Nobody has the floor any more (the speech, its clock stopped, kept for an undo)."""
    speech = room.current
    if speech is not None and speech.entry_id == data.entry_id:
        if data.reason in ("next", "start", "stop"):
            ended = replace(
                speech,
                accumulated_s=speech.elapsed(at),
                running_since=None if speech.paused else at,
            )
            room.undo = Undoable(
                f"speaker.{data.reason}", at, speech.entry_id, speech.delegation,
                speech=ended, floor_changed=True,
            )
        else:
            room.undo = None
        room.current = None


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


@applies(ListClosed)
def apply_list_closed(state: MeetingState, room: RoomState, data: ListClosed, at: float) -> None:
    """Close the list."""
    room.list_closed = True


@applies(ListReopened)
def apply_list_reopened(
    state: MeetingState, room: RoomState, data: ListReopened, at: float
) -> None:
    """Reopen the list."""
    room.list_closed = False


@applies(SpeakerUndone)
def apply_undone(state: MeetingState, room: RoomState, data: SpeakerUndone, at: float) -> None:
    """Put the list and the floor back as they were before the undone change; nothing is
    left to undo."""
    if data.undone == "speaker.add":
        _drop(room, data.entry_id)
    elif data.undone == "speaker.move" and data.position is not None:
        _move(room, data.entry_id, data.position)
    waiting = data.requeued
    if waiting is not None:
        _drop(room, waiting.entry_id)
        entry = Entry(
            entry_id=waiting.entry_id,
            delegation=waiting.delegation,
            speaker_name=waiting.speaker_name,
            kind=SpeechKind(waiting.kind),
            requested_at=waiting.requested_at,
        )
        position = data.position if data.position is not None else len(room.queue)
        room.queue.insert(min(position, len(room.queue)), entry)
    if data.floor_changed:
        floor = data.floor
        room.current = None if floor is None else Speech(
            entry_id=floor.entry_id,
            delegation=floor.delegation,
            speaker_name=floor.speaker_name,
            kind=SpeechKind(floor.kind),
            started_at=floor.started_at,
            limit_s=floor.limit_s,
            accumulated_s=floor.elapsed_s,
            running_since=at if floor.running else None,
            overrun_recorded=floor.overrun_recorded,
        )
    room.undo = None
