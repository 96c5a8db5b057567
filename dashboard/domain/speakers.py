"""The list of speakers: decide and apply for speaker.* (the speaking clock, timer.* and
speaker.record_overrun, is in clock.py; the list as a whole, list.* and item.start, in
lists.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from .commands import (
    CHAIR_OF_ROOM,
    N_,
    Id,
    RoomCommand,
    SpeakerName,
    StreamId,
    command,
)
from .errors import Conflict, NotFound, TooMany
from .events import (
    Event,
    SpeakerAdded,
    SpeakerFloorGiven,
    SpeakerMoved,
    SpeakerRemoved,
    SpeakerUndone,
    SpeechEnded,
    SpeechRestored,
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
    Tally,
    Undoable,
)

# Languages a statement may be given in (the Americas' four).
Language = Literal["es", "en", "pt", "fr"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


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


def next_sitting(state: MeetingState, room_id: str) -> SessionState | None:
    """The room's next scheduled sitting (earliest scheduled start), if any."""
    programme = state.programme
    waiting = [
        s for s in state.sessions.values()
        if s.room == room_id and s.status is SessionStatus.SCHEDULED
        and s.id in programme.sessions_by_id
    ]
    waiting.sort(key=lambda s: (programme.session_instants[s.id][0], s.id))
    return waiting[0] if waiting else None


def list_sitting(state: MeetingState, room: RoomState, session_id: str | None) -> SessionState:
    """The sitting whose list a command changes: the one in progress (no `session_id`, or
    its id), or a scheduled sitting of the room (its prepared list)."""
    if session_id is None or session_id == room.session_id:
        return require_sitting(state, room)
    sitting = state.sessions.get(session_id)
    if sitting is None:
        raise NotFound(f"unknown sitting {session_id!r}", field="session_id")
    if sitting.room != room.id:
        raise Conflict(f"sitting {session_id!r} belongs to room {sitting.room!r}, not {room.id!r}",
                       field="session_id")
    if sitting.status is not SessionStatus.SCHEDULED:
        raise Conflict(f"sitting {session_id!r} is {sitting.status}: its list is no longer "
                       "prepared", field="session_id")
    return sitting


def entries_of(room: RoomState, session_id: str) -> list[Entry]:
    """The list of a sitting: the queue while it is in progress, else its prepared list."""
    return room.queue if session_id == room.session_id else room.prepared.get(session_id, [])


def check_inscription(state: MeetingState, room: RoomState, sitting: SessionState,
                      delegation: str, kind: SpeechKind, level: str | None,
                      on_behalf_of: str | None, limits: Limits) -> list[Entry]:
    """Refuse an inscription the rules do not allow; the sitting's list when they do.

    The same for a chair's speaker.add, a delegation's request and its acceptance.
    """
    programme = state.programme
    entries = entries_of(room, sitting.id)
    if len(entries) >= limits.max_queue:
        raise TooMany(f"room {room.id!r} already has {limits.max_queue} requests waiting")
    if delegation not in programme.delegations_by_code:
        raise NotFound(f"unknown delegation {delegation!r}", field="delegation")
    if kind is SpeechKind.SPEECH and room.list_closed and sitting.id == room.session_id:
        raise Conflict("the list of speakers is closed to new speeches", field="kind")
    if level is not None and level not in programme.levels_by_code:
        raise NotFound(f"unknown protocol level {level!r}", field="level")
    if on_behalf_of is not None:
        group = programme.groups_by_code.get(on_behalf_of)
        if group is None:
            raise NotFound(f"unknown group {on_behalf_of!r}", field="on_behalf_of")
        if delegation not in group.members:
            raise Conflict(f"{delegation} is not a member of {on_behalf_of}",
                           field="on_behalf_of")
    for entry in entries:
        if entry.delegation == delegation and entry.kind is kind:
            raise Conflict(
                f"{delegation} is already waiting for a {kind.replace('_', ' ')}",
                field="delegation",
            )
    return entries


def require_sitting(state: MeetingState, room: RoomState) -> SessionState:
    sitting = sitting_in_progress(state, room)
    if sitting is None:
        raise Conflict(f"no sitting in progress in room {room.id!r}")
    return sitting


def _require_open(state: MeetingState, room: RoomState) -> SessionState:
    sitting = require_sitting(state, room)
    if sitting.status is not SessionStatus.OPEN:
        raise Conflict(f"the floor can be given only while the sitting is open ({sitting.status})")
    return sitting


def require_current(room: RoomState) -> Speech:
    """The speech with the floor; Conflict when nobody has it."""
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
        level=speech.level,
        language=speech.language,
        on_behalf_of=speech.on_behalf_of,
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
        level=entry.level,
        language=entry.language,
        on_behalf_of=entry.on_behalf_of,
        item_id=room.item_id,
        speaker_title=entry.speaker_title,
    )
    return Event.of(data, room.id, now)


