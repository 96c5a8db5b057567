"""Announcements: decide and apply for announcement.* (active → retracted | expired, once)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .commands import (
    N_,
    STAFF,
    SYSTEM,
    AnnouncementCommand,
    AnnouncementText,
    Id,
    Instant,
    command,
)
from .errors import Conflict, Invalid, NotFound, TooMany
from .events import (
    AnnouncementExpired,
    AnnouncementPosted,
    AnnouncementRetracted,
    Event,
    applies,
)
from .limits import Limits
from .programme import ALL_ROOMS
from .state import (
    ANNOUNCEMENT_TRANSITIONS,
    AnnouncementState,
    AnnouncementStatus,
    Level,
    MeetingState,
)

# An announcement expires at most this far ahead (seconds); retract it to end it sooner.
MAX_EXPIRY_S = 7 * 24 * 3600


def is_shown(announcement: AnnouncementState, room_id: str, at: float) -> bool:
    """Whether a room's screen shows the announcement at `at`."""
    return (
        announcement.status is AnnouncementStatus.ACTIVE
        and room_id in announcement.rooms
        and (announcement.expires_at is None or announcement.expires_at > at)
    )


def _active(
    state: MeetingState, announcement_id: str, target: AnnouncementStatus
) -> AnnouncementState:
    announcement = state.announcements.get(announcement_id)
    if announcement is None:
        raise NotFound(f"unknown announcement {announcement_id!r}", field="id")
    if target not in ANNOUNCEMENT_TRANSITIONS[announcement.status]:
        raise Conflict(f"announcement {announcement_id!r} is {announcement.status}", field="id")
    return announcement


class AnnouncementPost(AnnouncementCommand):
    """Post an announcement to all rooms (`["*"]`), a venue (its id) or chosen rooms."""

    type: Literal["announcement.post"]
    text: AnnouncementText
    level: Literal["info", "urgent"] = "info"
    rooms: Annotated[list[Id], Field(min_length=1, max_length=200)] | Id = Field(
        default_factory=lambda: ["*"]
    )
    expires_at: Instant | None = None


def _making_room(state: MeetingState, rooms: list[str], level: str, now: float,
                 limits: Limits) -> list[AnnouncementState]:
    """The oldest info announcements to expire so that no room shows more than the cap
    with the new one; TooMany when a room's cap is all urgent."""
    chosen: dict[str, AnnouncementState] = {}
    for room_id in rooms:
        shown = [a for a in state.announcements.values()
                 if a.id not in chosen and is_shown(a, room_id, now)]
        over = len(shown) + 1 - limits.max_announcements
        if over <= 0:
            continue
        infos = sorted((a for a in shown if a.level is Level.INFO),
                       key=lambda a: (a.posted_at, int(a.id.removeprefix("an") or 0)))
        if len(infos) < over:
            raise TooMany(
                f"room {room_id!r} already shows {limits.max_announcements} announcements, "
                f"all urgent: retract one before posting this {level} one", field="rooms")
        chosen.update((a.id, a) for a in infos[:over])
    return list(chosen.values())


@command(AnnouncementPost, may=STAFF, name=N_("Post an announcement"))
def decide_post(state: MeetingState, cmd: AnnouncementPost, now: float,
                limits: Limits) -> list[Event]:
    """announcement.post → (announcement.expired for the oldest info ones past the cap)
    + announcement.posted (data: id and resolved room ids)."""
    limits.check_length("text.es", cmd.text.es, limits.max_text)
    limits.check_length("text.en", cmd.text.en, limits.max_text)
    rooms = state.programme.resolve_rooms(cmd.rooms)
    if not rooms:
        raise Conflict("the target has no rooms", field="rooms")
    if cmd.expires_at is not None and cmd.expires_at <= now:
        raise Invalid("expires_at: must be in the future", field="expires_at")
    if cmd.expires_at is not None and cmd.expires_at > now + MAX_EXPIRY_S:
        raise Invalid("expires_at: at most 7 days ahead", field="expires_at")
    expired = [Event.of(AnnouncementExpired(a.id, list(a.rooms)), None, now)
               for a in _making_room(state, rooms, cmd.level, now, limits)]
    everywhere = cmd.rooms == ALL_ROOMS or cmd.rooms == [ALL_ROOMS]
    target: str | list[str] = ALL_ROOMS if everywhere else cmd.rooms
    data = AnnouncementPosted(
        id=f"an{state.announcement_seq + 1}",
        text={"es": cmd.text.es, "en": cmd.text.en},
        level=cmd.level,
        target=target if isinstance(target, str) else list(target),
        rooms=rooms,
        expires_at=cmd.expires_at,
    )
    return [*expired, Event.of(data, None, now)]


class AnnouncementRetract(AnnouncementCommand):
    """Withdraw an active announcement."""

    type: Literal["announcement.retract"]
    id: Id


@command(AnnouncementRetract, may=STAFF, name=N_("Retract an announcement"))
def decide_retract(state: MeetingState, cmd: AnnouncementRetract, now: float) -> list[Event]:
    """announcement.retract → announcement.retracted."""
    announcement = state.announcements.get(cmd.id)
    if announcement is None or announcement.status is not AnnouncementStatus.ACTIVE:
        # Retracted or expired: it is not there any more (a second retract is a 404).
        gone = f" (it is {announcement.status})" if announcement is not None else ""
        raise NotFound(f"no active announcement {cmd.id!r}{gone}", field="id")
    data = AnnouncementRetracted(announcement.id, list(announcement.rooms))
    return [Event.of(data, None, now)]


class AnnouncementExpire(AnnouncementCommand):
    """Scheduler: expire an announcement whose time has come (once)."""

    type: Literal["announcement.expire"]
    id: Id


@command(AnnouncementExpire, may=SYSTEM, name=N_("Expire an announcement"))
def decide_expire(state: MeetingState, cmd: AnnouncementExpire, now: float) -> list[Event]:
    """announcement.expire → announcement.expired (once, and only once its time has come)."""
    announcement = _active(state, cmd.id, AnnouncementStatus.EXPIRED)
    if announcement.expires_at is None or announcement.expires_at > now:
        raise Conflict(f"announcement {cmd.id!r} is not due to expire", field="id")
    data = AnnouncementExpired(announcement.id, list(announcement.rooms))
    return [Event.of(data, None, now)]


@applies(AnnouncementPosted)
def apply_posted(state: MeetingState, data: AnnouncementPosted, at: float) -> None:
    """Record the announcement as active."""
    state.announcement_seq += 1
    state.announcements[data.id] = AnnouncementState(
        id=data.id,
        text=dict(data.text),
        level=Level(data.level),
        rooms=list(data.rooms),
        posted_at=at,
        expires_at=data.expires_at,
    )


@applies(AnnouncementRetracted)
def apply_retracted(state: MeetingState, data: AnnouncementRetracted, at: float) -> None:
    """Mark the announcement retracted."""
    announcement = state.announcements.get(data.id)
    if announcement is not None:
        announcement.status = AnnouncementStatus.RETRACTED


@applies(AnnouncementExpired)
def apply_expired(state: MeetingState, data: AnnouncementExpired, at: float) -> None:
    """Mark the announcement expired."""
    announcement = state.announcements.get(data.id)
    if announcement is not None:
        announcement.status = AnnouncementStatus.EXPIRED
