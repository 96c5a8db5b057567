"""The podium monitor: the chair's private messages to the speaker (podium.*)."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from .commands import CHAIR_OF_ROOM, N_, AnnouncementText, RoomCommand, command
from .errors import Invalid
from .events import Event, PodiumCleared, PodiumMessaged, applies
from .state import MeetingState, RoomState

# The presets' texts, in both languages (the console offers them as one-tap buttons).
PRESETS: dict[str, dict[str, str]] = {
    "conclude": {"es": "Por favor concluya", "en": "Please conclude"},
    "one_minute": {"es": "Queda un minuto", "en": "One minute left"},
    "time_up": {"es": "Se acabó el tiempo", "en": "Time is up"},
}


class PodiumMessage(RoomCommand):
    """Show the speaker a message on the podium monitor: a preset, or a text of one's own."""

    type: Literal["podium.message"]
    text: AnnouncementText | None = None
    preset: Literal["conclude", "one_minute", "time_up"] | None = None
    blink: bool = False

    @field_validator("preset")
    @classmethod
    def _not_with_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Which one the chair meant is not ours to guess: the monitor would show either.
        if value is not None and info.data.get("text") is not None:
            raise ValueError("give text or preset, not both")
        return value


@command(PodiumMessage, may=CHAIR_OF_ROOM, name=N_("Send the speaker a message"))
def decide_message(state: MeetingState, room: RoomState, cmd: PodiumMessage,
                   now: float) -> list[Event]:
    """podium.message → podium.messaged (a text, or a preset's texts when no text is given)."""
    if cmd.text is None and cmd.preset is None:
        raise Invalid("text or preset is required", field="text")
    text = ({"es": cmd.text.es, "en": cmd.text.en} if cmd.text is not None
            else dict(PRESETS[cmd.preset or ""]))
    return [Event.of(PodiumMessaged(text, cmd.preset, cmd.blink), room.id, now)]


class PodiumClear(RoomCommand):
    """Take the message off the podium monitor."""

    type: Literal["podium.clear"]


@command(PodiumClear, may=CHAIR_OF_ROOM, name=N_("Clear the speaker's message"))
def decide_clear(state: MeetingState, room: RoomState, cmd: PodiumClear,
                 now: float) -> list[Event]:
    """podium.clear → podium.cleared (also when nothing is shown: a double tap is answered
    the same)."""
    return [Event.of(PodiumCleared(), room.id, now)]


@applies(PodiumMessaged)
def apply_messaged(state: MeetingState, room: RoomState, data: PodiumMessaged, at: float) -> None:
    """The monitor shows the message from `at`."""
    room.podium = {"text": dict(data.text), "preset": data.preset, "blink": data.blink, "at": at}


@applies(PodiumCleared)
def apply_cleared(state: MeetingState, room: RoomState, data: PodiumCleared, at: float) -> None:
    """The monitor shows no message."""
    room.podium = None
