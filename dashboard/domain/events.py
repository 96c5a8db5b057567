"""Every event type the domain produces: its `EventType` and its payload class.

How an event type is declared, versioned, upcast and stored is
`dashboard.domain.event_model`'s; the names it defines are exported here too, so
that the rest of the code imports events from one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .event_model import (  # exported here: events are imported from this module
    APPLIERS as APPLIERS,
    EVENTS as EVENTS,
    UPCASTERS as UPCASTERS,
    Event as Event,
    Opaque as Opaque,
    Payload as Payload,
    applies as applies,
    event as event,
    read_payload as read_payload,
    record_data as record_data,
    upcaster as upcaster,
)


class EventType(StrEnum):
    """Every event type the domain produces."""

    SESSION_OPENED = "session.opened"
    SESSION_SUSPENDED = "session.suspended"
    SESSION_RESUMED = "session.resumed"
    SESSION_CLOSED = "session.closed"
    SESSION_START_DUE = "session.start_due"
    SPEAKER_ADDED = "speaker.added"
    SPEAKER_REMOVED = "speaker.removed"
    SPEAKER_MOVED = "speaker.moved"
    SPEAKER_FLOOR_GIVEN = "speaker.floor_given"
    SPEAKER_SPEECH_ENDED = "speaker.speech_ended"
    SPEAKER_OVERRAN = "speaker.overran"
    SPEAKER_UNDONE = "speaker.undone"
    TIMER_PAUSED = "timer.paused"
    TIMER_RESUMED = "timer.resumed"
    TIMER_EXTENDED = "timer.extended"
    LIST_CLOSED = "list.closed"
    LIST_REOPENED = "list.reopened"
    LIST_ORDERED = "list.ordered"
    ITEM_STARTED = "item.started"
    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_ACCEPTED = "request.accepted"
    REQUEST_DECLINED = "request.declined"
    REQUEST_WITHDRAWN = "request.withdrawn"
    ANNOUNCEMENT_POSTED = "announcement.posted"
    ANNOUNCEMENT_RETRACTED = "announcement.retracted"
    ANNOUNCEMENT_EXPIRED = "announcement.expired"
    SCREEN_DIRECTED = "screen.directed"
    PODIUM_MESSAGED = "podium.messaged"
    PODIUM_CLEARED = "podium.cleared"


# --- sittings ---------------------------------------------------------------------------------


@event(EventType.SESSION_OPENED)
@dataclass(frozen=True, slots=True)
class SessionOpened(Payload):
    """A sitting opened (its kind fixes the speaking limits)."""

    session_id: str
    kind: str


@event(EventType.SESSION_SUSPENDED)
@dataclass(frozen=True, slots=True)
class SessionSuspended(Payload):
    """A sitting suspended, maybe until an instant; the speaking clock stopped."""

    session_id: str
    until: float | None
    clock_paused: bool
    entry_id: str | None


@event(EventType.SESSION_RESUMED)
@dataclass(frozen=True, slots=True)
class SessionResumed(Payload):
    """A suspended sitting open again."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """A request for the floor as the list held it (in session.closed's `dropped`)."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: str
    requested_at: float
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None
    speaker_title: str | None = None


@event(EventType.SESSION_CLOSED)
@dataclass(frozen=True, slots=True)
class SessionClosed(Payload):
    """A sitting closed: the requests still waiting are dropped (kept in the record)."""

    session_id: str
    ended_entry_id: str | None
    dropped: tuple[Waiting, ...]
    list_was_closed: bool

    def to_data(self) -> dict[str, Any]:
        """The stored form: `dropped` as a list of objects."""
        return {
            "session_id": self.session_id,
            "ended_entry_id": self.ended_entry_id,
            "dropped": [record_data(w) for w in self.dropped],
            "list_was_closed": self.list_was_closed,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SessionClosed:
        """The payload, its dropped requests typed."""
        return cls(
            session_id=data["session_id"],
            ended_entry_id=data["ended_entry_id"],
            dropped=tuple(Waiting(**w) for w in data["dropped"]),
            list_was_closed=data["list_was_closed"],
        )


@event(EventType.SESSION_START_DUE)
@dataclass(frozen=True, slots=True)
class SessionStartDue(Payload):
    """A scheduled sitting's start has come."""

    session_id: str


# --- the list of speakers and the clock ------------------------------------------------------


@event(EventType.SPEAKER_ADDED)
@dataclass(frozen=True, slots=True)
class SpeakerAdded(Payload):
    """A delegation asked for the floor; `position` is its 0-based place in the queue.

    `session_id`: a scheduled sitting whose prepared list it joins (None: the sitting in
    progress). `request_id`: the request it was accepted from; `inscribed_at` that
    request's time (None: the event's). `speaker_title`: the speaker's title as typed
    ("Minister of Foreign Affairs"), which entries, speeches and requests carry along with
    `speaker_name`. Fields after `position` are absent from entries written before they
    existed, hence their defaults.
    """

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: str
    position: int
    session_id: str | None = None
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None
    request_id: str | None = None
    inscribed_at: float | None = None
    speaker_title: str | None = None


@event(EventType.SPEAKER_REMOVED)
@dataclass(frozen=True, slots=True)
class SpeakerRemoved(Payload):
    """A waiting request taken off the list (from `position`)."""

    entry_id: str
    delegation: str
    kind: str
    position: int


@event(EventType.SPEAKER_MOVED)
@dataclass(frozen=True, slots=True)
class SpeakerMoved(Payload):
    """A waiting request moved from one 0-based place to another (stored as `from`)."""

    entry_id: str
    from_position: int
    position: int

    def to_data(self) -> dict[str, Any]:
        """The stored form (`from` is the stored name of `from_position`)."""
        return {"entry_id": self.entry_id, "from": self.from_position, "position": self.position}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SpeakerMoved:
        """The payload of the stored form."""
        return cls(data["entry_id"], data["from"], data["position"])


@event(EventType.SPEAKER_FLOOR_GIVEN)
@dataclass(frozen=True, slots=True)
class SpeakerFloorGiven(Payload):
    """A waiting request got the floor (its clock starts at the event's instant)."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: str
    session_id: str
    limit_s: int
    requested_at: float
    out_of_turn: bool
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None
    item_id: str | None = None
    speaker_title: str | None = None


@event(EventType.SPEAKER_SPEECH_ENDED)
@dataclass(frozen=True, slots=True)
class SpeechEnded(Payload):
    """A speech ended: the record the minutes keep (`reason`: next, start, stop,
    session_closed)."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: str
    session_id: str | None
    started_at: float
    limit_s: int
    elapsed_s: float
    overran: bool
    reason: str
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None


@event(EventType.SPEAKER_OVERRAN)
@dataclass(frozen=True, slots=True)
class SpeakerOverran(Payload):
    """The speech in progress went over its limit (recorded once per speech)."""

    entry_id: str
    delegation: str
    kind: str
    limit_s: int
    elapsed_s: float
    overrun_s: float


@dataclass(frozen=True, slots=True)
class SpeechRestored:
    """A speech given the floor back (in speaker.undone's `floor`): its clock at `elapsed_s`,
    running from the undo's instant when `running`."""

    entry_id: str
    delegation: str
    speaker_name: str | None
    kind: str
    started_at: float
    limit_s: int
    elapsed_s: float
    running: bool
    overrun_recorded: bool
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None
    speaker_title: str | None = None


@event(EventType.SPEAKER_UNDONE)
@dataclass(frozen=True, slots=True)
class SpeakerUndone(Payload):
    """The room's newest change to its list taken back: `undone` (the command type that made
    it, at `undone_at`) about `entry_id`. An added entry leaves the queue; a moved one goes
    back to `position`; `requeued` (a removed entry, or the one given the floor) goes back
    to `position`; when `floor_changed`, `floor` has the floor again (None: nobody)."""

    undone: str
    undone_at: float
    entry_id: str
    delegation: str
    position: int | None
    requeued: Waiting | None
    floor: SpeechRestored | None
    floor_changed: bool
    order: list[str] | None = None  # an undone list.order: the queue's order before it

    def to_data(self) -> dict[str, Any]:
        """The stored form: `requeued` and `floor` as objects (`order` only when set)."""
        extra = {} if self.order is None else {"order": list(self.order)}
        return {**extra,
            "undone": self.undone,
            "undone_at": self.undone_at,
            "entry_id": self.entry_id,
            "delegation": self.delegation,
            "position": self.position,
            "requeued": record_data(self.requeued) if self.requeued else None,
            "floor": record_data(self.floor) if self.floor else None,
            "floor_changed": self.floor_changed,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SpeakerUndone:
        """The payload, its entry and speech typed."""
        requeued, floor = data["requeued"], data["floor"]
        return cls(
            undone=data["undone"],
            undone_at=data["undone_at"],
            entry_id=data["entry_id"],
            delegation=data["delegation"],
            position=data["position"],
            requeued=Waiting(**requeued) if requeued is not None else None,
            floor=SpeechRestored(**floor) if floor is not None else None,
            floor_changed=data["floor_changed"],
            order=data.get("order"),
        )


@event(EventType.TIMER_PAUSED)
@dataclass(frozen=True, slots=True)
class TimerPaused(Payload):
    """The speaking clock stopped after `elapsed_s` seconds."""

    entry_id: str
    elapsed_s: float


@event(EventType.TIMER_RESUMED)
@dataclass(frozen=True, slots=True)
class TimerResumed(Payload):
    """The speaking clock restarted at `elapsed_s` seconds."""

    entry_id: str
    elapsed_s: float


@event(EventType.TIMER_EXTENDED)
@dataclass(frozen=True, slots=True)
class TimerExtended(Payload):
    """The current speaker got `seconds` more: the new limit is `limit_s`."""

    entry_id: str
    seconds: int
    limit_s: int


@event(EventType.LIST_CLOSED)
@dataclass(frozen=True, slots=True)
class ListClosed(Payload):
    """The list closed to new speeches."""

    session_id: str | None


@event(EventType.LIST_REOPENED)
@dataclass(frozen=True, slots=True)
class ListReopened(Payload):
    """The list open again."""

    session_id: str | None


@event(EventType.LIST_ORDERED)
@dataclass(frozen=True, slots=True)
class ListOrdered(Payload):
    """A list put in an order (`by`: protocol): `order` its entry ids from the first,
    `previous` the order before; `session_id` a prepared list's sitting (None: the queue)."""

    by: str
    session_id: str | None
    order: list[str]
    previous: list[str]


@event(EventType.ITEM_STARTED)
@dataclass(frozen=True, slots=True)
class ItemStarted(Payload):
    """The sitting's current agenda item (None: none)."""

    session_id: str
    item_id: str | None


@event(EventType.REQUEST_SUBMITTED)
@dataclass(frozen=True, slots=True)
class RequestSubmitted(Payload):
    """A delegation asked for the floor in a sitting that takes requests with approval."""

    request_id: str
    delegation: str
    session_id: str
    kind: str
    speaker_name: str | None
    level: str | None
    language: str | None
    on_behalf_of: str | None
    speaker_title: str | None = None  # absent from entries written before it existed


@event(EventType.REQUEST_ACCEPTED)
@dataclass(frozen=True, slots=True)
class RequestAccepted(Payload):
    """The chair accepted a request: it becomes `entry_id` (the speaker.added that follows)."""

    request_id: str
    delegation: str
    entry_id: str


@event(EventType.REQUEST_DECLINED)
@dataclass(frozen=True, slots=True)
class RequestDeclined(Payload):
    """The chair declined a request, maybe saying why."""

    request_id: str
    delegation: str
    reason: dict[str, str] | None


@event(EventType.REQUEST_WITHDRAWN)
@dataclass(frozen=True, slots=True)
class RequestWithdrawn(Payload):
    """A delegation withdrew its pending request."""

    request_id: str
    delegation: str


# --- announcements (meeting-wide: `rooms` are the rooms whose state changes) ------------------


class Broadcast(Payload):
    """A meeting-wide payload: the rooms whose state it changes."""

    __slots__ = ()
    rooms: list[str]


@event(EventType.ANNOUNCEMENT_POSTED)
@dataclass(frozen=True, slots=True)
class AnnouncementPosted(Broadcast):
    """An announcement posted; `target` as sent ("*", a venue or room ids), `rooms` resolved."""

    id: str
    text: dict[str, str]
    level: str
    target: str | list[str]
    rooms: list[str]
    expires_at: float | None


@event(EventType.ANNOUNCEMENT_RETRACTED)
@dataclass(frozen=True, slots=True)
class AnnouncementRetracted(Broadcast):
    """An announcement withdrawn from `rooms`."""

    id: str
    rooms: list[str]


@event(EventType.ANNOUNCEMENT_EXPIRED)
@dataclass(frozen=True, slots=True)
class AnnouncementExpired(Broadcast):
    """An announcement past its expiry, gone from `rooms`."""

    id: str
    rooms: list[str]


# --- the podium monitor and the screens of the fleet -----------------------------------------


@event(EventType.PODIUM_MESSAGED)
@dataclass(frozen=True, slots=True)
class PodiumMessaged(Payload):
    """The chair's message to the speaker, shown on the podium monitor until cleared
    (`preset`: conclude, one_minute, time_up, or None for free text)."""

    text: dict[str, str]
    preset: str | None
    blink: bool


@event(EventType.PODIUM_CLEARED)
@dataclass(frozen=True, slots=True)
class PodiumCleared(Payload):
    """The podium monitor's message taken away."""


@event(EventType.SCREEN_DIRECTED)
@dataclass(frozen=True, slots=True)
class ScreenDirected(Broadcast):
    """The control room asked one page to act: `action` identify, reload, rename or set
    (with `name`, or `lang` and `room`); no room's state changes (`rooms` is empty)."""

    screen_id: str
    action: str
    name: str | None
    lang: str | None
    room: str | None
    rooms: list[str]
