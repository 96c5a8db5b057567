"""Snapshots: the projected state saved every N events, so a starting node replays only the tail.

Stored at `<tag>:snapshot` as a hash {version, blob}: the blob (see
`dashboard.domain.snapshot.pack`) carries the version, the programme's hash,
a checksum and the state. A Lua script writes it only when it is newer than
the stored one, so two snapshot workers never move it back. At start,
`load_snapshot` returns the state only if it is sound: readable, checksum
right, same programme, and its version an id present in the stream (not a
stream that was reset, not newer than the stream); otherwise it logs why
and the caller replays the whole stream.
"""

from __future__ import annotations

import logging
import time

from dashboard.domain import MeetingState, Programme
from dashboard.domain.snapshot import SnapshotError, pack, unpack
from dashboard.eventlog import EventLog
from dashboard.meeting import Meeting
from workers.consumer import taking_turns

log = logging.getLogger(__name__)

GROUP = "snapshots"

# KEYS: snapshot.  ARGV: version, blob, force ("1": overwrite whatever is there).
_SAVE = """
local old = redis.call('HGET', KEYS[1], 'version')
if old and ARGV[3] ~= '1' then
  local oms, oseq = string.match(old, '^(%d+)-(%d+)$')
  local nms, nseq = string.match(ARGV[1], '^(%d+)-(%d+)$')
  if oms and nms then
    oms, oseq, nms, nseq = tonumber(oms), tonumber(oseq), tonumber(nms), tonumber(nseq)
    if oms > nms or (oms == nms and oseq >= nseq) then return 0 end
  end
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'blob', ARGV[2])
return 1
"""


def load_snapshot(log_: EventLog, programme: Programme) -> MeetingState | None:
    """The stored snapshot's state if it matches the stream and programme, else None (logged)."""
    raw = log_.client.hget(log_.key("snapshot"), "blob")
    if raw is None:
        return None
    try:
        state, header = unpack(raw, programme)
    except SnapshotError as exc:
        log.warning("snapshot ignored, replaying the whole stream: %s", exc)
        return None
    if state.version == "0-0":
        return None
    if not log_.client.xrange(log_.stream, min=state.version, max=state.version, count=1):
        log.warning("snapshot ignored, replaying the whole stream: its version %s is not in "
                    "the stream (reset, or newer than the stream)", state.version)
        return None
    log.info("snapshot at %s (%s events) loaded", state.version, header.get("events"))
    return state


def save_snapshot(
    log_: EventLog, state: MeetingState, events: int = 0, force: bool = False
) -> bool:
    """Store the state as the snapshot unless a newer one is there; True if written."""
    script = log_.client.register_script(_SAVE)
    written = script(keys=[log_.key("snapshot")],
                     args=[state.version, pack(state, events), "1" if force else "0"])
    return bool(written)


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
