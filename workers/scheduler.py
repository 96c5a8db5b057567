"""The scheduler: the events that time causes, sent through the same command path as people's.

About once a second it folds the stream and sends, for each fact that is
due, a command with a command id made from the fact itself:

- `expire:<announcement id>`   an announcement past its expires_at is expired;
- `notice:<notice id>`         a programme notice is posted at its time (only within
                               `grace_s` after it: a replayed old meeting posts nothing);
- `start-due:<sitting id>`     a sitting whose scheduled start has come is signalled
                               to its room (while it is still scheduled, before its end);
- `overrun:<entry id>`         a speech past its limit records an overrun, once.

Exactly once with any number of schedulers: the event log's append script
answers a command id it has seen with its first answer and appends nothing,
and the domain refuses a second expiry, overrun or start signal (Conflict),
which is the normal answer for a fact another scheduler handled first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from dashboard.domain import DomainError, SessionStatus
from dashboard.domain.state import AnnouncementStatus
from dashboard.store.meeting import SYSTEM, Meeting

log = logging.getLogger(__name__)


class Scheduler:
    """Sends the commands that time makes due."""

    def __init__(
        self,
        meeting: Meeting,
        *,
        grace_s: float = 600.0,
        tick_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        on_beat: Callable[[], None] | None = None,
    ) -> None:
        self.meeting = meeting
        self.grace_s, self.tick_s, self.clock, self.on_beat = grace_s, tick_s, clock, on_beat
        self.done: set[str] = set()  # command ids answered (by us or another scheduler)
        self.sent: list[str] = []  # command ids this scheduler appended
        self._stop = threading.Event()

    def due(self, now: float) -> list[dict[str, Any]]:
        """The commands due at `now` (bodies with their command ids), from the folded state."""
        state, programme = self.meeting.state, self.meeting.programme
        bodies: list[dict[str, Any]] = []
        for a in state.announcements.values():
            if a.status is AnnouncementStatus.ACTIVE and a.expires_at is not None \
                    and a.expires_at <= now:
                bodies.append({"type": "announcement.expire", "id": a.id,
                               "command_id": f"expire:{a.id}"})
        for notice in programme.timed_notices():
            expires = notice["expires_at"]
            if notice["at"] <= now < notice["at"] + self.grace_s and (
                expires is None or expires > now
            ):
                bodies.append({
                    "type": "announcement.post", "text": notice["text"],
                    "level": notice["level"], "rooms": notice["rooms"],
                    "expires_at": expires, "command_id": f"notice:{notice['id']}",
                })
        for sitting in programme.sessions:
            live = state.sessions.get(sitting.id)
            if live is None or live.status is not SessionStatus.SCHEDULED or live.start_due:
                continue
            if programme.instant(sitting.start) <= now < programme.instant(sitting.end):
                bodies.append({"type": "session.signal_start_due", "room": sitting.room,
                               "session_id": sitting.id,
                               "command_id": f"start-due:{sitting.id}"})
        for room in state.rooms.values():
            speech = room.current
            if speech is not None and not speech.overrun_recorded and speech.remaining(now) < 0:
                bodies.append({"type": "speaker.record_overrun", "room": room.id,
                               "entry_id": speech.entry_id,
                               "command_id": f"overrun:{speech.entry_id}"})
        return [b for b in bodies if b["command_id"] not in self.done]

    def tick(self) -> int:
        """Fold the stream, send what is due; the number of events this tick appended."""
        self.meeting.catch_up()
        appended = 0
        for body in self.due(self.clock()):
            command_id = body["command_id"]
            try:
                answer = self.meeting.run(SYSTEM, body)
            except DomainError as exc:
                # Already done (by another scheduler, or a person) or no longer due.
                log.debug("scheduler: %s not sent: %s", command_id, exc)
                self.done.add(command_id)
                continue
            self.done.add(command_id)
            if not answer.get("retried"):
                self.sent.append(command_id)
                appended += len(answer["events"])
                log.info("scheduler: %s -> %s", command_id, answer["version"])
        return appended

    def run(self) -> None:
        """Tick until stop(); a failed tick (Redis away) is logged and retried next tick."""
        log.info("scheduler running (grace %.0f s)", self.grace_s)
        failing = False
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
                if failing:
                    log.info("scheduler: ticking again")
                failing = False
            except Exception as exc:
                if self._stop.is_set():  # the service is stopping: its Redis may go first
                    break
                if not failing:
                    log.warning("scheduler: tick failed (%s); retrying", exc)
                failing = True
            if self.on_beat:
                self.on_beat()
            self._stop.wait(max(0.05, self.tick_s - (time.monotonic() - started)))

    def stop(self) -> None:
        """Ask the loop to end after its current tick."""
        self._stop.set()
