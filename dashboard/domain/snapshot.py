"""Snapshots of the meeting state: a JSON-ready form with a checksum, and its exact inverse.

A snapshot is trusted only when its checksum holds and it was taken with
the same programme (`programme_hash`); the adapter also checks that its
version is an id of the stream before replaying the tail after it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .programme import Programme
from .state import (
    AnnouncementState,
    AnnouncementStatus,
    Entry,
    Level,
    MeetingState,
    Request,
    RoomState,
    SessionState,
    SessionStatus,
    Speech,
    SpeechKind,
    Tally,
    Undoable,
)

__all__ = ["FORMAT", "SnapshotError", "from_dict", "pack", "programme_hash", "to_dict", "unpack"]

FORMAT = 1


class SnapshotError(ValueError):
    """A snapshot that cannot be used (corrupt, another format, another programme)."""


# Programme fields the folded state does not depend on (it keeps their codes and ids, and
# the view names them from the programme): a snapshot stays usable when they change, and
# one taken before they existed is still used.
_NOT_FOLDED: Any = {
    "levels": True,
    "groups": True,
    "sessions": {"__all__": {"inscription", "budget_s", "items", "warn_s"}},
}


def programme_hash(programme: Programme) -> str:
    """A fingerprint of the programme: a snapshot taken with another one is not used."""
    return hashlib.sha256(programme.model_dump_json(exclude=_NOT_FOLDED).encode()).hexdigest()


def _speech(speech: Speech | None) -> dict[str, Any] | None:
    if speech is None:
        return None
    return {
        "entry_id": speech.entry_id,
        "delegation": speech.delegation,
        "speaker_name": speech.speaker_name,
        "kind": str(speech.kind),
        "started_at": speech.started_at,
        "limit_s": speech.limit_s,
        "accumulated_s": speech.accumulated_s,
        "running_since": speech.running_since,
        "overrun_recorded": speech.overrun_recorded,
        "level": speech.level,
        "language": speech.language,
        "on_behalf_of": speech.on_behalf_of,
        "speaker_title": speech.speaker_title,
    }


def _undo(undo: Undoable | None) -> dict[str, Any] | None:
    if undo is None:
        return None
    return {
        "action": undo.action,
        "at": undo.at,
        "entry_id": undo.entry_id,
        "delegation": undo.delegation,
        "position": undo.position,
        "entry": undo.entry.to_dict() if undo.entry else None,
        "speech": _speech(undo.speech),
        "floor_changed": undo.floor_changed,
        "order": undo.order,
    }


def _read_speech(data: dict[str, Any] | None) -> Speech | None:
    return None if data is None else Speech(**{**data, "kind": SpeechKind(data["kind"])})


def _read_undo(data: dict[str, Any] | None) -> Undoable | None:
    if data is None:
        return None
    entry = data["entry"]
    data = {"order": None, **data}
    return Undoable(**{
        **data,
        "entry": None if entry is None else Entry(**{**entry, "kind": SpeechKind(entry["kind"])}),
        "speech": _read_speech(data["speech"]),
    })


def _entry(data: dict[str, Any]) -> Entry:
    return Entry(**{**data, "kind": SpeechKind(data["kind"])})


def _request(data: dict[str, Any]) -> Request:
    return Request(**{**data, "kind": SpeechKind(data["kind"])})


def to_dict(state: MeetingState) -> dict[str, Any]:
    """The state as plain JSON types (the programme is referenced by hash, not copied)."""
    return {
        "version": state.version,
        "entry_seq": state.entry_seq,
        "announcement_seq": state.announcement_seq,
        "request_seq": state.request_seq,
        "rooms": [
            {
                "id": room.id,
                "version": room.version,
                "session_id": room.session_id,
                "current": _speech(room.current),
                "queue": [e.to_dict() for e in room.queue],
                "list_closed": room.list_closed,
                "undo": _undo(room.undo),
                "podium": room.podium,
                "prepared": {k: [e.to_dict() for e in v] for k, v in room.prepared.items()},
                "item_id": room.item_id,
                "requests": [r.to_dict() for r in room.requests],
                "declined": [r.to_dict() for r in room.declined],
                "totals": {k: [t.speeches, t.spoken_s] for k, t in room.totals.items()},
            }
            for room in state.rooms.values()
        ],
        "sessions": [
            {
                "id": s.id,
                "room": s.room,
                "status": str(s.status),
                "suspended_until": s.suspended_until,
                "start_due": s.start_due,
                "opened_at": s.opened_at,
                "closed_at": s.closed_at,
            }
            for s in state.sessions.values()
        ],
        "announcements": [
            {
                "id": a.id,
                "text": dict(a.text),
                "level": str(a.level),
                "rooms": list(a.rooms),
                "posted_at": a.posted_at,
                "expires_at": a.expires_at,
                "status": str(a.status),
            }
            for a in state.announcements.values()
        ],
    }


def from_dict(programme: Programme, data: dict[str, Any]) -> MeetingState:
    """The state `to_dict` was made from; SnapshotError when it does not fit the programme."""
    try:
        rooms = {}
        for r in data["rooms"]:
            current = r["current"]
            rooms[r["id"]] = RoomState(
                id=r["id"],
                version=r["version"],
                session_id=r["session_id"],
                current=_read_speech(current),
                queue=[Entry(**{**e, "kind": SpeechKind(e["kind"])}) for e in r["queue"]],
                list_closed=bool(r["list_closed"]),
                # A snapshot taken before undo existed has nothing to undo.
                undo=_read_undo(r.get("undo")),
                # A snapshot taken before the podium monitor existed has no message.
                podium=r.get("podium"),
                # Snapshots taken before prepared lists and requests existed have none.
                prepared={k: [_entry(e) for e in v] for k, v in r.get("prepared", {}).items()},
                item_id=r.get("item_id"),
                requests=[_request(q) for q in r.get("requests", [])],
                declined=[_request(q) for q in r.get("declined", [])],
                totals={k: Tally(int(n), float(t)) for k, (n, t) in r.get("totals", {}).items()},
            )
        sessions = {
            s["id"]: SessionState(**{**s, "status": SessionStatus(s["status"])})
            for s in data["sessions"]
        }
        announcements = {
            a["id"]: AnnouncementState(
                **{**a, "level": Level(a["level"]), "status": AnnouncementStatus(a["status"])}
            )
            for a in data["announcements"]
        }
        state = MeetingState(
            programme=programme,
            version=str(data["version"]),
            rooms=rooms,
            sessions=sessions,
            announcements=announcements,
            entry_seq=int(data["entry_seq"]),
            announcement_seq=int(data["announcement_seq"]),
            request_seq=int(data.get("request_seq", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"the snapshot's state is malformed ({exc!r})") from None
    if set(state.rooms) != {r.id for r in programme.rooms} or set(state.sessions) != {
        s.id for s in programme.sessions
    }:
        raise SnapshotError("the snapshot's rooms or sittings differ from the programme's")
    return state


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def pack(state: MeetingState, events: int = 0) -> str:
    """The stored form: format, version, programme hash, events folded, checksum, state."""
    body = json.dumps(to_dict(state), separators=(",", ":"), sort_keys=True)
    return json.dumps(
        {
            "format": FORMAT,
            "version": state.version,
            "programme": programme_hash(state.programme),
            "events": events,
            "checksum": _checksum(body),
            "state": body,
        },
        separators=(",", ":"),
    )


def unpack(raw: str | bytes, programme: Programme) -> tuple[MeetingState, dict[str, Any]]:
    """(state, header) of a stored snapshot; SnapshotError saying why it cannot be used."""
    try:
        outer = json.loads(raw)
        body = outer["state"]
        header = {k: outer[k] for k in ("format", "version", "programme", "events", "checksum")}
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"the snapshot is not readable ({exc!r})") from None
    if header["format"] != FORMAT:
        raise SnapshotError(f"the snapshot has format {header['format']!r}, not {FORMAT}")
    if not isinstance(body, str) or _checksum(body) != header["checksum"]:
        raise SnapshotError("the snapshot's checksum does not match its content")
    if header["programme"] != programme_hash(programme):
        raise SnapshotError("the snapshot was taken with another programme")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise SnapshotError(f"the snapshot's state is not JSON ({exc})") from None
    state = from_dict(programme, data)
    if state.version != header["version"]:
        raise SnapshotError("the snapshot's header and state disagree on the version")
    return state, header
