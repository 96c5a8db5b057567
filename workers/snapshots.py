"""The snapshot worker: folds the stream and saves the state every N events
(`dashboard.store.snapshots` stores and loads it)."""

from __future__ import annotations

import logging
import time

from dashboard.store.meeting import Meeting
from dashboard.store.snapshots import load_snapshot, save_snapshot
from dashboard.store.turns import taking_turns

log = logging.getLogger(__name__)

GROUP = "snapshots"


class SnapshotWorker:
    """Folds the stream into a Meeting of its own; saves a snapshot every `every` events."""

    def __init__(self, meeting: Meeting, every: int) -> None:
        self.meeting = meeting
        self.every = every
        self.since = 0
        self.total = 0
        self.force = False
        self.started = False

    def start(self) -> None:
        """Load the stored snapshot (if sound) and fold the tail."""
        stored = load_snapshot(self.meeting.log, self.meeting.programme)
        has_blob = self.meeting.log.client.hexists(self.meeting.log.key("snapshot"), "blob")
        self.force = stored is None and bool(has_blob)  # replace an unusable one
        self.since = self.meeting.load(stored, pace=taking_turns)
        self.total = self.since
        self.started = True

    def handle_batch(self, entries: list[tuple[str, dict[bytes, bytes]]]) -> None:
        """A batch is folded as one: the handling of its last entry folds them all."""
        self.handle(*entries[-1])

    def handle(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        """Fold up to the head; save when `every` events have passed since the last save.

        Idempotent: an entry already folded adds nothing, and saving the same
        version twice stores the same snapshot.
        """
        if not self.started:
            self.start()
        folded = self.meeting.catch_up(pace=taking_turns)
        self.since += folded
        self.total += folded
        if self.since >= self.every:
            started = time.perf_counter()
            with self.meeting.lock:
                written = save_snapshot(self.meeting.log, self.meeting.state, self.total,
                                        self.force)
            self.force = False
            self.since = 0
            if written:
                log.info("snapshot saved at %s in %.0f ms", self.meeting.version,
                         (time.perf_counter() - started) * 1000)
