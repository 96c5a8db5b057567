"""Commands: imperative requests validated with pydantic (one model per type, discriminated)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import Invalid

__all__ = [
    "COMMAND_TYPES",
    "AnnouncementCommand",
    "AnnouncementExpire",
    "AnnouncementPost",
    "AnnouncementRetract",
    "AnnouncementText",
    "BaseCommand",
    "Command",
    "ListClose",
    "ListReopen",
    "RoomCommand",
    "SessionClose",
    "SessionOpen",
    "SessionResume",
    "SessionSignalStartDue",
    "SessionSuspend",
    "SpeakerAdd",
    "SpeakerMove",
    "SpeakerNext",
    "SpeakerRecordOverrun",
    "SpeakerRemove",
    "SpeakerStart",
    "SpeakerStop",
    "TimerExtend",
    "TimerPause",
    "TimerResume",
    "parse_command",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Instant = Annotated[float, Field(allow_inf_nan=False)]
SpeechKindName = Literal["speech", "point_of_order", "reply"]
MAX_TEXT = 500
MAX_SPEAKER_NAME = 120


class BaseCommand(BaseModel):
    """Fields every command may carry: `expected_version` and `command_id`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: str
    expected_version: Annotated[str, StringConstraints(pattern=r"^\d+-\d+$")] | None = None
    command_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None


class RoomCommand(BaseCommand):
    """A command addressed to one room (`room` is required and must exist)."""

    room: Id


class SessionOpen(RoomCommand):
    """Open a scheduled sitting of the room."""

    type: Literal["session.open"]
    session_id: Id


class SessionSuspend(RoomCommand):
    """Suspend the room's open sitting, optionally until an instant."""

    type: Literal["session.suspend"]
    session_id: Id | None = None
    until: Instant | None = None


class SessionResume(RoomCommand):
    """Resume the room's suspended sitting (the speaking clock stays paused)."""

    type: Literal["session.resume"]
    session_id: Id | None = None


class SessionClose(RoomCommand):
    """Close the room's sitting: ends the speech, drops the queue, reopens the list."""

    type: Literal["session.close"]
    session_id: Id | None = None


class SessionSignalStartDue(RoomCommand):
    """Scheduler: flag that a scheduled sitting should be starting."""

    type: Literal["session.signal_start_due"]
    session_id: Id


class SpeakerAdd(RoomCommand):
    """Put a delegation on the list of speakers."""

    type: Literal["speaker.add"]
    delegation: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    speaker_name: Annotated[str, StringConstraints(max_length=MAX_SPEAKER_NAME)] | None = None
    kind: SpeechKindName = "speech"

    @field_validator("speaker_name")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None


class SpeakerRemove(RoomCommand):
    """Take a waiting entry off the list."""

    type: Literal["speaker.remove"]
    entry_id: Id


class SpeakerMove(RoomCommand):
    """Move a waiting entry to a 0-based position in the queue."""

    type: Literal["speaker.move"]
    entry_id: Id
    position: Annotated[int, Field(ge=0, le=10_000)]


class SpeakerNext(RoomCommand):
    """End the current speech (if any) and give the floor to the head of the queue."""

    type: Literal["speaker.next"]


class SpeakerStart(RoomCommand):
    """Give the floor to a waiting entry out of turn."""

    type: Literal["speaker.start"]
    entry_id: Id


class SpeakerStop(RoomCommand):
    """End the current speech."""

    type: Literal["speaker.stop"]


class SpeakerRecordOverrun(RoomCommand):
    """Scheduler: record that the current speech went over its limit (once per speech)."""

    type: Literal["speaker.record_overrun"]
    entry_id: Id


class TimerPause(RoomCommand):
    """Stop the speaking clock."""

    type: Literal["timer.pause"]


class TimerResume(RoomCommand):
    """Restart the speaking clock."""

    type: Literal["timer.resume"]


class TimerExtend(RoomCommand):
    """Give the current speaker more seconds."""

    type: Literal["timer.extend"]
    seconds: Annotated[int, Field(ge=1, le=3600)]


class ListClose(RoomCommand):
    """Close the list: no new speeches (points of order and replies still taken)."""

    type: Literal["list.close"]


class ListReopen(RoomCommand):
    """Reopen a closed list."""

    type: Literal["list.reopen"]


class AnnouncementText(BaseModel):
    """Bilingual text: both keys present, at most 500 characters, at least one not blank."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, str_strip_whitespace=True)

    es: Annotated[str, StringConstraints(max_length=MAX_TEXT)]
    en: Annotated[str, StringConstraints(max_length=MAX_TEXT)]

    @model_validator(mode="after")
    def _not_blank(self) -> AnnouncementText:
        if not self.es and not self.en:
            raise ValueError("at least one of es, en must not be blank")
        return self


class AnnouncementCommand(BaseCommand):
    """A meeting-wide command; `room` is optional (given, it must exist and scopes staleness)."""

    room: Id | None = None


class AnnouncementPost(AnnouncementCommand):
    """Post an announcement to all rooms (`["*"]`), a venue (its id) or chosen rooms."""

    type: Literal["announcement.post"]
    text: AnnouncementText
    level: Literal["info", "urgent"] = "info"
    rooms: Annotated[list[Id], Field(min_length=1, max_length=200)] | Id = Field(
        default_factory=lambda: ["*"]
    )
    expires_at: Instant | None = None


class AnnouncementRetract(AnnouncementCommand):
    """Withdraw an active announcement."""

    type: Literal["announcement.retract"]
    id: Id


class AnnouncementExpire(AnnouncementCommand):
    """Scheduler: expire an announcement whose time has come (once)."""

    type: Literal["announcement.expire"]
    id: Id


_COMMAND_MODELS: tuple[type[BaseCommand], ...] = (
    SessionOpen,
    SessionSuspend,
    SessionResume,
    SessionClose,
    SessionSignalStartDue,
    SpeakerAdd,
    SpeakerRemove,
    SpeakerMove,
    SpeakerNext,
    SpeakerStart,
    SpeakerStop,
    SpeakerRecordOverrun,
    TimerPause,
    TimerResume,
    TimerExtend,
    ListClose,
    ListReopen,
    AnnouncementPost,
    AnnouncementRetract,
    AnnouncementExpire,
)

Command = Annotated[
    SessionOpen
    | SessionSuspend
    | SessionResume
    | SessionClose
    | SessionSignalStartDue
    | SpeakerAdd
    | SpeakerRemove
    | SpeakerMove
    | SpeakerNext
    | SpeakerStart
    | SpeakerStop
    | SpeakerRecordOverrun
    | TimerPause
    | TimerResume
    | TimerExtend
    | ListClose
    | ListReopen
    | AnnouncementPost
    | AnnouncementRetract
    | AnnouncementExpire,
    Field(discriminator="type"),
]

COMMAND_TYPES: frozenset[str] = frozenset(
    model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in _COMMAND_MODELS
)

_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
_TYPE_NAMES = {"str", "int", "float", "bool", "none", "list", "dict"}


def parse_command(body: Any) -> Command:
    """Validate a command body; raise Invalid naming the first bad field (dotted, e.g. text.es)."""
    if not isinstance(body, dict):
        raise Invalid("a command must be a JSON object")
    try:
        return _ADAPTER.validate_python(body)
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
