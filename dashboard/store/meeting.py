"""One meeting as this process sees it: the projected state and the command path."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from dashboard.domain import (
    DEFAULT_LIMITS,
    Audience,
    BaseCommand,
    CommandIdReused,
    Conflict,
    DomainError,
    Event,
    Limits,
    MeetingState,
    Programme,
    Role,
    apply,
    check_sender,
    decide,
    delegation_view,
    new_state,
    parse_command,
    room_view,
    touched_rooms,
)
from dashboard.domain.commands import Actor, RoomCommand
from dashboard.domain.events import AnnouncementPosted, RequestSubmitted, SpeakerAdded
from dashboard.store.admission import OPEN, Admission, Pass, Sender
from dashboard.store.eventlog import Appended, EventLog, id_key
from dashboard.store.snapshots import load_snapshot

log = logging.getLogger(__name__)

Listener = Callable[[set[str]], None]
# Told of each event folded while live (not of those replayed at load): directives.
EventListener = Callable[[Event], None]
# Wraps the events read for a load or catch-up (a worker's: `dashboard.store.turns.taking_turns`).
Pace = Callable[[Iterator[Event]], Iterable[Event]]

# How often a command is decided again when another writer appended first.
_MAX_ATTEMPTS = 20
# Each room's recent versions kept (the fleet's "behind"): at the commands' rate
# limit, well over the seconds after which a page showing an older one is behind.
RECENT_VERSIONS = 256
OVERVIEW = "*"  # the overview's versions: every room's changes


@dataclass(frozen=True)
class Internal:
    """A sender inside the service (the scheduler sends as `system`)."""

    role: str
    room: str = "*"
    generation: int = 0


SYSTEM = Internal(Role.SYSTEM)


class Meeting:
    """Holds the state folded from the stream and runs commands against it.

    The lock makes "catch up, decide, append, apply" one step in this process;
    the conditional append makes it one step across processes.
    """

    def __init__(self, programme: Programme, log_: EventLog,
                 admission: Admission | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
        self.programme = programme
        self.log = log_
        # None: commands are neither counted nor checked for revoked links (tools, tests)
        self.admission = admission
        self.limits = limits  # the bounds of the live state the rules are given
        self.state: MeetingState = new_state(programme)
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self.event_listeners: list[EventListener] = []
        self.on_append: Callable[[float], None] | None = None  # told each append's seconds
        # Told each valid command before it runs; each may refuse it with a DomainError
        # (what the state cannot know: where a page of the fleet may go).
        self.checks: list[Callable[[BaseCommand], None]] = []
        self.stream_healthy = True
        # True while the tail's events are folded (under the lock: no command of this
        # process can be told to the listeners meanwhile).
        self.reading_peers = False
        # Room (and OVERVIEW) -> the versions that changed it while live, oldest first.
        self.recent: dict[str, deque[str]] = {}

    @property
    def version(self) -> str:
        """Id of the last event folded into the state."""
        return str(self.state.version)

    def load(self, state: MeetingState | None = None, pace: Pace | None = None) -> int:
        """Start from a state (a snapshot, or the empty programme) and replay the rest."""
        with self.lock:
            if state is not None:
                self.state = state
            return self._ingest(self._unread(pace), notify=False)

    def catch_up(self, pace: Pace | None = None) -> int:
        """Fold in whatever the stream has beyond our version."""
        with self.lock:
            self._reload_if_rewound()
            return self._ingest(self._unread(pace))

    def _reload_if_rewound(self) -> bool:
        """Start again from the stream if it no longer holds the event our state ends at.

        A failover to a replica that had not received the newest events (never those
        of an acknowledged command, with PLENARY_MIN_REPLICAS) takes them out of the
        stream: a state that kept them would refuse every append as stale, and judge
        commands (a retry of the lost one, say) on events that are no longer there.
        """
        if self.log.holds(self.version):
            return False
        log.warning("the stream no longer holds %s (events lost in a failover); reloading",
                    self.version)
        rooms = set(self.state.rooms)
        self.recent.clear()
        self.state = load_snapshot(self.log, self.programme) or new_state(self.programme)
        self._ingest(self.log.read_all(self.version), notify=False)
        self._notify(rooms)
        return True

    def _unread(self, pace: Pace | None) -> Iterable[Event]:
        events = self.log.read_all(self.version)
        return pace(events) if pace else events

    def ingest(self, events: Iterable[Event]) -> int:
        """Fold in events read from the stream (the tail); ones already folded are skipped,
        so the listeners told meanwhile (`reading_peers`) hear of other writers' only."""
        with self.lock:
            self.reading_peers = True
            try:
                return self._ingest(events)
            finally:
                self.reading_peers = False

    def _ingest(self, events: Iterable[Event], notify: bool = True) -> int:
        rooms: set[str] = set()
        count = 0
        current = id_key(self.version)
        for event in events:
            assert event.id is not None
            key = id_key(event.id)
            if key <= current:
                continue
            try:
                if notify:
                    touched = touched_rooms(self.state, event)
                    rooms.update(touched)
                    for room in (*touched, OVERVIEW) if touched else ():
                        self._recent(room).append(event.id)
                apply(self.state, event)
            except Exception:
                # An entry this code cannot fold (written by hand, or by a newer
                # version) must not stop the screens: log it and step past it.
                log.exception("cannot fold event %s (%s); skipped", event.id, event.type)
                self.state.version = event.id
            current = key
            count += 1
            if notify and self.event_listeners:
                self._tell(event)
        if notify and rooms:
            self._notify(rooms)
        return count

    def _recent(self, room: str) -> deque[str]:
        versions = self.recent.get(room)
        if versions is None:
            versions = self.recent[room] = deque(maxlen=RECENT_VERSIONS)
        return versions

    def room_versions(self) -> dict[str, list[str]]:
        """Each room's versions since this process went live, oldest first, ending with
        its version now; under OVERVIEW every room's (the overview shows the newest).

        A page showing a version older than the room's has been behind since the
        first newer one: a room that changes every few seconds has a new version
        younger than any bound, its first version after the page's need not be.
        """
        with self.lock:
            out: dict[str, list[str]] = {}
            for room_id, room in self.state.rooms.items():
                out[room_id] = _ending_with(self.recent.get(room_id), room.version)
            newest = max((r.version for r in self.state.rooms.values()), key=id_key,
                         default="0-0")
            out[OVERVIEW] = _ending_with(self.recent.get(OVERVIEW), newest)
            return out

    def _tell(self, event: Event) -> None:
        for listener in self.event_listeners:
            try:
                listener(event)
            except Exception:  # a listener must never break the command path
                log.exception("event listener failed")

    def _notify(self, rooms: set[str]) -> None:
        for listener in self.listeners:
            try:
                listener(rooms)
            except Exception:  # a listener must never break the command path
                log.exception("state listener failed")

    def run(self, sender: Sender, body: dict[str, Any]) -> dict[str, Any]:
        """The one command path: may this sender send it, is it valid, execute, answer.

        HTTP and Socket.IO only parse the body and encode the answer or the
        DomainError raised here (Forbidden, Invalid, NotFound, Conflict, Stale).
        """
        ticket = OPEN if self.admission is None else self.admission.pass_for(sender)
        try:
            check_sender(sender.role, sender.room, body)
            command = parse_command(body)
            for check in self.checks:
                check(command)
        except DomainError:
            self._refused(ticket)
            raise
        return self.execute(command, sender, ticket)

    def _refused(self, ticket: Pass) -> None:
        """Count a command refused before its append (its link may be revoked or over its
        allowance: that answer comes first, as it would have for a valid command)."""
        if self.admission is not None:
            self.admission.check(ticket)

    def execute(self, command: BaseCommand, sender: Sender = SYSTEM,
                ticket: Pass | None = None) -> dict[str, Any]:
        """Run a command; answer {"version", "events", ...} or raise a DomainError.

        One round trip in the usual case: the state is kept current by the tail,
        so the append is tried at once; a `stale` answer means another writer got
        there first, and the command is decided again on the caught-up state.
        A client's command id may be a retry, answered as the first time: by the
        append itself (`dup`: it looks the id up first), or, when the command no
        longer applies to the state it changed, from the answer kept for its id.
        The answer is kept under the id scoped to its sender (`<role>:<room>:<id>`)
        with a hash of the body: another sender's id is a new id (no one is answered
        with another's events), and the same id with another body is refused.
        The append checks the sender's `ticket` (its link current, within its
        allowance; the sender's own by default) and counts the command once.
        """
        if ticket is None:
            ticket = OPEN if self.admission is None else self.admission.pass_for(sender)
        counted = False
        command_id = command.command_id or uuid.uuid4().hex
        key = f"{sender.role}:{sender.room}:{command_id}"
        body_hash = hash_of(command)
        with self.lock:
            for _ in range(_MAX_ATTEMPTS):
                try:
                    events = decide(self.state, command, time.time(), self.limits,
                                    Actor(sender.role, sender.room))
                except DomainError:
                    # Refused on what this node knows: make sure it knows everything
                    # (a client may have seen a newer version on another node), and
                    # nothing a failover took out of the stream.
                    if self._reload_if_rewound() or self._ingest(
                            self.log.read_all(self.version)):
                        continue
                    # The same command, sent at once to another node, may be what
                    # changed the state: then it is answered, not refused.
                    if not counted:
                        self._refused(ticket)
                    first = (self.log.answer_of(key, body_hash, command.command_id)
                             if command.command_id else None)
                    if first is not None:
                        return self._repeated(command, first)
                    raise
                began = time.perf_counter()
                done = self.log.append(events, self.version, command_id, key, body_hash,
                                       ticket, count=not counted)
                counted = True
                if self.on_append is not None:
                    self.on_append(time.perf_counter() - began)
                if done.status == "stale":
                    self._reload_if_rewound()
                    self._ingest(self.log.read_all(self.version))
                    continue
                if done.status in ("dup", "reused", "legacy"):
                    return self._repeated(command, done)
                appended = [e.with_id(i) for e, i in zip(events, done.ids, strict=True)]
                self._ingest(appended)
                return self._answer(command, done.first, done.last, events=appended)
        raise Conflict("the meeting is too busy; try again")

    def _repeated(self, command: BaseCommand, first: Appended) -> dict[str, Any]:
        """The first answer to a retried command; refused when the id was used for another body.

        Release 0.1.0 kept an answer under the bare id, with no sender or body to match:
        it is this command's when its events are all of this command's room (or, for a
        meeting-wide command, of none), as a retry sent across an upgrade is; else the id
        is taken. Either way nothing is appended again.
        """
        if first.status == "legacy":
            room = command.room if isinstance(command, RoomCommand) else None
            events = (self.log.read_range(first.first, first.last)
                      if first.first and first.last else [])
            if not events or any(e.room != room for e in events):
                first = Appended("reused")
        if first.status == "reused":
            raise CommandIdReused(
                f"command_id {command.command_id!r} was already used for another command; "
                "use a new id for a new command")
        return self._answer(command, first.first, first.last, retried=True)

    def _answer(
        self,
        command: BaseCommand,
        first: str | None,
        last: str | None,
        *,
        events: list[Event] | None = None,
        retried: bool = False,
    ) -> dict[str, Any]:
        if events is None:
            assert first and last
            events = self.log.read_range(first, last)
            with self.lock:  # the caller may read the state right after the answer
                self._ingest(self.log.read_all(self.version))
        answer: dict[str, Any] = {
            "version": last,
            "events": [e.to_dict() for e in events],
        }
        for e in events:
            if isinstance(e.data, AnnouncementPosted):
                answer["id"] = e.data.id
            elif isinstance(e.data, SpeakerAdded):
                answer["entry_id"] = e.data.entry_id
            elif isinstance(e.data, RequestSubmitted):
                answer["request_id"] = e.data.request_id
        if retried:
            answer["retried"] = True
        return answer

    def view(self, room_id: str, audience: Audience = Audience.SCREEN) -> dict[str, Any]:
        """The RoomState of one room now, as `audience` receives it."""
        with self.lock:
            return room_view(self.state, room_id, time.time(), audience)

    def views(self, audience: Audience = Audience.SCREEN) -> list[dict[str, Any]]:
        """The RoomState of every room now, as `audience` receives it."""
        with self.lock:
            now = time.time()
            return [room_view(self.state, r.id, now, audience) for r in self.programme.rooms]

    def delegation(self, code: str) -> dict[str, Any]:
        """One delegation's own entries, pending and declined requests now."""
        with self.lock:
            return delegation_view(self.state, code, time.time())


def hash_of(command: BaseCommand) -> str:
    """A hash of the command as validated, its `command_id` aside: a retry's is the same.

    Of its JSON compact, keys sorted, UTF-8: the bytes of `json.dumps(body,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, as earlier releases
    hashed, so that the answers they kept still match a retry.
    """
    body = command.model_dump(mode="json")
    body.pop("command_id", None)  # cheaper than pydantic's `exclude`, the same dict
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _ending_with(versions: Iterable[str] | None, now: str) -> list[str]:
    """The versions kept, ending with the version now (a state loaded, not lived, has
    only that one)."""
    listed = list(versions or ())
    if not listed or listed[-1] != now:
        listed.append(now)
    return listed