def waiting_of(entry: Entry) -> Waiting:
    """An entry as events record it (dropped at a close, put back by an undo)."""
    return Waiting(entry.entry_id, entry.delegation, entry.speaker_name, str(entry.kind),
                   entry.requested_at, entry.level, entry.language, entry.on_behalf_of,
                   entry.speaker_title)


def entry_of(waiting: Waiting) -> Entry:
    """The entry an event recorded."""
    return Entry(waiting.entry_id, waiting.delegation, waiting.speaker_name,
                 SpeechKind(waiting.kind), waiting.requested_at, waiting.level,
                 waiting.language, waiting.on_behalf_of, waiting.speaker_title)


# --- decide -----------------------------------------------------------------------------------


class SpeakerAdd(RoomCommand):
    """Put a delegation on the list of speakers."""

    type: Literal["speaker.add"]
    delegation: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    speaker_name: SpeakerName | None = None
    # The speaker's title ("Minister of Foreign Affairs"), bounded as the name.
    speaker_title: SpeakerName | None = None
    kind: Literal["speech", "point_of_order", "reply"] = "speech"
    session_id: Id | None = None
    level: Code | None = None
    language: Language | None = None
    on_behalf_of: Code | None = None

    @field_validator("speaker_name", "speaker_title")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


def inscription(state: MeetingState, room: RoomState, sitting: SessionState,
                entries: list[Entry], *, delegation: str, kind: SpeechKind,
                speaker_name: str | None, level: str | None, language: str | None,
                on_behalf_of: str | None, request_id: str | None = None,
                inscribed_at: float | None = None,
                speaker_title: str | None = None) -> SpeakerAdded:
    """The speaker.added of a checked inscription (placed by the ordering rules)."""
    return SpeakerAdded(
        entry_id=f"sp{state.entry_seq + 1}",
        delegation=delegation,
        speaker_name=speaker_name,
        kind=str(kind),
        position=insert_position(entries, kind),
        # None: the sitting in progress (as events written before prepared lists say).
        session_id=None if sitting.id == room.session_id else sitting.id,
        level=level,
        language=language,
        on_behalf_of=on_behalf_of,
        request_id=request_id,
        inscribed_at=inscribed_at,
        speaker_title=speaker_title,
    )


@command(SpeakerAdd, may=CHAIR_OF_ROOM, name=N_("Add a speaker"))
def decide_add(state: MeetingState, room: RoomState, cmd: SpeakerAdd, now: float,
               limits: Limits) -> list[Event]:
    """speaker.add → speaker.added (position chosen by the ordering rules); with
    `session_id` of a scheduled sitting, on the list prepared for it."""
    limits.check_length("speaker_name", cmd.speaker_name, limits.max_name)
    limits.check_length("speaker_title", cmd.speaker_title, limits.max_name)
    sitting = list_sitting(state, room, cmd.session_id)
    kind = SpeechKind(cmd.kind)
    entries = check_inscription(state, room, sitting, cmd.delegation, kind, cmd.level,
                                cmd.on_behalf_of, limits)
    data = inscription(state, room, sitting, entries, delegation=cmd.delegation, kind=kind,
                       speaker_name=cmd.speaker_name, level=cmd.level, language=cmd.language,
                       on_behalf_of=cmd.on_behalf_of, speaker_title=cmd.speaker_title)
    return [Event.of(data, room.id, now)]


class SpeakerRemove(RoomCommand):
    """Take a waiting entry off the list."""

    type: Literal["speaker.remove"]
    entry_id: Id


def find_any(room: RoomState, entry_id: str) -> tuple[list[Entry], int]:
    """A waiting entry in the queue or a prepared list: (its list, its index)."""
    for entries in (room.queue, *room.prepared.values()):
        for index, entry in enumerate(entries):
            if entry.entry_id == entry_id:
                return entries, index
    _find(room, entry_id)  # says it has the floor, or that there is no such entry
    raise NotFound(f"no entry {entry_id!r} waiting in this room", field="entry_id")


def removal(room: RoomState, entry_id: str, now: float) -> Event:
    """The speaker.removed of a waiting entry (of the queue or a prepared list)."""
    entries, index = find_any(room, entry_id)
    entry = entries[index]
    return Event.of(SpeakerRemoved(entry.entry_id, entry.delegation, str(entry.kind), index),
                    room.id, now)


@command(SpeakerRemove, may=CHAIR_OF_ROOM, name=N_("Remove a speaker"))
def decide_remove(
    state: MeetingState, room: RoomState, cmd: SpeakerRemove, now: float
) -> list[Event]:
    """speaker.remove → speaker.removed."""
    return [removal(room, cmd.entry_id, now)]


