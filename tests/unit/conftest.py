"""Fixtures for the pure domain tests: the reference programme and a small command driver."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.domain import (
    Event,
    MeetingState,
    Programme,
    apply,
    decide,
    default_programme_path,
    load_programme,
    new_state,
    parse_command,
    room_view,
)

REFERENCE = load_programme(default_programme_path())
PLENARY_START = REFERENCE.instant(REFERENCE.sessions_by_id["plenaria"].start)


class Driver:
    """Runs commands through parse → decide → apply, stamping stream ids like Redis would."""

    def __init__(self, programme: Programme, now: float = PLENARY_START) -> None:
        self.state: MeetingState = new_state(programme)
        self.now = now
        self.log: list[Event] = []

    def tick(self, seconds: float) -> float:
        """Let time pass."""
        self.now += seconds
        return self.now

    def run(self, type: str, **fields: Any) -> list[Event]:
        """Decide and apply one command at the current time; return the stamped events."""
        body = {"type": type, **fields}
        events = decide(self.state, parse_command(body), self.now)
        stamped = []
        for event in events:
            event = event.with_id(f"{int(self.now * 1000)}-{len(self.log)}")
            apply(self.state, event)
            self.log.append(event)
            stamped.append(event)
        return stamped

    def decide(self, type: str, **fields: Any) -> list[Event]:
        """Decide only (for commands expected to fail)."""
        return decide(self.state, parse_command({"type": type, **fields}), self.now)

    def view(self, room: str = "plenario") -> dict[str, Any]:
        """The room's state at the current time."""
        return room_view(self.state, room, self.now)

    def queue(self, room: str = "plenario") -> list[tuple[str, str]]:
        """(delegation, kind) pairs in queue order."""
        return [(e["delegation"]["code"], e["kind"]) for e in self.view(room)["speakers"]["queue"]]

    def entry(self, delegation: str, room: str = "plenario") -> str:
        """The entry id of a delegation's waiting request."""
        for entry in self.view(room)["speakers"]["queue"]:
            if entry["delegation"]["code"] == delegation:
                return str(entry["entry_id"])
        raise AssertionError(f"{delegation} is not waiting")


@pytest.fixture
def programme() -> Programme:
    """The bundled reference programme."""
    return REFERENCE


@pytest.fixture
def meeting() -> Driver:
    """A fresh meeting, nothing opened yet, clock at the plenary's scheduled start."""
    return Driver(REFERENCE)


@pytest.fixture
def plenary(meeting: Driver) -> Driver:
    """A meeting whose plenary sitting is open in the plenary hall."""
    meeting.run("session.open", room="plenario", session_id="plenaria")
    return meeting
