"""Commands: the declaration every command type makes once, and what all of them share.

A command type is declared where its rule lives, in one place: its pydantic
model (whose `type` literal names it), who may send it, its decider and its
human name, by decorating the decider:

    class SpeakerNext(RoomCommand):
        type: Literal["speaker.next"]

    @command(SpeakerNext, may=CHAIR_OF_ROOM, name=N_("Next speaker"))
    def decide_next(state, room, cmd, now) -> list[Event]: ...

The tagged union that validates bodies, the dispatch of `decide` and the
access check are all built from `COMMANDS` (`dashboard.domain.service`).
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from .roles import Role

__all__ = [
    "ADMIN_ONLY",
    "Actor",
    "DELEGATION",
    "CHAIR_OF_ROOM",
    "COMMANDS",
    "STAFF",
    "SYSTEM",
    "AnnouncementCommand",
    "AnnouncementText",
    "BaseCommand",
    "CommandSpec",
    "Permission",
    "RoomCommand",
    "N_",
    "SpeakerName",
    "StreamId",
    "clean_text",
    "command",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Instant = Annotated[float, Field(allow_inf_nan=False)]
# A room's version: a stream id, two 64-bit numbers (a longer one can match no version).
StreamId = Annotated[str, StringConstraints(pattern=r"^\d{1,20}-\d{1,20}$")]
MAX_TEXT = 500
MAX_SPEAKER_NAME = 120

# Characters that show nothing or reorder what follows: zero-width space, non-joiner
# and joiner, word joiner, byte-order mark, left-to-right and right-to-left marks,
# bidi embeddings and overrides, bidi isolates. A name made of them is blank on a
# screen, and an override shows the rest of a name reversed. And the control
# characters but tab and line feed (C0, DEL, C1): nothing a screen can show.
INVISIBLE = re.compile(
    "[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069"
    "\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """A person's text as stored: NFC, without invisible or direction characters, trimmed.

    A text that had something but is empty once they are taken out is refused
    (a blank one stays blank: the field decides whether blank is allowed).
    """
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", value)).strip()
    if not text and value.strip():
        raise ValueError("must not be empty once invisible and direction characters are removed")
    return text


# Every text a person types goes through clean_text; the bound is on what is typed.
AnnouncementPart = Annotated[
    str, StringConstraints(max_length=MAX_TEXT), AfterValidator(clean_text)]
SpeakerName = Annotated[
    str, StringConstraints(max_length=MAX_SPEAKER_NAME), AfterValidator(clean_text)]


def N_(message: str) -> str:
    """Mark a string for the catalogues (scripts/i18n.sh extracts it); translated where shown."""
    return message


# A command's validator is built when it first validates (the tagged union of every
# command in `dashboard.domain.service`, or a model called directly), not when its class
# is declared: a node starting from a snapshot needs none of them to serve its screens.
_DEFERRED = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class BaseCommand(BaseModel):
    """Fields every command may carry: `expected_version` and `command_id`."""

    model_config = _DEFERRED

    type: str
    expected_version: StreamId | None = None
    command_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None


class RoomCommand(BaseCommand):
    """A command addressed to one room (`room` is required and must exist)."""

    room: Id


class AnnouncementCommand(BaseCommand):
    """A meeting-wide command; `room` is optional (given, it must exist and scopes staleness)."""

    room: Id | None = None


class AnnouncementText(BaseModel):
    """Bilingual text: both keys present, at most 500 characters, at least one not blank."""

    model_config = _DEFERRED

    es: AnnouncementPart
    en: AnnouncementPart

    @model_validator(mode="after")
    def _not_blank(self) -> AnnouncementText:
        if not self.es and not self.en:
            raise ValueError("at least one of es, en must not be blank")
        return self


@dataclass(frozen=True)
class Permission:
    """Who may send a command: these roles; `room_bound`: a principal limited to one room
    may send it only for that room."""

    roles: frozenset[Role]
    room_bound: bool = False

    def allows(self, role: str, scope: str, room: str | None) -> bool:
        """Whether a principal of `role` limited to `scope` ("*": every room) may send it."""
        if role not in self.roles:
            return False
        return not self.room_bound or scope == "*" or (room is not None and scope == room)


# The chair of the command's room (a chair of every room: "*"), or an admin.
CHAIR_OF_ROOM = Permission(frozenset({Role.ADMIN, Role.CHAIR}), room_bound=True)
# The secretariat, an admin, or the scheduler (it posts the programme's timed notices).
STAFF = Permission(frozenset({Role.ADMIN, Role.STAFF, Role.SYSTEM}))
# What only time causes: the scheduler sends it, and an admin may.
SYSTEM = Permission(frozenset({Role.ADMIN, Role.SYSTEM}))
ADMIN_ONLY = Permission(frozenset({Role.ADMIN}))
# A delegation's link (for its own delegation only: the decider checks whose), or an admin.
DELEGATION = Permission(frozenset({Role.ADMIN, Role.DELEGATION}))


@dataclass(frozen=True)
class Actor:
    """Who sent a command, as a decider that declares `sender` receives it: the role and
    the scope of its access (a room id, "*", or a delegation's code)."""

    role: str
    scope: str = "*"


@dataclass(frozen=True)
class CommandSpec:
    """One command type as declared: model, permission, decider, human name."""

    command: str
    model: type[BaseCommand]
    may: Permission
    decider: Callable[..., Any]
    name: str
    # The decider declares a `limits` parameter: it is given the bounds of the live state.
    takes_limits: bool = False
    # The decider declares a `sender` parameter: it is given the Actor that sent it.
    takes_sender: bool = False

    @property
    def room_scoped(self) -> bool:
        """Whether the decider takes the command's room: (state, room, cmd, now)."""
        return issubclass(self.model, RoomCommand)


# Every command type, by its `type`, in the order declared.
COMMANDS: dict[str, CommandSpec] = {}

D = TypeVar("D", bound=Callable[..., Any])


def command_type(model: type[BaseCommand]) -> str:
    """The `type` literal a command model declares."""
    annotation = model.model_fields["type"].annotation
    values: tuple[Any, ...] = getattr(annotation, "__args__", ())
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{model.__name__}.type must be one Literal string")
    return values[0]


def command(model: type[BaseCommand], *, may: Permission, name: str) -> Callable[[D], D]:
    """Declare a command type: its model, who may send it, its decider (decorated) and name."""
    kind = command_type(model)

    def register(decider: D) -> D:
        if kind in COMMANDS:
            raise ValueError(f"command {kind!r} is declared twice")
        params = inspect.signature(decider).parameters
        COMMANDS[kind] = CommandSpec(kind, model, may, decider, name, "limits" in params,
                                     "sender" in params)
        return decider

    return register
