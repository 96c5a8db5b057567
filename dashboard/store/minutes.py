"""The record of speeches kept in Redis (the minutes worker writes it; anyone reads it).

The projection is the pure fold of `dashboard.domain.minutes`, stored in
three keys written together by one Lua script: the finished speeches, one
JSON row each, in the list `<tag>:minutes:speeches` (a save appends the new
ones: a day's record is not written again every second); the rest of the
fold (speeches in progress, waiting requests, sittings) as one small JSON
value at `<tag>:minutes`; and its cursor (the id of the last event folded)
at `<tag>:minutes:cursor`. The script refuses the write if the cursor or the
list's length moved meanwhile (another minutes worker got there first).
Handling an entry means "make sure the stored record includes it": if the
stored cursor is already at or past the entry, nothing happens; else every
event from the cursor to the stream's head is folded and saved. So handling
twice gives the same record, consumers may take entries in any order, and a
crash between the save and the XACK only costs a no-op repeat. A stored
record that cannot be read (or whose parts disagree) is rebuilt from the
stream and replaces it whole.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from dashboard.domain import Event, Programme, load_programme
from dashboard.domain.minutes import CSV_COLUMNS, MinutesRecord, fold, report, to_csv_rows
from dashboard.domain.programme import default_programme_path
from dashboard.store.eventlog import EventLog, connect, id_key
from dashboard.store.turns import taking_turns

log = logging.getLogger(__name__)

# KEYS: head, cursor, speeches.  ARGV: the cursor the record was built on, the number of
# speeches stored then ("replace": the stored record is unusable), the new cursor, the
# head, then the speeches finished since, one JSON row each.
_SAVE = """
local current = redis.call('GET', KEYS[2]) or '0-0'
if current ~= ARGV[1] then return current end
if ARGV[2] == 'replace' then
  redis.call('DEL', KEYS[3])
