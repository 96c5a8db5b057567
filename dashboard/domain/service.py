"""The domain's entry points: decide (command → events), apply (event → state), touched_rooms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import announcements, sessions, speakers
from .commands import AnnouncementCommand, BaseCommand, Command, RoomCommand, parse_command
from .errors import NotFound, Stale
from .events import Event, EventType
from .state import MeetingState, RoomState

__all__ = ["apply", "decide", "touched_rooms"]

RoomDecider = Callable[[MeetingState, RoomState, Any, float], list[Event]]
MeetingDecider = Callable[[MeetingState, Any, float], list[Event]]
RoomApplier = Callable[[MeetingState, RoomState, Event], None]
MeetingApplier = Callable[[MeetingState, Event], None]

ROOM_DECIDERS: dict[str, RoomDecider] = {
    "session.open": sessions.decide_open,
    "session.suspend": sessions.decide_suspend,
    "session.resume": sessions.decide_resume,
    "session.close": sessions.decide_close,
    "session.signal_start_due": sessions.decide_signal_start_due,
    "speaker.add": speakers.decide_add,
    "speaker.remove": speakers.decide_remove,
    "speaker.move": speakers.decide_move,
    "speaker.next": speakers.decide_next,
    "speaker.start": speakers.decide_start,
    "speaker.stop": speakers.decide_stop,
    "speaker.record_overrun": speakers.decide_record_overrun,
    "timer.pause": speakers.decide_pause,
    "timer.resume": speakers.decide_resume,
    "timer.extend": speakers.decide_extend,
    "list.close": speakers.decide_list_close,
    "list.reopen": speakers.decide_list_reopen,
}

MEETING_DECIDERS: dict[str, MeetingDecider] = {
    "announcement.post": announcements.decide_post,
    "announcement.retract": announcements.decide_retract,
    "announcement.expire": announcements.decide_expire,
}

ROOM_APPLIERS: dict[str, RoomApplier] = {
    EventType.SESSION_OPENED: sessions.apply_opened,
    EventType.SESSION_SUSPENDED: sessions.apply_suspended,
    EventType.SESSION_RESUMED: sessions.apply_resumed,
    EventType.SESSION_CLOSED: sessions.apply_closed,
    EventType.SESSION_START_DUE: sessions.apply_start_due,
    EventType.SPEAKER_ADDED: speakers.apply_added,
    EventType.SPEAKER_REMOVED: speakers.apply_removed,
    EventType.SPEAKER_MOVED: speakers.apply_moved,
    EventType.SPEAKER_FLOOR_GIVEN: speakers.apply_floor_given,
    EventType.SPEAKER_SPEECH_ENDED: speakers.apply_speech_ended,
    EventType.SPEAKER_OVERRAN: speakers.apply_overran,
    EventType.TIMER_PAUSED: speakers.apply_paused,
    EventType.TIMER_RESUMED: speakers.apply_resumed,
    EventType.TIMER_EXTENDED: speakers.apply_extended,
    EventType.LIST_CLOSED: speakers.apply_list_closed,
    EventType.LIST_REOPENED: speakers.apply_list_reopened,
}

MEETING_APPLIERS: dict[str, MeetingApplier] = {
    EventType.ANNOUNCEMENT_POSTED: announcements.apply_posted,
    EventType.ANNOUNCEMENT_RETRACTED: announcements.apply_retracted,
    EventType.ANNOUNCEMENT_EXPIRED: announcements.apply_expired,
}


def _room(state: MeetingState, room_id: str) -> RoomState:
    room = state.rooms.get(room_id)
    if room is None:
        raise NotFound(f"unknown room {room_id!r}", field="room")
    return room


def _check_version(room: RoomState, expected: str | None) -> None:
    if expected is not None and expected != room.version:
        raise Stale(f"room {room.id!r} is at version {room.version}, not {expected}")


def decide(state: MeetingState, command: Command | dict[str, Any], now: float) -> list[Event]:
    """Turn a command into events (at=now, id=None) or raise a DomainError; never mutates state."""
    cmd: BaseCommand = parse_command(command) if isinstance(command, dict) else command
    if isinstance(cmd, RoomCommand):
        room = _room(state, cmd.room)
        _check_version(room, cmd.expected_version)
        return ROOM_DECIDERS[cmd.type](state, room, cmd, now)
    if isinstance(cmd, AnnouncementCommand) and cmd.room is not None:
        _check_version(_room(state, cmd.room), cmd.expected_version)
    return MEETING_DECIDERS[cmd.type](state, cmd, now)


def touched_rooms(state: MeetingState, event: Event) -> list[str]:
    """Room ids whose state the event changes (read from the event, so valid before and after)."""
    if event.type in MEETING_APPLIERS:
        rooms = event.data.get("rooms") or []
        return [r for r in rooms if r in state.rooms]
    return [event.room] if event.room in state.rooms else []


def apply(state: MeetingState, event: Event) -> MeetingState:
    """Fold one event into the state (deterministic: event.at and event.data only)."""
    room_applier = ROOM_APPLIERS.get(event.type)
    if room_applier is not None:
        room = state.rooms.get(event.room or "")
        if room is not None:
            room_applier(state, room, event)
    meeting_applier = MEETING_APPLIERS.get(event.type)
    if meeting_applier is not None:
        meeting_applier(state, event)
    if event.id is not None:
        state.version = event.id
        for room_id in touched_rooms(state, event):
            state.rooms[room_id].version = event.id
    return state
