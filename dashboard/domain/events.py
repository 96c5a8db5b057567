"""Events: the facts appended to the meeting's stream (past tense, self-contained for replay)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = ["Event", "EventType"]


class EventType(StrEnum):
    """Every event type the domain produces."""

    SESSION_OPENED = "session.opened"
    SESSION_SUSPENDED = "session.suspended"
    SESSION_RESUMED = "session.resumed"
    SESSION_CLOSED = "session.closed"
    SESSION_START_DUE = "session.start_due"
    SPEAKER_ADDED = "speaker.added"
    SPEAKER_REMOVED = "speaker.removed"
    SPEAKER_MOVED = "speaker.moved"
    SPEAKER_FLOOR_GIVEN = "speaker.floor_given"
    SPEAKER_SPEECH_ENDED = "speaker.speech_ended"
    SPEAKER_OVERRAN = "speaker.overran"
    TIMER_PAUSED = "timer.paused"
    TIMER_RESUMED = "timer.resumed"
    TIMER_EXTENDED = "timer.extended"
    LIST_CLOSED = "list.closed"
    LIST_REOPENED = "list.reopened"
    ANNOUNCEMENT_POSTED = "announcement.posted"
    ANNOUNCEMENT_RETRACTED = "announcement.retracted"
    ANNOUNCEMENT_EXPIRED = "announcement.expired"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Event:
    """One fact: `id` is the stream id once appended (None while only decided)."""

    type: str
    room: str | None
    data: dict[str, Any]
    at: float
    id: str | None = None

    def with_id(self, id: str | bytes) -> Event:
        """The same event stamped with its stream id."""
        return replace(self, id=_text(id))

    def to_fields(self) -> dict[str, str]:
        """The stream entry's fields: `type`, `room` ("" when none), `data` (JSON), `at`."""
        return {
            "type": self.type,
            "room": self.room or "",
            "data": json.dumps(
                self.data, ensure_ascii=False, separators=(",", ":"), sort_keys=True
            ),
            "at": repr(float(self.at)),
        }

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, Any] | Mapping[bytes, Any], id: str | bytes | None = None
    ) -> Event:
        """Rebuild an event from a stream entry (str or bytes keys and values)."""
        plain = {_text(k): _text(v) for k, v in fields.items()}
        return cls(
            type=plain["type"],
            room=plain.get("room") or None,
            data=json.loads(plain.get("data") or "{}"),
            at=float(plain["at"]),
            id=_text(id) if id is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by `GET /api/events` and command answers."""
        return {
            "id": self.id,
            "type": self.type,
            "room": self.room,
            "data": self.data,
            "at": self.at,
        }