elseif redis.call('LLEN', KEYS[3]) ~= tonumber(ARGV[2]) then
  return current
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[3])
for i = 5, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 'ok'
"""


@dataclass
class Stored:
    """The record as read from Redis, and what the next save must build on."""

    record: MinutesRecord
    cursor: str  # the stored cursor ("0-0": none)
    speeches: int | None  # speeches in the stored list; None: unusable, to be replaced


def fold_tail(log_: EventLog, record: MinutesRecord, batch: int = 5000) -> int:
    """Fold every event after the record's cursor (an entry that is not an event is read
    as an "invalid" one, which the fold steps over; its own delivery parks it)."""
    count = 0
    while True:
        events = log_.read(record.cursor, batch)
        for event in taking_turns(events):
            fold(record, event)
        count += len(events)
        if len(events) < batch:
            return count


class MinutesProjection:
    """The record kept in Redis; `handle` is the consumer's handler (idempotent)."""

    def __init__(self, log_: EventLog) -> None:
        self.log = log_
        self.client = log_.client
        self.keys = minutes_keys(log_)
        self._save = self.client.register_script(_SAVE)
        self.stored = Stored(MinutesRecord(), "0-0", 0)

    @property
    def record(self) -> MinutesRecord:
        return self.stored.record

    def reload(self) -> None:
        """Take the stored record as ours (after another worker wrote, or on start)."""
        self.stored = read_stored(self.log)

    def handle_batch(self, entries: list[tuple[str, dict[bytes, bytes]]]) -> None:
        """Make sure the stored record includes every entry: one fold, one save."""
        for entry_id, fields in taking_turns(entries):
            Event.from_fields(fields, entry_id)  # a poison entry fails the batch
        last_id, last_fields = max(entries, key=lambda entry: id_key(entry[0]))
        self.handle(last_id, last_fields)

    def handle(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        """Make sure the stored record includes this entry (raises if the entry is malformed)."""
        Event.from_fields(fields, entry_id)  # a poison entry fails here, every time
        for _ in range(10):
            stored = self.client.get(self.keys.cursor)
            stored_id = stored.decode() if stored else "0-0"
            if id_key(stored_id) >= id_key(entry_id):
                return
            moved = stored_id != self.stored.cursor  # another worker saved
            # folded past the stored record by a save that failed (not when replacing it)
            unsaved = self.stored.speeches is not None and self.record.cursor != stored_id
            if moved or unsaved:
                self.reload()
            fold_tail(self.log, self.record)
            if self._save_record():
                return
            self.reload()  # another minutes worker saved first: start from its record
        raise RuntimeError("the minutes record keeps moving; will retry")

    def _save_record(self) -> bool:
        """Save the fold as the next step of the stored one; False if that one moved."""
        record, stored = self.record, self.stored
        new = record.speeches[stored.speeches or 0:]
        answer = self._save(
            keys=list(self.keys),
            args=[stored.cursor, "replace" if stored.speeches is None else stored.speeches,
                  record.cursor, dump_head(record), *map(orjson.dumps, new)],
        )
        if answer != b"ok":
            return False
        self.stored = Stored(record, record.cursor, len(record.speeches))
        return True


class Keys(NamedTuple):
    """The keys of the stored record."""

    head: str
    cursor: str
    speeches: str


def minutes_keys(log_: EventLog) -> Keys:
    return Keys(log_.key("minutes"), log_.key("minutes:cursor"), log_.key("minutes:speeches"))


def dump_head(record: MinutesRecord) -> bytes:
    """The stored JSON form of the fold, with the number of its finished speeches in
    place of them (orjson: fast, and the head is saved while the web node serves)."""
    return orjson.dumps({**record.to_dict(), "speeches": len(record.speeches)})


def read_stored(log_: EventLog) -> Stored:
    """The stored record, read in one step; a fresh one to replace it when it cannot be
    used (unreadable, or its parts disagree), a fresh one to start with when there is none."""
    keys = minutes_keys(log_)
    pipe = log_.client.pipeline(transaction=True)
    pipe.get(keys.head)
    pipe.get(keys.cursor)
    pipe.lrange(keys.speeches, 0, -1)
    head, raw_cursor, rows = pipe.execute()
    cursor = raw_cursor.decode() if raw_cursor else "0-0"
    if not head and not rows and cursor == "0-0":
        return Stored(MinutesRecord(), cursor, 0)
    try:
        data = orjson.loads(head)
        if data["speeches"] != len(rows):  # never: all are written together
            raise ValueError(f"{len(rows)} speeches stored, the head says {data['speeches']}")
        speeches = [orjson.loads(row) for row in taking_turns(rows)]
        record = MinutesRecord.from_dict({**data, "speeches": speeches})
        if record.cursor != cursor:  # never, as well
            raise ValueError(f"its cursor {record.cursor} is not the stored {cursor}")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("minutes: stored record unusable (%s); rebuilding from the stream", exc)
        return Stored(MinutesRecord(), cursor, None)
    return Stored(record, cursor, len(rows))


def current_minutes(
    log_: EventLog, programme: Programme, now: float | None = None
) -> dict[str, Any]:
    """The record up to the stream's head: the stored fold plus the events it has not seen yet."""
    record = read_stored(log_).record
    fold_tail(log_, record)
    return report(record, programme, now if now is not None else time.time())


# A spreadsheet reads a cell starting with one of these as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell: texts that a spreadsheet would run as a formula are prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def as_csv(minutes: dict[str, Any], programme: Programme) -> str:
    """The record as CSV: one row per speech and per request never served; local ISO times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(CSV_COLUMNS)
    writer.writerow([*columns, "delegation_name_es", "delegation_name_en",
                     "item_title_es", "item_title_en"])
    names = programme.delegations_by_code
    sittings = programme.sessions_by_id
    for row in to_csv_rows(minutes):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if column.endswith("_at") and isinstance(value, int | float):
                value = datetime.fromtimestamp(value, programme.tz).isoformat(timespec="seconds")
            cells.append(_cell(value))
        delegation = names.get(row[columns.index("delegation")] or "")
        cells += [delegation.name.es, delegation.name.en] if delegation else ["", ""]
        # The agenda item's title, so that a spreadsheet sorts or filters by it as read.
        sitting = sittings.get(row[columns.index("session_id")] or "")
        item_id = row[columns.index("item_id")]
        item = sitting.items_by_id.get(item_id) if sitting is not None and item_id else None
        cells += [_cell(item.title.es), _cell(item.title.en)] if item else ["", ""]
        writer.writerow(cells)
    return out.getvalue()


def export(settings: Any, fmt: str) -> str:
    """`plenary export`: the record as CSV or JSON text."""
    programme = load_programme(settings.programme or default_programme_path())
    client = connect(settings.redis_url, timeout=10)
    try:
        minutes = current_minutes(EventLog(client, programme.meeting.id, settings.key_prefix),
                                  programme)
    finally:
        client.close()
    if fmt == "json":
        return json.dumps(minutes, ensure_ascii=False, indent=1) + "\n"
    return as_csv(minutes, programme)
