"""The stored snapshot: the projected state at a version, so a starting node replays only
the tail.

Stored at `<tag>:snapshot` as a hash {version, blob}: the blob (see
`dashboard.domain.snapshot.pack`) carries the version, the programme's hash,
a checksum and the state. A Lua script writes it only when it is newer than
the stored one, so two snapshot writers never move it back. `load_snapshot`
returns the state only if it is sound: readable, checksum right, same
programme, and its version an id present in the stream (not a stream that
was reset, not newer than the stream); otherwise it logs why and the caller
replays the whole stream.
"""

from __future__ import annotations

import logging

from dashboard.domain import MeetingState, Programme
from dashboard.domain.snapshot import SnapshotError, pack, unpack
from dashboard.store.eventlog import EventLog

log = logging.getLogger(__name__)

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
