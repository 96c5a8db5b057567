"""The RoomState a screen or console renders (JSON-ready), computed from the meeting state."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .announcements import is_shown
from .errors import NotFound
from .programme import Programme
from .speakers import next_sitting
from .state import (
    UNDO_WINDOW_S,
    Entry,
    MeetingState,
    Request,
    RoomState,
    SessionState,
    Speech,
    Undoable,
)

__all__ = ["Audience", "delegation_view", "for_audience", "room_view", "room_views"]


class Audience(StrEnum):
    """Who a RoomState is for: what each may receive differs, never what it shows."""

    SCREEN = "screen"  # room screens, the overview, delegations, the chyron
    PODIUM = "podium"  # the podium monitor: with the chair's message to the speaker
    DESK = "desk"  # chairs, the secretariat, admins: the message and pending requests too


def _delegation(programme: Programme, code: str) -> dict[str, Any]:
    known = programme.delegation_dicts.get(code)
    if known is None:  # a code no longer in the programme: still show something
        return {"code": code, "name": {"es": code, "en": code}, "kind": None}
    return known


def _session(programme: Programme, sitting: SessionState) -> dict[str, Any]:
    spec = programme.sessions_by_id[sitting.id]
    return {
        "id": sitting.id,
        "title": spec.title.as_dict(),
        "kind": spec.kind,
        "status": str(sitting.status),
        "scheduled_start": programme.session_instants[sitting.id][0],
        "scheduled_end": programme.session_instants[sitting.id][1],
        "suspended_until": sitting.suspended_until,
        "start_due": sitting.start_due,
        "inscription": spec.inscription,
        "budget_s": spec.budget_s,
    }


def _coded(names: Any, code: str | None) -> dict[str, Any] | None:
    """`{code, name}` of a level or group (its code as name when the programme lost it)."""
    if code is None:
        return None
    known = names.get(code)
    return {"code": code, "name": known.name.as_dict() if known else {"es": code, "en": code}}


def _about(programme: Programme, level: str | None, language: str | None,
           on_behalf_of: str | None) -> dict[str, Any]:
    return {
        "level": _coded(programme.levels_by_code, level),
        "language": language,
        "on_behalf_of": _coded(programme.groups_by_code, on_behalf_of),
    }


def _current(programme: Programme, speech: Speech, server_time: float) -> dict[str, Any]:
    return {
        "entry_id": speech.entry_id,
        "delegation": _delegation(programme, speech.delegation),
        "speaker_name": speech.speaker_name,
        "speaker_title": speech.speaker_title,
        "kind": str(speech.kind),
        "started_at": speech.started_at,
        "limit_s": speech.limit_s,
        "elapsed_s": speech.elapsed(server_time),
        "paused": speech.paused,
        "running_since": speech.running_since,
        **_about(programme, speech.level, speech.language, speech.on_behalf_of),
    }


def _entry(programme: Programme, entry: Entry, wait_s: float | None) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "delegation": _delegation(programme, entry.delegation),
        "speaker_name": entry.speaker_name,
        "speaker_title": entry.speaker_title,
        "kind": str(entry.kind),
        "inscribed_at": entry.requested_at,
        **_about(programme, entry.level, entry.language, entry.on_behalf_of),
        "wait_s": wait_s,
    }


def _request(programme: Programme, request: Request) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "delegation": _delegation(programme, request.delegation),
        "session_id": request.session_id,
        "speaker_name": request.speaker_name,
        "speaker_title": request.speaker_title,
        "kind": str(request.kind),
        "requested_at": request.requested_at,
        **_about(programme, request.level, request.language, request.on_behalf_of),
        "declined_at": request.declined_at,
        "reason": request.reason,
    }


def _waits(programme: Programme, session_kind: str, room: RoomState, entries: list[Entry],
           server_time: float) -> list[float]:
    """Seconds until each entry's turn, if every speech ahead takes its full limit (and the
    current one what is left of it); the last figure is when the list ends."""
    ahead = 0.0
    if room.current is not None and room.session_id is not None:
        ahead = max(0.0, room.current.remaining(server_time))
    waits = []
    for entry in entries:
        waits.append(ahead)
        ahead += programme.limit_for(session_kind, entry.kind)
    waits.append(ahead)
    return waits


def _totals(programme: Programme, room: RoomState, budget: int | None,
            server_time: float) -> list[dict[str, Any]]:
    spoken = {code: (t.speeches, t.spoken_s) for code, t in room.totals.items()}
    if room.current is not None:  # the speech in progress counts as it goes
        n, s = spoken.get(room.current.delegation, (0, 0.0))
        spoken[room.current.delegation] = (n, s + room.current.elapsed(server_time))
    rows = [{"delegation": _delegation(programme, code), "speeches": n, "spoken_s": round(s, 3)}
            for code, (n, s) in sorted(spoken.items(), key=lambda kv: (-kv[1][1], kv[0]))]
    if budget is not None:
        for row in rows:
            row["budget_s"] = budget
    return rows


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
    elif undo.action == "list.order":
        change = "ordered"
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


def room_view(state: MeetingState, room_id: str, server_time: float,
              audience: Audience = Audience.SCREEN) -> dict[str, Any]:
    """The contract's RoomState for one room as `audience` receives it; raises NotFound."""
    return for_audience(_full_view(state, room_id, server_time), audience)


