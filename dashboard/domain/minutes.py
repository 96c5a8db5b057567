"""The minutes: a pure fold of the meeting's events into the record of who spoke, when, how long.

`fold(record, event)` is total over well-formed events (unknown types and
references are ignored), so a projection built with it never stops on one
odd entry; `report(record)` gives the record with its totals, JSON-ready;
`to_csv_rows(report)` the flat form of the export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .events import (
    EVENTS,
    Event,
    EventType,
    Payload,
    SessionClosed,
    SessionOpened,
    SpeakerAdded,
    SpeakerFloorGiven,
    SpeakerOverran,
    SpeakerRemoved,
    SpeakerUndone,
    SpeechEnded,
    TimerExtended,
    TimerResumed,
)
from .programme import Programme

__all__ = [
    "CSV_COLUMNS",
    "FOLDS",
    "IGNORED",
    "MinutesRecord",
    "OpenSpeech",
    "fold",
    "fold_all",
    "report",
    "to_csv_rows",
]


@dataclass
class OpenSpeech:
    """A speech that has the floor: its start and the pauses of its clock so far."""

    entry_id: str
    room: str
    session_id: str | None
    delegation: str
    speaker_name: str | None
    kind: str
    requested_at: float | None
    floor_given_at: float
    limit_s: int
    out_of_turn: bool = False
    pauses: int = 0
    paused_s: float = 0.0
    paused_since: float | None = None
    overrun_recorded_at: float | None = None
    item_id: str | None = None  # the sitting's agenda item when the floor was given
    level: str | None = None
    language: str | None = None
    on_behalf_of: str | None = None


@dataclass
class MinutesRecord:
    """What the fold keeps: waiting requests, speeches in progress, finished speeches, sittings."""

    cursor: str = "0-0"
    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)
    speaking: dict[str, OpenSpeech] = field(default_factory=dict)  # by room
    speeches: list[dict[str, Any]] = field(default_factory=list)
    unserved: list[dict[str, Any]] = field(default_factory=list)
    sittings: dict[str, dict[str, Any]] = field(default_factory=dict)
    room_sitting: dict[str, str] = field(default_factory=dict)
    last_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for storage); it shares the record's lists and dicts, which
        hold plain data only, so that a save does not copy a whole day's speeches."""
        return {
            "cursor": self.cursor,
            "waiting": self.waiting,
            "speaking": {room: asdict(speech) for room, speech in self.speaking.items()},
            "speeches": self.speeches,
            "unserved": self.unserved,
            "sittings": self.sittings,
            "room_sitting": self.room_sitting,
            "last_at": self.last_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MinutesRecord:
        """Rebuild a record stored with `to_dict`."""
        values = dict(data)
        values["speaking"] = {
            room: OpenSpeech(**speech) for room, speech in data.get("speaking", {}).items()
        }
        return cls(**values)


def _end_pause(speech: OpenSpeech, at: float) -> None:
    if speech.paused_since is not None:
        speech.paused_s += max(0.0, at - speech.paused_since)
        speech.paused_since = None


def _start_pause(speech: OpenSpeech, at: float) -> None:
    if speech.paused_since is None:
        speech.pauses += 1
        speech.paused_since = at


def _finish(record: MinutesRecord, speech: OpenSpeech, at: float, data: SpeechEnded | None,
            ) -> None:
    """End a speech: by its speech_ended record, or (data None) by a close that came first."""
    _end_pause(speech, at)
    if data is not None:
        limit, spoken, reason = data.limit_s, data.elapsed_s, data.reason
    else:
        limit, reason = speech.limit_s, None
        spoken = max(0.0, at - speech.floor_given_at - speech.paused_s)
    record.speeches.append(_speech_row(speech, reason, at, limit, spoken, speech.paused_s))


def _speech_row(speech: OpenSpeech, end_reason: str | None, ended_at: float | None,
                limit: int, spoken: float, paused: float) -> dict[str, Any]:
    """One line of the record of speeches."""
    return {
        "room": speech.room,
        "session_id": speech.session_id,
        "entry_id": speech.entry_id,
        "delegation": speech.delegation,
        "speaker_name": speech.speaker_name,
        "kind": speech.kind,
        "requested_at": speech.requested_at,
        "floor_given_at": speech.floor_given_at,
        "ended_at": ended_at,
        "end_reason": end_reason,
        "limit_s": limit,
        "spoken_s": round(spoken, 3),
        "overrun_s": round(max(0.0, spoken - limit), 3),
        "pauses": speech.pauses,
        "paused_s": round(paused, 3),
        "out_of_turn": speech.out_of_turn,
        "item_id": speech.item_id,
        "level": speech.level,
        "language": speech.language,
        "on_behalf_of": speech.on_behalf_of,
    }


def _not_served(record: MinutesRecord, room: str, request: dict[str, Any], at: float,
                reason: str) -> None:
    record.unserved.append(
        {
            "room": room,
            "session_id": request.get("session_id") or record.room_sitting.get(room),
            "entry_id": request["entry_id"],
            "delegation": request.get("delegation"),
            "speaker_name": request.get("speaker_name"),
            "kind": request.get("kind", "speech"),
            "requested_at": request.get("requested_at"),
            "dropped_at": at,
            "reason": reason,
        }
    )


def _opened(record: MinutesRecord, room: str, data: SessionOpened, event: Event) -> None:
    record.room_sitting[room] = data.session_id
    sitting = record.sittings.setdefault(data.session_id, {"id": data.session_id, "room": room})
    sitting["opened_at"] = event.at


def _pause(record: MinutesRecord, room: str, data: Payload, event: Event) -> None:
    speech = record.speaking.get(room)
    if speech is not None:
        _start_pause(speech, event.at)


def _closed(record: MinutesRecord, room: str, data: SessionClosed, event: Event) -> None:
    session_id = data.session_id
    sitting = record.sittings.setdefault(session_id, {"id": session_id, "room": room})
    sitting["closed_at"] = event.at
    for dropped in data.dropped:
        request = record.waiting.pop(dropped.entry_id, None) or {
            "entry_id": dropped.entry_id,
            "delegation": dropped.delegation,
            "speaker_name": dropped.speaker_name,
            "kind": dropped.kind,
            "requested_at": dropped.requested_at,
        }
        request.setdefault("session_id", session_id)
        _not_served(record, room, request, event.at, "sitting_closed")
    speech = record.speaking.pop(room, None)
    if speech is not None:  # still speaking: no speech_ended came before the close
        _finish(record, speech, event.at, None)
    if record.room_sitting.get(room) == session_id:
        del record.room_sitting[room]


def _added(record: MinutesRecord, room: str, data: SpeakerAdded, event: Event) -> None:
    record.waiting[data.entry_id] = {
        "entry_id": data.entry_id,
        "room": room,
        "session_id": data.session_id or record.room_sitting.get(room),
        "delegation": data.delegation,
        "speaker_name": data.speaker_name,
        "kind": data.kind,
        "requested_at": data.inscribed_at if data.inscribed_at is not None else event.at,
    }


def _removed(record: MinutesRecord, room: str, data: SpeakerRemoved, event: Event) -> None:
    removed = record.waiting.pop(data.entry_id, None)
    if removed is not None:
        _not_served(record, room, removed, event.at, "removed")


def _floor_given(record: MinutesRecord, room: str, data: SpeakerFloorGiven, event: Event) -> None:
    record.waiting.pop(data.entry_id, None)
    record.speaking[room] = OpenSpeech(
        entry_id=data.entry_id,
        room=room,
        session_id=data.session_id,
        delegation=data.delegation,
        speaker_name=data.speaker_name,
        kind=data.kind,
        requested_at=data.requested_at,
        floor_given_at=event.at,
        limit_s=data.limit_s,
        out_of_turn=data.out_of_turn,
        item_id=data.item_id,
        level=data.level,
        language=data.language,
        on_behalf_of=data.on_behalf_of,
    )


def _speech_ended(record: MinutesRecord, room: str, data: SpeechEnded, event: Event) -> None:
    speech = record.speaking.get(room)
    if speech is not None and speech.entry_id == data.entry_id:
        del record.speaking[room]
        _finish(record, speech, event.at, data)


def _resumed(record: MinutesRecord, room: str, data: TimerResumed, event: Event) -> None:
    speech = record.speaking.get(room)
    if speech is not None:
        _end_pause(speech, event.at)


def _extended(record: MinutesRecord, room: str, data: TimerExtended, event: Event) -> None:
    speech = record.speaking.get(room)
    if speech is not None:
        speech.limit_s = data.limit_s


def _overran(record: MinutesRecord, room: str, data: SpeakerOverran, event: Event) -> None:
    speech = record.speaking.get(room)
    if speech is not None and speech.overrun_recorded_at is None:
        speech.overrun_recorded_at = event.at


def _undone(record: MinutesRecord, room: str, data: SpeakerUndone, event: Event) -> None:
    """What really happened: an undone add or removal leaves no trace, a floor taken back
    leaves no speech, and a speech given the floor back goes on in its own row."""
    if data.undone == "speaker.add":
        record.waiting.pop(data.entry_id, None)
    waiting = data.requeued
    if waiting is not None:
        speech = record.speaking.get(room)
        if speech is not None and speech.entry_id == waiting.entry_id:
            del record.speaking[room]  # the undone floor: never a speech
        for index in range(len(record.unserved) - 1, -1, -1):
            row = record.unserved[index]
            if row["entry_id"] == waiting.entry_id and row["reason"] == "removed":
                del record.unserved[index]  # the undone removal
                break
        record.waiting[waiting.entry_id] = {
            "entry_id": waiting.entry_id,
            "room": room,
            "session_id": record.room_sitting.get(room),
            "delegation": waiting.delegation,
            "speaker_name": waiting.speaker_name,
            "kind": waiting.kind,
            "requested_at": waiting.requested_at,
        }
    if data.floor is not None:
        _floor_back(record, room, data, event)


def _floor_back(record: MinutesRecord, room: str, data: SpeakerUndone, event: Event) -> None:
    """The speech whose end was undone is in progress again: its row reopens; the time
    between its end and the undo counts as paused, not spoken."""
    floor = data.floor
    assert floor is not None
    row = None
    for index in range(len(record.speeches) - 1, -1, -1):
        if record.speeches[index]["entry_id"] == floor.entry_id:
            row = record.speeches.pop(index)
            break
    ended_at = data.undone_at
    if row is not None:
        floor_given_at, requested_at = row["floor_given_at"], row["requested_at"]
        session_id, pauses, paused_s = row["session_id"], row["pauses"], row["paused_s"]
        out_of_turn = row.get("out_of_turn", False)
    else:  # the record began after the speech did
        floor_given_at, requested_at = floor.started_at, None
        session_id, pauses, out_of_turn = record.room_sitting.get(room), 0, False
        paused_s = max(0.0, ended_at - floor_given_at - floor.elapsed_s)
    paused_s += max(0.0, event.at - ended_at)
    record.speaking[room] = OpenSpeech(
        entry_id=floor.entry_id,
        room=room,
        session_id=session_id,
        delegation=floor.delegation,
        speaker_name=floor.speaker_name,
        kind=floor.kind,
        requested_at=requested_at,
        floor_given_at=floor_given_at,
        limit_s=floor.limit_s,
        out_of_turn=out_of_turn,
        pauses=pauses,
        paused_s=paused_s,
        item_id=row.get("item_id") if row is not None else None,
        level=floor.level,
        language=floor.language,
        on_behalf_of=floor.on_behalf_of,
        paused_since=None if floor.running else event.at,
    )


# How each event type changes the record (its payload's declared class only).
FOLDS: dict[str, Callable[[MinutesRecord, str, Any, Event], None]] = {
    EventType.SESSION_OPENED: _opened,
    EventType.SESSION_SUSPENDED: _pause,
    EventType.SESSION_CLOSED: _closed,
    EventType.SPEAKER_ADDED: _added,
    EventType.SPEAKER_REMOVED: _removed,
    EventType.SPEAKER_FLOOR_GIVEN: _floor_given,
    EventType.SPEAKER_SPEECH_ENDED: _speech_ended,
    EventType.TIMER_PAUSED: _pause,
    EventType.TIMER_RESUMED: _resumed,
    EventType.TIMER_EXTENDED: _extended,
    EventType.SPEAKER_OVERRAN: _overran,
    EventType.SPEAKER_UNDONE: _undone,
}

# Event types the record of speeches does not depend on (a resumed sitting keeps the
# clock paused until timer.resumed; the order of the queue is not recorded).
IGNORED: frozenset[str] = frozenset({
    EventType.SESSION_RESUMED,
    EventType.SESSION_START_DUE,
    EventType.SPEAKER_MOVED,
    EventType.LIST_CLOSED,
    EventType.LIST_REOPENED,
    EventType.LIST_ORDERED,
    EventType.ITEM_STARTED,
    EventType.REQUEST_SUBMITTED,
    EventType.REQUEST_ACCEPTED,
    EventType.REQUEST_DECLINED,
    EventType.REQUEST_WITHDRAWN,
    EventType.ANNOUNCEMENT_POSTED,
    EventType.ANNOUNCEMENT_RETRACTED,
    EventType.ANNOUNCEMENT_EXPIRED,
    EventType.SCREEN_DIRECTED,
    EventType.PODIUM_MESSAGED,
    EventType.PODIUM_CLEARED,
})


def fold(record: MinutesRecord, event: Event) -> MinutesRecord:
    """Fold one event into the record (mutates and returns it); unknown events change nothing."""
    step = FOLDS.get(event.type)
    if step is not None and type(event.data) is EVENTS[event.type]:
        step(record, event.room or "", event.data, event)
    if event.id is not None:
        record.cursor = event.id
    record.last_at = event.at
    return record


def fold_all(events: Iterable[Event], record: MinutesRecord | None = None) -> MinutesRecord:
    """Fold many events, in stream order."""
    record = record if record is not None else MinutesRecord()
    for event in events:
        fold(record, event)
    return record


def _in_progress(speech: OpenSpeech, now: float) -> dict[str, Any]:
    paused = speech.paused_s + (max(0.0, now - speech.paused_since)
                                if speech.paused_since is not None else 0.0)
    spoken = max(0.0, now - speech.floor_given_at - paused)
    return _speech_row(speech, "in_progress", None, speech.limit_s, spoken, paused)


def report(
    record: MinutesRecord, programme: Programme | None = None, now: float | None = None
) -> dict[str, Any]:
    """The record of the meeting: speeches (finished, then in progress at `now`), requests
    never served, and totals per delegation and per sitting (JSON-ready)."""
    now = now if now is not None else (record.last_at or 0.0)
    speeches = [dict(s) for s in record.speeches]
    speeches += [_in_progress(s, now) for s in record.speaking.values()]
    speeches.sort(key=lambda s: (s["floor_given_at"], s["entry_id"]))
    names = programme.delegations_by_code if programme else {}
    titles = programme.sessions_by_id if programme else {}
    for row in speeches:
        for key in ("item_id", "level", "language", "on_behalf_of"):
            row.setdefault(key, None)  # rows recorded before these fields existed
        delegation = names.get(row["delegation"] or "")
        row["delegation_name"] = delegation.name.as_dict() if delegation else None
    by_delegation: dict[str, dict[str, Any]] = {}
    for row in speeches:
        total = by_delegation.setdefault(row["delegation"], _delegation_total(row, names))
        total["speeches"] += 1
        total["spoken_s"] += row["spoken_s"]
        total["overrun_s"] += row["overrun_s"]
        total["overruns"] += 1 if row["overrun_s"] > 0 else 0
    for row in record.unserved:
        total = by_delegation.setdefault(row["delegation"], _delegation_total(row, names))
        total["unserved"] += 1
    by_sitting: dict[str, dict[str, Any]] = {}
    for sitting_id, sitting in record.sittings.items():
        by_sitting[sitting_id] = _sitting_total(sitting_id, sitting.get("room"), titles)
        by_sitting[sitting_id]["opened_at"] = sitting.get("opened_at")
        by_sitting[sitting_id]["closed_at"] = sitting.get("closed_at")
    for row in speeches:
        key = row["session_id"] or ""
        total = by_sitting.setdefault(key, _sitting_total(key, row["room"], titles))
        total["speeches"] += 1
        total["spoken_s"] += row["spoken_s"]
        total["overrun_s"] += row["overrun_s"]
        total["delegations"].add(row["delegation"])
    for row in record.unserved:
        key = row["session_id"] or ""
        total = by_sitting.setdefault(key, _sitting_total(key, row["room"], titles))
        total["unserved"] += 1
    for total in by_sitting.values():
        total["delegations"] = len(total["delegations"])
    by_item = _item_totals(speeches, titles)
    for totals in (*by_delegation.values(), *by_sitting.values()):
        totals["spoken_s"] = round(totals["spoken_s"], 3)
        totals["overrun_s"] = round(totals["overrun_s"], 3)
    delegations = sorted(by_delegation.values(), key=lambda d: (-d["spoken_s"], d["code"] or ""))
    return {
        "version": record.cursor,
        # The zone the record's local times are read in; its instants are epoch seconds (UTC).
        "timezone": programme.meeting.timezone if programme else None,
        "speeches": speeches,
        "unserved": [dict(u) for u in record.unserved],
        "totals": {
            "delegations": delegations,
            "sittings": sorted(
                by_sitting.values(), key=lambda s: (s.get("opened_at") or 0.0, s["id"])
            ),
            "items": by_item,
        },
    }


def _item_totals(speeches: list[dict[str, Any]], titles: dict[str, Any]) -> list[dict[str, Any]]:
    """Speeches grouped by the agenda item they were given under, in order of the first
    speech of each (a speech under no item: `item_id` None); each row gets `item_title`."""
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    for row in speeches:
        item_id = row.get("item_id")
        sitting = titles.get(row["session_id"] or "")
        item = sitting.items_by_id.get(item_id) if sitting is not None and item_id else None
        row["item_title"] = item.title.as_dict() if item else None
        key = (row["session_id"] or "", item_id)
        group = groups.setdefault(key, {
            "session_id": row["session_id"], "item_id": item_id, "title": row["item_title"],
            "speeches": 0, "spoken_s": 0.0, "entries": []})
        group["speeches"] += 1
        group["spoken_s"] = round(group["spoken_s"] + row["spoken_s"], 3)
        group["entries"].append(row["entry_id"])
    return list(groups.values())


def _delegation_total(row: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    delegation = names.get(row["delegation"] or "")
    return {
        "code": row["delegation"],
        "name": delegation.name.as_dict() if delegation else None,
        "speeches": 0,
        "spoken_s": 0.0,
        "overrun_s": 0.0,
        "overruns": 0,
        "unserved": 0,
    }


def _sitting_total(sitting_id: str, room: str | None, titles: dict[str, Any]) -> dict[str, Any]:
    sitting = titles.get(sitting_id)
    return {
        "id": sitting_id,
        "room": room,
        "title": sitting.title.as_dict() if sitting else None,
        "opened_at": None,
        "closed_at": None,
        "speeches": 0,
        "spoken_s": 0.0,
        "overrun_s": 0.0,
        "unserved": 0,
        "delegations": set(),
    }


CSV_COLUMNS = (
    "record", "room", "session_id", "entry_id", "delegation", "speaker_name", "kind",
    "requested_at", "floor_given_at", "ended_at", "end_reason", "limit_s", "spoken_s",
    "overrun_s", "pauses", "paused_s", "item_id", "on_behalf_of", "language", "level",
)


def to_csv_rows(minutes: dict[str, Any]) -> list[list[Any]]:
    """One row per speech (`record` = speech) and per request never served (`unserved`)."""
    rows: list[list[Any]] = []
    for speech in minutes["speeches"]:
        rows.append(["speech", *(speech.get(c) for c in CSV_COLUMNS[1:])])
    for request in minutes["unserved"]:
        row = {**request, "end_reason": request.get("reason"), "ended_at": request["dropped_at"]}
        rows.append(["unserved", *(row.get(c) for c in CSV_COLUMNS[1:])])
    return rows
