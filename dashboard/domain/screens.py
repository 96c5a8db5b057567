"""The control room's requests to one page of the fleet (screen.*): meeting-wide, admin only.

They change no room's state: each is recorded in the stream, and every web node
hands it to that page's sockets, if it holds them, as a `directive`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from .commands import ADMIN_ONLY, N_, BaseCommand, Id, clean_text, command
from .errors import Invalid, NotFound
from .events import Event, ScreenDirected, applies
from .state import MeetingState

ScreenId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
# Cleaned as every typed text (a name of invisible characters only is refused, 422).
ScreenName = Annotated[str, StringConstraints(min_length=1, max_length=80),
                       AfterValidator(clean_text)]


class ScreenCommand(BaseCommand):
    """A request to one page, by the id it reports (`screen_id`)."""

    screen_id: ScreenId


class ScreenIdentify(ScreenCommand):
    """The page shows its name and a large number for 10 seconds."""

    type: Literal["screen.identify"]


class ScreenReload(ScreenCommand):
    """The page loads itself again."""

    type: Literal["screen.reload"]


class ScreenRename(ScreenCommand):
    """Give the page a name (kept across its reloads and the service's restarts)."""

    type: Literal["screen.rename"]
    name: ScreenName


class ScreenSet(ScreenCommand):
    """Show the page in another language, or another room's page of the same kind."""

    type: Literal["screen.set"]
    lang: Literal["both", "es", "en"] | None = None
    room: Id | None = None


def _directed(cmd: ScreenCommand, action: str, now: float, *, name: str | None = None,
              lang: str | None = None, room: str | None = None) -> list[Event]:
    data = ScreenDirected(cmd.screen_id, action, name, lang, room, [])
    return [Event.of(data, None, now)]


@command(ScreenIdentify, may=ADMIN_ONLY, name=N_("Identify a screen"))
def decide_identify(state: MeetingState, cmd: ScreenIdentify, now: float) -> list[Event]:
    """screen.identify → screen.directed (identify)."""
    return _directed(cmd, "identify", now)


@command(ScreenReload, may=ADMIN_ONLY, name=N_("Reload a screen"))
def decide_reload(state: MeetingState, cmd: ScreenReload, now: float) -> list[Event]:
    """screen.reload → screen.directed (reload)."""
    return _directed(cmd, "reload", now)


@command(ScreenRename, may=ADMIN_ONLY, name=N_("Rename a screen"))
def decide_rename(state: MeetingState, cmd: ScreenRename, now: float) -> list[Event]:
    """screen.rename → screen.directed (rename, with the name as it will show)."""
    name = " ".join(cmd.name.split())
    if not name:
        raise Invalid("name: must not be blank", field="name")
    return _directed(cmd, "rename", now, name=name)


@command(ScreenSet, may=ADMIN_ONLY, name=N_("Change a screen's language or room"))
def decide_set(state: MeetingState, cmd: ScreenSet, now: float) -> list[Event]:
    """screen.set → screen.directed (set: the language and/or the room to show)."""
    if cmd.lang is None and cmd.room is None:
        raise Invalid("lang or room is required", field="lang")
    if cmd.room is not None and cmd.room not in state.rooms:
        raise NotFound(f"unknown room {cmd.room!r}", field="room")
    return _directed(cmd, "set", now, lang=cmd.lang, room=cmd.room)


@applies(ScreenDirected)
def apply_directed(state: MeetingState, data: ScreenDirected, at: float) -> None:
    """Nothing in the meeting's state changes: the page acts, the stream keeps the record."""