def for_audience(view: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """A desk's RoomState as `audience` receives it: pending requests go to desks only,
    the chair's message to the speaker to desks and the podium monitor only."""
    if audience is Audience.DESK:
        return view
    speakers = view["speakers"].copy()
    del speakers["requests"]
    out = {**view, "speakers": speakers}
    if audience is Audience.SCREEN:
        del out["podium"]
    return out


def _full_view(state: MeetingState, room_id: str, server_time: float) -> dict[str, Any]:
    programme = state.programme
    room = state.rooms.get(room_id)
    spec = programme.rooms_by_id.get(room_id)
    if room is None or spec is None:
        raise NotFound(f"unknown room {room_id!r}", field="room")
    sitting = state.sessions.get(room.session_id) if room.session_id else None
    upcoming = next_sitting(state, room_id)
    listed = sitting or upcoming  # the sitting whose list is shown
    entries = room.queue if sitting else room.prepared.get(upcoming.id, []) if upcoming else []
    waits: list[float | None] = [None] * (len(entries) + 1)
    if listed is not None:
        kind = programme.sessions_by_id[listed.id].kind
        waits = list(_waits(programme, kind, room, entries, server_time))
    budget = programme.sessions_by_id[sitting.id].budget_s if sitting else None
    session = _session(programme, sitting) if sitting else None
    if session is not None and sitting is not None:
        spec_items = programme.sessions_by_id[sitting.id].items_by_id
        item = spec_items.get(room.item_id) if room.item_id else None
        session["item"] = {"id": item.id, "title": item.title.as_dict()} if item else None
    current = _current(programme, room.current, server_time) if room.current else None
    if current is not None and sitting is not None and room.current is not None:
        warn = programme.sessions_by_id[sitting.id].warn_s
        current["warn_s"] = getattr(warn, str(room.current.kind))
        tally = room.totals.get(room.current.delegation)
        current["budget_s"] = budget
        current["spoken_before_s"] = round(tally.spoken_s, 3) if tally else 0.0
    shown = sorted(
        (a for a in state.announcements.values() if is_shown(a, room_id, server_time)),
        key=lambda a: (a.posted_at, int(a.id[2:]) if a.id[2:].isdigit() else 0, a.id),
    )
    return {
        "room": {"id": spec.id, "name": spec.name.as_dict(), "venue": spec.venue},
        "version": room.version,
        "server_time": float(server_time),
        "session": session,
        "next_session": _session(programme, upcoming) if upcoming else None,
        "speakers": {
            "for_session": listed.id if listed else None,
            "current": current,
            "queue": [_entry(programme, e, w) for e, w in zip(entries, waits, strict=False)],
            "list_closed": room.list_closed,
            "undo": _undo(programme, room.undo, server_time),
            # When the list ends if every speech takes its limit (a sitting in progress).
            "forecast_end": server_time + waits[-1] if sitting and waits[-1] is not None
            else None,
            "requests": [_request(programme, r) for r in room.requests],
        },
        "podium": dict(room.podium) if room.podium else None,
        "totals": _totals(programme, room, budget, server_time) if sitting else [],
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


def room_views(state: MeetingState, server_time: float,
               audience: Audience = Audience.SCREEN) -> list[dict[str, Any]]:
    """Every room's RoomState, in programme order (the overview)."""
    return [room_view(state, room_id, server_time, audience) for room_id in state.rooms]


def delegation_view(state: MeetingState, code: str, server_time: float) -> dict[str, Any]:
    """What one delegation sees of its own: its waiting entries (place and estimated wait),
    its pending requests and its declined ones (with the chair's reason)."""
    programme = state.programme
    entries: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    declined: list[dict[str, Any]] = []
    for room_id, room in state.rooms.items():
        view = room_view(state, room_id, server_time)
        session_id = view["speakers"]["for_session"]
        for position, entry in enumerate(view["speakers"]["queue"]):
            if entry["delegation"]["code"] == code:
                entries.append({**entry, "room": room_id, "session_id": session_id,
                                "position": position})
        for sid, prepared in room.prepared.items():
            if sid == session_id:
                continue  # shown above
            for position, waiting in enumerate(prepared):
                if waiting.delegation == code:
                    entries.append({**_entry(programme, waiting, None), "room": room_id,
                                    "session_id": sid, "position": position})
        requests += [{**_request(programme, r), "room": room_id}
                     for r in room.requests if r.delegation == code]
        declined += [{**_request(programme, r), "room": room_id}
                     for r in room.declined if r.delegation == code]
    return {"delegation": _delegation(programme, code), "entries": entries,
            "requests": requests, "declined": declined, "server_time": float(server_time)}
