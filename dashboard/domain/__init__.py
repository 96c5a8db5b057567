"""The pure domain of Plenary Live: programme, commands, events, rules and room views (no I/O)."""

from __future__ import annotations

from .commands import COMMANDS, BaseCommand, CommandSpec, Permission
from .errors import (
    CommandIdReused,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    ProgrammeError,
    Stale,
    TooMany,
)
from .events import Event, EventType
from .limits import DEFAULT_LIMITS, Limits
from .programme import Programme, default_programme_path, load_programme
from .roles import Role
from .service import (
    COMMAND_TYPES,
    apply,
    check_sender,
    decide,
    may_send,
    parse_command,
    prepare_commands,
    refusal,
    spec_of,
    touched_rooms,
)
from .state import (
    SESSION_TRANSITIONS,
    MeetingState,
    SessionStatus,
    SpeechKind,
    new_state,
)
from .view import Audience, delegation_view, for_audience, room_view, room_views

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "COMMAND_TYPES",
    "SESSION_TRANSITIONS",
    "COMMANDS",
    "BaseCommand",
    "CommandIdReused",
    "CommandSpec",
    "Conflict",
    "DomainError",
    "Event",
    "EventType",
    "Forbidden",
    "Invalid",
    "MeetingState",
    "NotFound",
    "Programme",
    "Permission",
    "ProgrammeError",
    "Role",
    "SessionStatus",
    "SpeechKind",
    "Stale",
    "TooMany",
    "apply",
    "check_sender",
    "decide",
    "default_programme_path",
    "load_programme",
    "may_send",
    "new_state",
    "parse_command",
    "prepare_commands",
    "refusal",
    "delegation_view",
    "room_view",
    "Audience",
    "for_audience",
    "room_views",
    "spec_of",
    "touched_rooms",
]
