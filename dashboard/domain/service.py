"""The domain's entry points, built from the declarations: parse, may_send, decide, apply.

Importing this module imports every rule module, so `COMMANDS` is complete
here; the tagged union, the access check and the dispatch read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError

from . import (  # noqa: F401 - they declare the rules
    announcements,
    clock,
    lists,
    podium,
    requests,
    screens,
    sessions,
    speakers,
)
from .commands import (
    COMMANDS,
    Actor,
    AnnouncementCommand,
    BaseCommand,
    CommandSpec,
    RoomCommand,
)
from .errors import Forbidden, Invalid, NotFound, Stale
from .events import APPLIERS, Broadcast, Event
from .limits import DEFAULT_LIMITS, Limits
from .state import MeetingState, RoomState

__all__ = [
    "COMMAND_TYPES",
    "apply",
    "check_sender",
    "decide",
    "may_send",
    "parse_command",
    "prepare_commands",
    "refusal",
    "spec_of",
    "touched_rooms",
]

COMMAND_TYPES: frozenset[str] = frozenset(COMMANDS)


@cache
def _adapter() -> TypeAdapter[BaseCommand]:
    """The tagged union of every declared model, discriminated by `type`: built by the
    first command parsed, not at import (a starting node validates no command)."""
    union: Any = Annotated[
        Union[tuple(spec.model for spec in COMMANDS.values())],  # noqa: UP007 - built at run time
        Field(discriminator="type"),
    ]
    return TypeAdapter(union)


def prepare_commands() -> None:
    """Build the commands' validators now (a node does, once it serves: its first
    command is then as fast as the rest)."""
    _adapter()


_TYPE_NAMES = {"str", "int", "float", "bool", "none", "list", "dict"}


def spec_of(command_type: str) -> CommandSpec | None:
    """The declaration of a command type, None for a type nobody declared."""
    return COMMANDS.get(command_type)


def parse_command(body: Any) -> BaseCommand:
    """Validate a command body; raise Invalid naming the first bad field (dotted, e.g. text.es)."""
    if not isinstance(body, dict):
        raise Invalid("a command must be a JSON object")
    try:
        return _adapter().validate_python(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "union_tag_not_found":
            raise Invalid("missing field", field="type") from None
        if error["type"] == "union_tag_invalid":
            raise Invalid(f"unknown command type {body.get('type')!r}", field="type") from None
        loc = error["loc"][1:]  # the first part is the discriminator tag
        field = _field_name(loc) or None
        message = _message(error)
        raise Invalid(f"{field}: {message}" if field else message, field=field) from None


def _field_name(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part in _TYPE_NAMES:
            continue  # a union member's name, not a field
        else:
            out += f".{part}" if out else part
    return out


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing field"
    if kind == "extra_forbidden":
        return "unknown field"
    return str(error["msg"]).removeprefix("Value error, ")


# Roles that may send at least one command.
_SENDERS: frozenset[str] = frozenset(r for spec in COMMANDS.values() for r in spec.may.roles)


def _refused(role: str, scope: str, command_type: str, room: str | None) -> Forbidden | None:
    spec = COMMANDS.get(command_type)
    if spec is None:  # nobody declared it: validation refuses it, for those who send commands
        return None if role in _SENDERS else Forbidden(f"the {role} role may not send commands")
    if role not in spec.may.roles:
        return Forbidden(f"the {role} role may not send {command_type} ({spec.name})")
    if not spec.may.allows(role, scope, room):
        return Forbidden(f"this access is for room {scope}", field="room")
    return None


def refusal(role: str, scope: str, command_type: str, room: str | None) -> str | None:
    """Why a principal (`role`, limited to room `scope` or "*") may not send this command
    to `room`; None when it may (and for a type nobody declared: validation refuses it)."""
    refused = _refused(role, scope, command_type, room)
    return refused.message if refused is not None else None


def may_send(role: str, scope: str, command_type: str, room: str | None) -> bool:
    """Whether a principal of `role` limited to `scope` may send this command to `room`."""
    return command_type in COMMANDS and _refused(role, scope, command_type, room) is None


def check_sender(role: str, scope: str, body: dict[str, Any]) -> None:
    """Refuse (Forbidden) a body its sender may not send, before it is validated."""
    kind, room = body.get("type"), body.get("room")
    refused = _refused(role, scope, kind if isinstance(kind, str) else "",
                       room if isinstance(room, str) else None)
    if refused is not None:
        raise refused


def _room(state: MeetingState, room_id: str) -> RoomState:
    room = state.rooms.get(room_id)
    if room is None:
        raise NotFound(f"unknown room {room_id!r}", field="room")
    return room


def _check_version(room: RoomState, expected: str | None) -> None:
    if expected is not None and expected != room.version:
        raise Stale(f"room {room.id!r} is at version {room.version}, not {expected}")


# Who sends a command when the caller names nobody (tools, tests): an admin.
_ADMIN = Actor("admin")


def decide(state: MeetingState, command: BaseCommand | dict[str, Any], now: float,
           limits: Limits = DEFAULT_LIMITS, sender: Actor = _ADMIN) -> list[Event]:
    """Turn a command into events (at=now, id=None) or raise a DomainError; never mutates state."""
    cmd: BaseCommand = parse_command(command) if isinstance(command, dict) else command
    spec = COMMANDS[cmd.type]
    extra: dict[str, Any] = {"limits": limits} if spec.takes_limits else {}
    if spec.takes_sender:
        extra["sender"] = sender
    if isinstance(cmd, RoomCommand):
        room = _room(state, cmd.room)
        _check_version(room, cmd.expected_version)
        events: list[Event] = spec.decider(state, room, cmd, now, **extra)
        return events
    if isinstance(cmd, AnnouncementCommand) and cmd.room is not None:
        _check_version(_room(state, cmd.room), cmd.expected_version)
    events = spec.decider(state, cmd, now, **extra)
    return events


def touched_rooms(state: MeetingState, event: Event) -> list[str]:
    """Room ids whose state the event changes (read from the event, so valid before and after)."""
    data = event.data
    if isinstance(data, Broadcast):
        return [r for r in data.rooms if r in state.rooms]
    return [event.room] if event.room in state.rooms else []


def apply(state: MeetingState, event: Event) -> MeetingState:
    """Fold one event into the state (deterministic: event.at and event.data only)."""
    applier = APPLIERS.get(event.type)
    if applier is not None:
        data = event.data
        if isinstance(data, Broadcast):
            applier(state, data, event.at)
        else:
            room = state.rooms.get(event.room or "")
            if room is not None:
                applier(state, room, data, event.at)
    if event.id is not None:
        state.version = event.id
        for room_id in touched_rooms(state, event):
            state.rooms[room_id].version = event.id
    return state
