"""The RoomState a screen or console renders (JSON-ready), computed from the meeting state."""

from __future__ import annotations

from typing import Any

from .announcements import is_shown
from .errors import NotFound
from .programme import Programme
from .state import (
    UNDO_WINDOW_S,
    Entry,
    MeetingState,
    SessionState,
    SessionStatus,
    Speech,
    Undoable,
)

__all__ = ["room_view", "room_views"]


def _delegation(programme: Programme, code: str) -> dict[str, Any]:
    delegation = programme.delegations_by_code.get(code)
    if delegation is None:  # a code no longer in the programme: still show something
        return {"code": code, "name": {"es": code, "en": code}, "kind": None}
    return delegation.public_dict()


def _session(programme: Programme, sitting: SessionState) -> dict[str, Any]:
    spec = programme.sessions_by_id[sitting.id]
    return {
        "id": sitting.id,
        "title": spec.title.as_dict(),
        "kind": spec.kind,
        "status": str(sitting.status),
        "scheduled_start": programme.instant(spec.start),
        "scheduled_end": programme.instant(spec.end),
        "suspended_until": sitting.suspended_until,
        "start_due": sitting.start_due,
    }


def _current(programme: Programme, speech: Speech, server_time: float) -> dict[str, Any]:
    return {
        "entry_id": speech.entry_id,
        "delegation": _delegation(programme, speech.delegation),
        "speaker_name": speech.speaker_name,
        "kind": str(speech.kind),
        "started_at": speech.started_at,
        "limit_s": speech.limit_s,
        "elapsed_s": speech.elapsed(server_time),
        "paused": speech.paused,
        "running_since": speech.running_since,
    }


def _entry(programme: Programme, entry: Entry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "delegation": _delegation(programme, entry.delegation),
        "speaker_name": entry.speaker_name,
        "kind": str(entry.kind),
    }


def _undo(programme: Programme, undo: Undoable | None, server_time: float) -> dict[str, Any] | None:
    """What speaker.undo would take back now (None: nothing, or too old)."""
    if undo is None or server_time - undo.at > UNDO_WINDOW_S:
        return None
    if undo.action == "speaker.add":
        change = "added"
    elif undo.action == "speaker.remove":
        change = "removed"
    elif undo.action == "speaker.move":
        change = "moved"
    else:  # next, start, stop: the floor given, or (nobody given it) a speech ended
        change = "floor_given" if undo.entry is not None else "speech_ended"
    return {
        "action": undo.action,
        "change": change,
        "entry_id": undo.entry_id,
        "delegation": _delegation(programme, undo.delegation),
        "at": undo.at,
        "until": undo.at + UNDO_WINDOW_S,
    }


def _next_session(state: MeetingState, room_id: str) -> SessionState | None:
    programme = state.programme
    waiting = [
        s
        for s in state.sessions.values()
        if s.room == room_id
        and s.status is SessionStatus.SCHEDULED
        and s.id in programme.sessions_by_id
    ]
    waiting.sort(key=lambda s: (programme.instant(programme.sessions_by_id[s.id].start), s.id))
    return waiting[0] if waiting else None


def room_view(state: MeetingState, room_id: str, server_time: float) -> dict[str, Any]:
    """The contract's RoomState for one room, plus `next_session`; raises NotFound."""
    programme = state.programme
    room = state.rooms.get(room_id)
    spec = programme.rooms_by_id.get(room_id)
    if room is None or spec is None:
        raise NotFound(f"unknown room {room_id!r}", field="room")
    sitting = state.sessions.get(room.session_id) if room.session_id else None
    upcoming = _next_session(state, room_id)
    shown = sorted(
        (a for a in state.announcements.values() if is_shown(a, room_id, server_time)),
        key=lambda a: (a.posted_at, int(a.id[2:]) if a.id[2:].isdigit() else 0, a.id),
    )
    return {
        "room": {"id": spec.id, "name": spec.name.as_dict(), "venue": spec.venue},
        "version": room.version,
        "server_time": float(server_time),
        "session": _session(programme, sitting) if sitting else None,
        "next_session": _session(programme, upcoming) if upcoming else None,
        "speakers": {
            "current": _current(programme, room.current, server_time) if room.current else None,
            "queue": [_entry(programme, e) for e in room.queue],
            "list_closed": room.list_closed,
            "undo": _undo(programme, room.undo, server_time),
        },
        # Read only by the podium monitor; the screens and the overview never show it.
        "podium": dict(room.podium) if room.podium else None,
        "announcements": [
            {
                "id": a.id,
                "text": dict(a.text),
                "level": str(a.level),
                "posted_at": a.posted_at,
                "expires_at": a.expires_at,
            }
            for a in shown
        ],
    }


def room_views(state: MeetingState, server_time: float) -> list[dict[str, Any]]:
    """Every room's RoomState, in programme order (the overview)."""
    return [room_view(state, room_id, server_time) for room_id in state.rooms]
