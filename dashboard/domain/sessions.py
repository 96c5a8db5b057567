"""Sittings: decide and apply for session.* (status moves by SESSION_TRANSITIONS only)."""

from __future__ import annotations

from typing import Literal

from .clock import pause_clock
from .commands import CHAIR_OF_ROOM, N_, SYSTEM, Id, Instant, RoomCommand, command
from .errors import Conflict, Invalid, NotFound
from .events import (
    Event,
    SessionClosed,
    SessionOpened,
    SessionResumed,
    SessionStartDue,
    SessionSuspended,
    applies,
)
from .speakers import speech_ended, waiting_of
from .state import SESSION_TRANSITIONS, MeetingState, RoomState, SessionState, SessionStatus

# A sitting is suspended "until" at most this far ahead (seconds).
MAX_SUSPEND_S = 24 * 3600

# Which statuses each chair command moves a sitting from, and to (a subset of the table).
COMMAND_TRANSITIONS: dict[str, tuple[frozenset[SessionStatus], SessionStatus]] = {
    "session.open": (frozenset({SessionStatus.SCHEDULED}), SessionStatus.OPEN),
    "session.suspend": (frozenset({SessionStatus.OPEN}), SessionStatus.SUSPENDED),
    "session.resume": (frozenset({SessionStatus.SUSPENDED}), SessionStatus.OPEN),
    "session.close": (
        frozenset({SessionStatus.OPEN, SessionStatus.SUSPENDED}),
        SessionStatus.CLOSED,
    ),
}


def can_transition(current: SessionStatus, target: SessionStatus) -> bool:
    """Whether the transition table allows `current → target`."""
    return target in SESSION_TRANSITIONS[current]


def _check_transition(sitting: SessionState, command_type: str) -> None:
    sources, target = COMMAND_TRANSITIONS[command_type]
    if sitting.status not in sources or not can_transition(sitting.status, target):
        raise Conflict(
            f"sitting {sitting.id!r} is {sitting.status}: {command_type} is not allowed",
            field="session_id",
        )


def _owned(state: MeetingState, room: RoomState, session_id: str) -> SessionState:
    sitting = state.sessions.get(session_id)
    if sitting is None:
        raise NotFound(f"unknown sitting {session_id!r}", field="session_id")
    if sitting.room != room.id:
        raise Conflict(
            f"sitting {session_id!r} belongs to room {sitting.room!r}, not {room.id!r}",
            field="session_id",
        )
    return sitting


def _target(state: MeetingState, room: RoomState, session_id: str | None) -> SessionState:
    if session_id is not None:
        return _owned(state, room, session_id)
    if room.session_id is None:
        raise Conflict(f"no sitting in progress in room {room.id!r}")
    return state.sessions[room.session_id]


class SessionOpen(RoomCommand):
    """Open a scheduled sitting of the room."""

    type: Literal["session.open"]
    session_id: Id


@command(SessionOpen, may=CHAIR_OF_ROOM, name=N_("Open the sitting"))
def decide_open(state: MeetingState, room: RoomState, cmd: SessionOpen, now: float) -> list[Event]:
    """session.open → session.opened (one sitting in progress per room)."""
    sitting = _owned(state, room, cmd.session_id)
    _check_transition(sitting, cmd.type)
    if room.session_id is not None:
        raise Conflict(
            f"sitting {room.session_id!r} is still in progress in this room", field="session_id"
        )
    kind = state.programme.sessions_by_id[sitting.id].kind
    return [Event.of(SessionOpened(sitting.id, kind), room.id, now)]


class SessionSuspend(RoomCommand):
    """Suspend the room's open sitting, optionally until an instant."""

    type: Literal["session.suspend"]
    session_id: Id | None = None
    until: Instant | None = None


@command(SessionSuspend, may=CHAIR_OF_ROOM, name=N_("Suspend the sitting"))
def decide_suspend(
    state: MeetingState, room: RoomState, cmd: SessionSuspend, now: float
) -> list[Event]:
    """session.suspend → session.suspended (the speaking clock pauses)."""
    sitting = _target(state, room, cmd.session_id)
    _check_transition(sitting, cmd.type)
    if cmd.until is not None and cmd.until <= now:
        raise Invalid("until: must be in the future", field="until")
    if cmd.until is not None and cmd.until > now + MAX_SUSPEND_S:
        raise Invalid("until: at most 24 hours ahead", field="until")
    clock_paused = room.current is not None and not room.current.paused
    data = SessionSuspended(
        session_id=sitting.id,
        until=cmd.until,
        clock_paused=clock_paused,
        entry_id=room.current.entry_id if room.current else None,
    )
    return [Event.of(data, room.id, now)]


class SessionResume(RoomCommand):
    """Resume the room's suspended sitting (the speaking clock stays paused)."""

    type: Literal["session.resume"]
    session_id: Id | None = None


