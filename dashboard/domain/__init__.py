"""The pure domain of Plenary Live: programme, commands, events, rules and room views (no I/O)."""

from __future__ import annotations

from .commands import COMMAND_TYPES, BaseCommand, Command, parse_command
from .errors import Conflict, DomainError, Forbidden, Invalid, NotFound, ProgrammeError, Stale
from .events import Event, EventType
from .programme import Programme, default_programme_path, load_programme
from .service import apply, decide, touched_rooms
from .state import (
    SESSION_TRANSITIONS,
    MeetingState,
    SessionStatus,
    SpeechKind,
    new_state,
)
from .view import room_view, room_views

__all__ = [
    "COMMAND_TYPES",
    "SESSION_TRANSITIONS",
    "BaseCommand",
    "Command",
    "Conflict",
    "DomainError",
    "Event",
    "EventType",
    "Forbidden",
    "Invalid",
    "MeetingState",
    "NotFound",
    "Programme",
    "ProgrammeError",
    "SessionStatus",
    "SpeechKind",
    "Stale",
    "apply",
    "decide",
    "default_programme_path",
    "load_programme",
    "new_state",
    "parse_command",
    "room_view",
    "room_views",
    "touched_rooms",
]