class SpeakerMove(RoomCommand):
    """Move a waiting entry to a 0-based position in the queue."""

    type: Literal["speaker.move"]
    entry_id: Id
    position: Annotated[int, Field(ge=0, le=10_000)]


@command(SpeakerMove, may=CHAIR_OF_ROOM, name=N_("Move a speaker in the list"))
def decide_move(state: MeetingState, room: RoomState, cmd: SpeakerMove, now: float) -> list[Event]:
    """speaker.move → speaker.moved (position is a 0-based index in the entry's list)."""
    entries, index = find_any(room, cmd.entry_id)
    if cmd.position >= len(entries):
        raise Conflict(
            f"position {cmd.position} is past the end of the queue ({len(entries)} waiting)",
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
    require_current(room)
    return [speech_ended(room, room.session_id, now, "stop")]


class SpeakerUndo(RoomCommand):
    """Take back the room's newest change to its list of speakers (at most 120 s old)."""

    type: Literal["speaker.undo"]
    # Required: an undo acts on the change its sender saw, never on a newer one.
    expected_version: StreamId


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
        requeued=None if entry is None else waiting_of(entry),
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
            level=speech.level,
            language=speech.language,
            on_behalf_of=speech.on_behalf_of,
            speaker_title=speech.speaker_title,
        ),
        floor_changed=undo.floor_changed,
        order=undo.order,
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
        requested_at=data.inscribed_at if data.inscribed_at is not None else at,
        level=data.level,
        language=data.language,
        on_behalf_of=data.on_behalf_of,
        speaker_title=data.speaker_title,
    )
    if data.session_id is not None and data.session_id != room.session_id:
        # A prepared list; the undo keeps to the list of the sitting in progress.
        prepared = room.prepared.setdefault(data.session_id, [])
        prepared.insert(min(data.position, len(prepared)), entry)
        return
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
        return
    for session_id, entries in room.prepared.items():
        room.prepared[session_id] = [e for e in entries if e.entry_id != data.entry_id]


@applies(SpeakerMoved)
def apply_moved(state: MeetingState, room: RoomState, data: SpeakerMoved, at: float) -> None:
    """Move the entry to its new index (its old one remembered for an undo)."""
    index = _index(room, data.entry_id)
    if index is not None:
        delegation = room.queue[index].delegation
        room.undo = Undoable("speaker.move", at, data.entry_id, delegation, index)
        _move(room, data.entry_id, data.position)
        return
    for entries in room.prepared.values():
        for i, entry in enumerate(entries):
            if entry.entry_id == data.entry_id:
                entries.insert(min(data.position, len(entries) - 1), entries.pop(i))
                return


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
        level=data.level,
        language=data.language,
        on_behalf_of=data.on_behalf_of,
        speaker_title=data.speaker_title,
    )


def _tally(room: RoomState, delegation: str, speeches: int, seconds: float) -> None:
    tally = room.totals.setdefault(delegation, Tally())
    tally.speeches = max(0, tally.speeches + speeches)
    tally.spoken_s = max(0.0, tally.spoken_s + seconds)


def reorder(entries: list[Entry], order: list[str]) -> list[Entry]:
    """The entries in `order` (by id); any it does not name keep their order, after it."""
    by_id = {e.entry_id: e for e in entries}
    named = [by_id.pop(i) for i in order if i in by_id]
    return named + [e for e in entries if e.entry_id in by_id]


@applies(SpeechEnded)
def apply_speech_ended(state: MeetingState, room: RoomState, data: SpeechEnded, at: float) -> None:
    """Nobody has the floor any more (the speech, its clock stopped, kept for an undo)."""
    speech = room.current
    if data.session_id is not None and data.session_id == room.session_id:
        _tally(room, data.delegation, 1, data.elapsed_s)
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


@applies(SpeakerUndone)
def apply_undone(state: MeetingState, room: RoomState, data: SpeakerUndone, at: float) -> None:
    """Put the list and the floor back as they were before the undone change; nothing is
    left to undo."""
    if data.undone == "speaker.add":
        _drop(room, data.entry_id)
    elif data.undone == "speaker.move" and data.position is not None:
        _move(room, data.entry_id, data.position)
    elif data.undone == "list.order" and data.order is not None:
        room.queue = reorder(room.queue, data.order)
    waiting = data.requeued
    if waiting is not None:
        _drop(room, waiting.entry_id)
        entry = entry_of(waiting)
        position = data.position if data.position is not None else len(room.queue)
        room.queue.insert(min(position, len(room.queue)), entry)
    if data.floor_changed:
        floor = data.floor
        if floor is not None:  # its speech ended and was counted: it goes on, uncounted
            _tally(room, floor.delegation, -1, -floor.elapsed_s)
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
            level=floor.level,
            language=floor.language,
            on_behalf_of=floor.on_behalf_of,
            speaker_title=floor.speaker_title,
        )
    room.undo = None
