"""The Socket.IO rooms a state is sent to: one per meeting room, and the overview."""

from __future__ import annotations

OVERVIEW = "overview"
# The overview as the desks (chairs, secretariat, admins) receive it: with pending requests.
OVERVIEW_DESK = "overview:desk"


def room_channel(room_id: str) -> str:
    """The Socket.IO room of one meeting room's screens."""
    return f"room:{room_id}"


def desk_channel(room_id: str) -> str:
    """The Socket.IO room of one meeting room's desks (its state with pending requests)."""
    return f"desk:{room_id}"
