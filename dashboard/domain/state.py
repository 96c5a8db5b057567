"""The meeting state folded from events: sittings, lists of speakers, clocks, announcements."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .programme import Programme

__all__ = [
    "ANNOUNCEMENT_TRANSITIONS",
    "SESSION_TRANSITIONS",
    "AnnouncementState",
    "AnnouncementStatus",
    "Entry",
    "Level",
    "MAX_DECLINED",
    "MeetingState",
    "Request",
    "RoomState",
    "SessionState",
    "SessionStatus",
    "Speech",
    "SpeechKind",
    "Tally",
    "UNDO_WINDOW_S",
    "Undoable",
    "new_state",
]

INITIAL_VERSION = "0-0"
# How long after a change to the list of speakers it can still be undone, in seconds.
UNDO_WINDOW_S = 120
# Declined requests a room keeps (so a delegation can read the chair's reason).
MAX_DECLINED = 50


class SessionStatus(StrEnum):
    """Where a sitting is in its life."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"


# scheduled → open ⇄ suspended → closed (an open sitting may also close directly).
SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.SCHEDULED: frozenset({SessionStatus.OPEN}),
    SessionStatus.OPEN: frozenset({SessionStatus.SUSPENDED, SessionStatus.CLOSED}),
    SessionStatus.SUSPENDED: frozenset({SessionStatus.OPEN, SessionStatus.CLOSED}),
    SessionStatus.CLOSED: frozenset(),
}


class SpeechKind(StrEnum):
    """Why a delegation asks for the floor; fixes its place in the list and its time limit."""

    SPEECH = "speech"
    POINT_OF_ORDER = "point_of_order"
    REPLY = "reply"


class Level(StrEnum):
    """How loud an announcement is."""

    INFO = "info"
    URGENT = "urgent"


class AnnouncementStatus(StrEnum):
    """An announcement is shown while active; retracted and expired are final."""

    ACTIVE = "active"
    RETRACTED = "retracted"
    EXPIRED = "expired"


ANNOUNCEMENT_TRANSITIONS: dict[AnnouncementStatus, frozenset[AnnouncementStatus]] = {
    AnnouncementStatus.ACTIVE: frozenset(
        {AnnouncementStatus.RETRACTED, AnnouncementStatus.EXPIRED}
    ),
    AnnouncementStatus.RETRACTED: frozenset(),
    AnnouncementStatus.EXPIRED: frozenset(),
}


@dataclass
class Entry:
    """A request for the floor waiting in a room's list."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: SpeechKind
    requested_at: float  # the time of inscription (of the request, when one was accepted)
    level: str | None = None  # a protocol level's code
    language: str | None = None  # es, en, pt or fr
    on_behalf_of: str | None = None  # a group's code
    speaker_title: str | None = None  # "Minister of Foreign Affairs", as typed

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data (event data, snapshots)."""
        return {
            "entry_id": self.entry_id,
            "delegation": self.delegation,
            "speaker_name": self.speaker_name,
            "kind": str(self.kind),
            "requested_at": self.requested_at,
            "level": self.level,
            "language": self.language,
            "on_behalf_of": self.on_behalf_of,
            "speaker_title": self.speaker_title,
        }


@dataclass
class Request:
    """A delegation's request for the floor waiting for the chair (approval), or declined."""

    request_id: str
    delegation: str
    session_id: str
    kind: SpeechKind
    speaker_name: str | None
    level: str | None
    language: str | None
    on_behalf_of: str | None
    requested_at: float
    declined_at: float | None = None
    reason: dict[str, str] | None = None
    speaker_title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The request as plain data (snapshots)."""
        return {**self.__dict__, "kind": str(self.kind)}


@dataclass
class Tally:
    """A delegation's speeches and seconds spoken in the sitting in progress."""

    speeches: int = 0
    spoken_s: float = 0.0