@command(SessionResume, may=CHAIR_OF_ROOM, name=N_("Resume the sitting"))
def decide_resume(
    state: MeetingState, room: RoomState, cmd: SessionResume, now: float
) -> list[Event]:
    """session.resume → session.resumed (the chair restarts the clock separately)."""
    sitting = _target(state, room, cmd.session_id)
    _check_transition(sitting, cmd.type)
    return [Event.of(SessionResumed(sitting.id), room.id, now)]


class SessionClose(RoomCommand):
    """Close the room's sitting: ends the speech, drops the queue, reopens the list."""

    type: Literal["session.close"]
    session_id: Id | None = None


@command(SessionClose, may=CHAIR_OF_ROOM, name=N_("Close the sitting"))
def decide_close(
    state: MeetingState, room: RoomState, cmd: SessionClose, now: float
) -> list[Event]:
    """session.close → (speech_ended) + session.closed listing the requests left unserved."""
    sitting = _target(state, room, cmd.session_id)
    _check_transition(sitting, cmd.type)
    events = []
    if room.current is not None:
        events.append(speech_ended(room, sitting.id, now, "session_closed"))
    dropped = tuple(waiting_of(e) for e in room.queue)
    data = SessionClosed(
        session_id=sitting.id,
        ended_entry_id=room.current.entry_id if room.current else None,
        dropped=dropped,
        list_was_closed=room.list_closed,
    )
    events.append(Event.of(data, room.id, now))
    return events


class SessionSignalStartDue(RoomCommand):
    """Scheduler: flag that a scheduled sitting should be starting."""

    type: Literal["session.signal_start_due"]
    session_id: Id


@command(SessionSignalStartDue, may=SYSTEM, name=N_("Signal that a sitting is due to start"))
def decide_signal_start_due(
    state: MeetingState, room: RoomState, cmd: SessionSignalStartDue, now: float
) -> list[Event]:
    """session.signal_start_due → session.start_due (once, while the sitting is scheduled)."""
    sitting = _owned(state, room, cmd.session_id)
    if sitting.status is not SessionStatus.SCHEDULED:
        raise Conflict(f"sitting {sitting.id!r} is {sitting.status}", field="session_id")
    if sitting.start_due:
        raise Conflict(f"sitting {sitting.id!r} is already flagged as due", field="session_id")
    return [Event.of(SessionStartDue(sitting.id), room.id, now)]


@applies(SessionOpened)
def apply_opened(state: MeetingState, room: RoomState, data: SessionOpened, at: float) -> None:
    """The sitting opens with an empty, open list."""
    sitting = state.sessions.get(data.session_id)
    if sitting is None:
        return
    sitting.status = SessionStatus.OPEN
    sitting.opened_at = at
    sitting.start_due = False
    sitting.suspended_until = None
    room.session_id = sitting.id
    room.current = None
    room.queue = room.prepared.pop(sitting.id, [])  # the list prepared for it, if any
    room.list_closed = False
    room.undo = None
    room.item_id = None
    room.totals = {}


@applies(SessionSuspended)
def apply_suspended(
    state: MeetingState, room: RoomState, data: SessionSuspended, at: float
) -> None:
    """The sitting is suspended and the speaking clock stops; nothing before can be undone."""
    sitting = state.sessions.get(data.session_id)
    if sitting is None:
        return
    sitting.status = SessionStatus.SUSPENDED
    sitting.suspended_until = data.until
    pause_clock(room, at)
    room.undo = None


@applies(SessionResumed)
def apply_resumed(state: MeetingState, room: RoomState, data: SessionResumed, at: float) -> None:
    """The sitting is open again; the clock stays paused."""
    sitting = state.sessions.get(data.session_id)
    if sitting is None:
        return
    sitting.status = SessionStatus.OPEN
    sitting.suspended_until = None


@applies(SessionClosed)
def apply_closed(state: MeetingState, room: RoomState, data: SessionClosed, at: float) -> None:
    """The sitting closes: no speech, empty queue, list reopened."""
    sitting = state.sessions.get(data.session_id)
    if sitting is not None:
        sitting.status = SessionStatus.CLOSED
        sitting.closed_at = at
        sitting.suspended_until = None
    if room.session_id == data.session_id:
        room.session_id = None
    room.current = None
    room.queue = []
    room.list_closed = False
    room.undo = None
    room.item_id = None
    # Requests the chair did not answer lapse with their sitting.
    room.requests = [r for r in room.requests if r.session_id != data.session_id]


@applies(SessionStartDue)
def apply_start_due(state: MeetingState, room: RoomState, data: SessionStartDue, at: float) -> None:
    """Flag the sitting as due to start."""
    sitting = state.sessions.get(data.session_id)
    if sitting is not None:
        sitting.start_due = True
