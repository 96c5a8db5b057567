"""The Socket.IO rooms a state is sent to: one per meeting room, and the overview."""

from __future__ import annotations

OVERVIEW = "overview"


def room_channel(room_id: str) -> str:
    """The Socket.IO room of one meeting room's screens."""
    return f"room:{room_id}"