@dataclass
class Speech:
    """The speech in progress and its clock (accumulated seconds plus the running stretch)."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: SpeechKind
    started_at: float
    limit_s: int
    accumulated_s: float = 0.0
    running_since: float | None = None
    overrun_recorded: bool = False
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None
    speaker_title: str | None = None

    @property
    def paused(self) -> bool:
        """True when the clock is stopped."""
        return self.running_since is None

    def elapsed(self, at: float) -> float:
        """Seconds spoken so far, measured at `at`."""
        if self.running_since is None:
            return self.accumulated_s
        return self.accumulated_s + max(0.0, at - self.running_since)

    def remaining(self, at: float) -> float:
        """Seconds left at `at`; negative once the speaker overruns (never clamped)."""
        return self.limit_s - self.elapsed(at)


@dataclass
class Undoable:
    """The room's newest change to its list of speakers, with what taking it back needs.

    `action` is the command type that made it, `at` its instant, `entry_id` and
    `delegation` its subject (the entry added, removed, moved or given the floor;
    the speaker whose speech ended when nobody got the floor). `position`: where
    the entry was (removed, moved from, or given the floor from). `entry`: an
    entry that left the queue (removed, or given the floor), to put back.
    `speech`: the speech that ended, its clock stopped where it ended
    (`accumulated_s`; `running_since` is the end's instant when it was running).
    `floor_changed`: the floor is part of the change.
    """

    action: str
    at: float
    entry_id: str
    delegation: str
    position: int | None = None
    entry: Entry | None = None
    speech: Speech | None = None
    floor_changed: bool = False
    order: list[str] | None = None  # the queue's order before a list.order


@dataclass
class SessionState:
    """A sitting's live status (its programme facts stay in the programme)."""

    id: str
    room: str
    status: SessionStatus = SessionStatus.SCHEDULED
    suspended_until: float | None = None
    start_due: bool = False
    opened_at: float | None = None
    closed_at: float | None = None


@dataclass
class RoomState:
    """One room: its version, the sitting in progress, the list of speakers and the clock."""

    id: str
    version: str = INITIAL_VERSION
    session_id: str | None = None
    current: Speech | None = None
    queue: list[Entry] = field(default_factory=list)
    list_closed: bool = False
    undo: Undoable | None = None
    # The chair's message to the speaker: {"text": {es, en}, "preset", "blink", "at"}.
    podium: dict[str, Any] | None = None
    # Lists prepared for the room's scheduled sittings, by sitting id (the open one's
    # becomes `queue` when it opens).
    prepared: dict[str, list[Entry]] = field(default_factory=dict)
    item_id: str | None = None  # the open sitting's current agenda item
    requests: list[Request] = field(default_factory=list)  # pending, oldest first
    declined: list[Request] = field(default_factory=list)  # newest last, at most MAX_DECLINED
    totals: dict[str, Tally] = field(default_factory=dict)  # by delegation, this sitting


@dataclass
class AnnouncementState:
    """A posted announcement and the rooms it was resolved to."""

    id: str
    text: dict[str, str]
    level: Level
    rooms: list[str]
    posted_at: float
    expires_at: float | None
    status: AnnouncementStatus = AnnouncementStatus.ACTIVE


@dataclass
class MeetingState:
    """Everything the domain knows; changed only by `apply`."""

    programme: Programme = field(compare=False, repr=False)
    version: str = INITIAL_VERSION
    rooms: dict[str, RoomState] = field(default_factory=dict)
    sessions: dict[str, SessionState] = field(default_factory=dict)
    announcements: dict[str, AnnouncementState] = field(default_factory=dict)
    entry_seq: int = 0
    announcement_seq: int = 0
    request_seq: int = 0


def new_state(programme: Programme) -> MeetingState:
    """The state before any event."""
    return MeetingState(
        programme=programme,
        rooms={room.id: RoomState(id=room.id) for room in programme.rooms},
        sessions={s.id: SessionState(id=s.id, room=s.room) for s in programme.sessions},
    )
