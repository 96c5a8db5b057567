"""A scripted meeting: commands decided at chosen instants and appended to a real stream."""

from __future__ import annotations

import uuid
from typing import Any

from dashboard.domain import COMMANDS, Event, Programme, apply, decide, new_state
from dashboard.store.eventlog import EventLog

PLENARY_ROOM, PLENARY = "plenario", "plenaria"


class Script:
    """Runs commands at given instants: the domain decides, the event log appends them."""

    def __init__(self, programme: Programme, log: EventLog | None = None) -> None:
        self.programme = programme
        self.log = log
        self.state = new_state(programme)
        self.events: list[Event] = []

    def do(self, at: float, type_: str, **fields: Any) -> list[Event]:
        body = {"type": type_, **fields}
        if COMMANDS[type_].room_scoped:  # the plenary unless told
            body.setdefault("room", PLENARY_ROOM)
        events = decide(self.state, body, at)
        if self.log is not None:
            done = self.log.append(events, self.state.version, uuid.uuid4().hex)
            assert done.status == "ok", done
            assert done.first and done.last
            events = self.log.read_range(done.first, done.last)
        else:
            events = [e.with_id(f"{int(at * 1000)}-{i}") for i, e in enumerate(events)]
        for event in events:
            apply(self.state, event)
        self.events += events
        return events

    def entry(self, delegation: str) -> str:
        """The entry id of a delegation waiting in the plenary room."""
        queue = self.state.rooms[PLENARY_ROOM].queue
        return next(e.entry_id for e in queue if e.delegation == delegation)


def scripted_sitting(script: Script, t0: float) -> dict[str, dict[str, float]]:
    """A plenary sitting with pauses, an overrun, a removal, a suspension and a close.

    Returns what should be recorded: per delegation, spoken, overrun, paused seconds.
    """
    limit = script.programme.limit_for("plenary", "speech")  # 240 in the reference
    s = script
    s.do(t0, "session.open", session_id=PLENARY)
    s.do(t0 + 1, "speaker.add", delegation="PAN", speaker_name="Minister")
    s.do(t0 + 2, "speaker.add", delegation="BRA")
    s.do(t0 + 3, "speaker.add", delegation="CAN")
    s.do(t0 + 4, "speaker.add", delegation="MEX")
    s.do(t0 + 10, "speaker.next")                       # PAN speaks
    s.do(t0 + 70, "timer.pause")                         # 60 s spoken
    s.do(t0 + 100, "timer.resume")                       # 30 s paused
    s.do(t0 + 150, "speaker.next")                       # PAN: 110 s; BRA speaks
    bra = s.state.rooms[PLENARY_ROOM].current
    assert bra is not None
    s.do(t0 + 150 + limit + 5, "speaker.record_overrun", entry_id=bra.entry_id)
    s.do(t0 + 150 + limit + 25, "speaker.stop")          # BRA: limit + 25 s, 25 over
    s.do(t0 + 400, "speaker.remove", entry_id=s.entry("CAN"))  # CAN never speaks
    s.do(t0 + 410, "speaker.add", delegation="USA", kind="point_of_order")
    s.do(t0 + 420, "speaker.next")                       # USA (point of order) speaks
    s.do(t0 + 440, "session.suspend")                    # 20 s spoken, clock stops
    s.do(t0 + 470, "session.resume")
    s.do(t0 + 480, "timer.resume")                       # 40 s paused
    s.do(t0 + 500, "session.close")                      # USA: 40 s; MEX dropped
    return {
        "PAN": {"spoken": 110, "overrun": 0, "paused": 30, "pauses": 1},
        "BRA": {"spoken": limit + 25, "overrun": 25, "paused": 0, "pauses": 0},
        "USA": {"spoken": 40, "overrun": 0, "paused": 40, "pauses": 1},
    }


def fill_speeches(log: EventLog, programme: Programme, count: int) -> None:
    """Append `count` valid events (speeches in turn), fast: decided here, written in bulk."""
    state = new_state(programme)
    codes = [d.code for d in programme.delegations]
    at, n, written = 1_700_000_000.0, 0, 0
    pipe = log.client.pipeline(transaction=False)

    def emit(body: dict[str, Any]) -> None:
        nonlocal at, written
        at += 1
        events = decide(state, {"room": PLENARY_ROOM, **body}, at)
        for i, event in enumerate(events):
            apply(state, event.with_id(f"{int(at * 1000)}-{i}"))
            pipe.xadd(log.stream, {**event.to_fields(), "cmd": "fill"},
                      id=f"{int(at * 1000)}-{i}")
            written += 1
        if len(pipe) >= 2000:
            pipe.execute()

    emit({"type": "session.open", "session_id": PLENARY})
    while written < count:
        emit({"type": "speaker.add", "delegation": codes[n % len(codes)]})
        emit({"type": "speaker.next"})
        n += 1
    pipe.execute()
