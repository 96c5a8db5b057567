"""The minutes worker: keeps the record of speeches in Redis, and exports it.

The projection is the pure fold of `dashboard.domain.minutes`, stored as one
JSON value at `<tag>:minutes` together with its cursor (the id of the last
event folded) at `<tag>:minutes:cursor`, both written by one Lua script that
refuses the write if the cursor moved meanwhile (another minutes worker got
there first). Handling an entry means "make sure the stored record includes
it": if the stored cursor is already at or past the entry, nothing happens;
else every event from the cursor to the stream's head is folded and saved.
So handling twice gives the same record, consumers may take entries in any
order, and a crash between the save and the XACK only costs a no-op repeat.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from datetime import datetime
from typing import Any

import orjson
import redis

from dashboard.domain import Event, Programme
from dashboard.domain.minutes import CSV_COLUMNS, MinutesRecord, fold, report, to_csv_rows
from dashboard.eventlog import EventLog, id_key
from workers.consumer import taking_turns

log = logging.getLogger(__name__)

GROUP = "minutes"

# KEYS: record, cursor.  ARGV: the cursor the record was built on, the new cursor, the record.
_SAVE = """
local current = redis.call('GET', KEYS[2]) or '0-0'
if current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 'ok'
"""


def fold_tail(client: redis.Redis, stream: str, record: MinutesRecord, batch: int = 5000) -> int:
    """Fold every event after the record's cursor; malformed entries are stepped over."""
    count = 0
    while True:
        entries = client.xrange(stream, min=f"({record.cursor}", max="+", count=batch)
        for raw_id, fields in taking_turns(entries):
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            try:
                event = Event.from_fields(fields, entry_id)
            except (KeyError, ValueError, TypeError):
                # Its own delivery fails and parks it in the dead-letter stream.
                log.warning("minutes: entry %s is malformed; not in the record", entry_id)
                record.cursor = entry_id
                continue
            fold(record, event)
            count += 1
        if len(entries) < batch:
            return count


class MinutesProjection:
    """The record kept in Redis; `handle` is the consumer's handler (idempotent)."""

    def __init__(self, log_: EventLog) -> None:
        self.log = log_
        self.client = log_.client
        self.key = log_.key("minutes")
        self.cursor_key = log_.key("minutes:cursor")
        self._save = self.client.register_script(_SAVE)
        self.record = MinutesRecord()
        self.saved = "0-0"

    def reload(self) -> None:
        """Take the stored record as ours (after another worker wrote, or on start)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self.key)
        pipe.get(self.cursor_key)
        raw, cursor = pipe.execute()
        self.record = load_record(raw)
        self.saved = cursor.decode() if cursor else "0-0"
        if self.record.cursor != self.saved:  # never: both are written together
            log.warning("minutes: stored record and cursor disagree; rebuilding from the stream")
            self.record, self.saved = MinutesRecord(), "0-0"

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
            stored = self.client.get(self.cursor_key)
            stored_id = stored.decode() if stored else "0-0"
            if id_key(stored_id) >= id_key(entry_id):
                return
            if stored_id != self.saved or self.record.cursor != self.saved:
                self.reload()
            fold_tail(self.client, self.log.stream, self.record)
            answer = self._save(
                keys=[self.key, self.cursor_key],
                args=[self.saved, self.record.cursor, dump_record(self.record)],
            )
            if answer == b"ok":
                self.saved = self.record.cursor
                return
            self.reload()  # another minutes worker saved first: start from its record
        raise RuntimeError("the minutes record keeps moving; will retry")


def dump_record(record: MinutesRecord) -> bytes:
    """The stored JSON form of the fold (orjson: ~100x faster than json on a day's record,
    which is saved while the web node serves)."""
    return orjson.dumps(record.to_dict())


def load_record(raw: bytes | str | None) -> MinutesRecord:
    """The fold stored by the worker (a fresh one when none or unreadable)."""
    if not raw:
        return MinutesRecord()
    try:
        return MinutesRecord.from_dict(orjson.loads(raw))
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("minutes: stored record unreadable (%s); rebuilding from the stream", exc)
        return MinutesRecord()


def current_minutes(
    log_: EventLog, programme: Programme, now: float | None = None
) -> dict[str, Any]:
    """The record up to the stream's head: the stored fold plus the events it has not seen yet."""
    record = load_record(log_.client.get(log_.key("minutes")))
    fold_tail(log_.client, log_.stream, record)
    return report(record, programme, now if now is not None else time.time())


def as_csv(minutes: dict[str, Any], programme: Programme) -> str:
    """The record as CSV: one row per speech and per request never served; local ISO times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(CSV_COLUMNS)
    writer.writerow([*columns, "delegation_name_es", "delegation_name_en"])
    names = programme.delegations_by_code
    for row in to_csv_rows(minutes):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if column.endswith("_at") and isinstance(value, int | float):
                value = datetime.fromtimestamp(value, programme.tz).isoformat(timespec="seconds")
            cells.append("" if value is None else value)
        delegation = names.get(row[columns.index("delegation")] or "")
        cells += [delegation.name.es, delegation.name.en] if delegation else ["", ""]
        writer.writerow(cells)
    return out.getvalue()


def export(settings: Any, fmt: str) -> str:
    """`plenary export`: the record as CSV or JSON text."""
    from dashboard.domain import load_programme
    from dashboard.domain.programme import default_programme_path
    from dashboard.eventlog import connect

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
