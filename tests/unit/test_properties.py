"""Properties: decide→apply never raises, decide never mutates, and replay rebuilds every room."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.domain import (
    DomainError,
    Event,
    MeetingState,
    apply,
    decide,
    default_programme_path,
    load_programme,
    new_state,
    parse_command,
    room_view,
)

PROGRAMME = load_programme(default_programme_path())
START = PROGRAMME.instant(PROGRAMME.sessions_by_id["gt-seguridad-1"].start)
ROOMS = [*PROGRAMME.rooms_by_id, "attic"]
SESSIONS = [*PROGRAMME.sessions_by_id, "nope"]
DELEGATIONS = ["PAN", "USA", "MEX", "IDB", "CSO", "ZZZ"]
ENTRIES = [f"sp{i}" for i in range(1, 13)]
ANNOUNCEMENTS = [f"an{i}" for i in range(1, 6)]
WEIGHTS = {
    "session.open": 3,
    "session.suspend": 1,
    "session.resume": 2,
    "session.close": 1,
    "session.signal_start_due": 1,
    "speaker.add": 8,
    "speaker.remove": 1,
    "speaker.move": 2,
    "speaker.next": 5,
    "speaker.start": 2,
    "speaker.stop": 1,
    "speaker.record_overrun": 2,
    "timer.pause": 2,
    "timer.resume": 2,
    "timer.extend": 2,
    "list.close": 1,
    "list.reopen": 1,
    "announcement.post": 2,
    "announcement.retract": 1,
    "announcement.expire": 1,
}
WEIGHTED = [kind for kind, weight in WEIGHTS.items() for _ in range(weight)]
TEXTS = [{"es": "Aviso", "en": "Notice"}, {"es": "Solo español", "en": " "}]


def command(data: st.DataObject, state: MeetingState, now: float) -> dict[str, Any]:
    """Draw a plausible command body (often valid, sometimes not) for the current state."""
    room = data.draw(st.sampled_from(["gt-seguridad"] * 12 + ROOMS[:4] * 2 + ROOMS[4:]))
    base: dict[str, Any] = {"room": room}
    if data.draw(st.booleans()) and room in state.rooms:
        stale = data.draw(st.booleans()) and data.draw(st.integers(0, 9)) == 0
        base["expected_version"] = "1-1" if stale else state.rooms[room].version
    same_room = [s for s in SESSIONS if s == "nope" or PROGRAMME.sessions_by_id[s].room == room]
    pick = data.draw(st.sampled_from(WEIGHTED))
    body: dict[str, Any] = {"type": pick, **base}
    if pick in ("session.open", "session.signal_start_due"):
        body["session_id"] = data.draw(st.sampled_from(same_room * 3 + SESSIONS[:1]))
    elif pick == "session.suspend" and data.draw(st.booleans()):
        body["until"] = now + data.draw(st.integers(-5, 3600))
    elif pick == "speaker.add":
        body["delegation"] = data.draw(st.sampled_from(DELEGATIONS))
        body["kind"] = data.draw(st.sampled_from(["speech", "point_of_order", "reply"]))
        if data.draw(st.booleans()):
            body["speaker_name"] = data.draw(st.sampled_from(["", "Vice-minister", "x" * 121]))
    elif pick in ("speaker.remove", "speaker.start", "speaker.record_overrun", "speaker.move"):
        known = []
        if room in state.rooms:
            known = [e.entry_id for e in state.rooms[room].queue]
            current = state.rooms[room].current
            known += [current.entry_id] * 2 if current else []
        body["entry_id"] = data.draw(st.sampled_from(known * 3 + ENTRIES[:3]))
        if pick == "speaker.move":
            body["position"] = data.draw(st.integers(0, 5))
    elif pick == "timer.extend":
        body["seconds"] = data.draw(st.sampled_from([0, 1, 30, 3600, 3601]))
    elif pick.startswith("announcement."):
        if data.draw(st.integers(0, 3)):
            del body["room"]
            body.pop("expected_version", None)
        if pick == "announcement.post":
            body["text"] = data.draw(st.sampled_from(TEXTS))
            body["level"] = data.draw(st.sampled_from(["info", "urgent"]))
            body["rooms"] = data.draw(
                st.sampled_from([["*"], "hotel", "palacio-bolivar", ["plenario"], "moon"])
            )
            if data.draw(st.booleans()):
                body["expires_at"] = now + data.draw(st.integers(-5, 900))
        else:
            body["id"] = data.draw(st.sampled_from(ANNOUNCEMENTS))
    return body


def frozen_copy(state: MeetingState) -> MeetingState:
    return copy.deepcopy(state, {id(state.programme): state.programme})


def check_invariants(state: MeetingState) -> None:
    in_progress: dict[str, list[str]] = {}
    for sitting in state.sessions.values():
        if sitting.status in ("open", "suspended"):
            in_progress.setdefault(sitting.room, []).append(sitting.id)
    for room in state.rooms.values():
        assert in_progress.get(room.id, []) == ([room.session_id] if room.session_id else [])
        waiting = [(e.delegation, e.kind) for e in room.queue]
        assert len(waiting) == len(set(waiting))
        ids = [e.entry_id for e in room.queue]
        assert len(ids) == len(set(ids))
        if room.current is not None:
            assert room.session_id is not None
            assert room.current.entry_id not in ids


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_decide_apply_never_raises_and_replay_rebuilds_every_room(data: st.DataObject) -> None:
    state = new_state(PROGRAMME)
    now = START
    log: list[Event] = []
    opening = [
        {"type": "session.open", "room": s.room, "session_id": s.id}
        for s in PROGRAMME.sessions
        if s.kind == "working_group"
    ]
    scripted = opening if data.draw(st.booleans()) else []
    for step in range(data.draw(st.integers(1, 60))):
        now += data.draw(st.sampled_from([0.0, 0.5, 1.0, 7.25, 60.0, 245.0, 900.0]))
        body = scripted[step] if step < len(scripted) else command(data, state, now)
        try:
            events = decide(state, parse_command(body), now)
        except DomainError:
            continue
        before = frozen_copy(state)
        decide(state, parse_command(body), now)
        assert state == before, "decide mutated the state"
        for event in events:
            stamped = event.with_id(f"{len(log) + 1}-0")
            apply(state, stamped)
            log.append(stamped)
        check_invariants(state)

    # Replay what a Redis stream would give back: every event through its stream fields.
    replayed = new_state(PROGRAMME)
    for event in log:
        apply(replayed, Event.from_fields(event.to_fields(), event.id))
    assert replayed == state
    for later in (now, now + 1234.5):
        for room_id in PROGRAMME.rooms_by_id:
            view = room_view(state, room_id, later)
            assert room_view(replayed, room_id, later) == view
            json.dumps(view, allow_nan=False)
