"""The Socket.IO rooms a state is sent to: one per meeting room and audience, and the
overview's.

Each audience (dashboard.domain.Audience) receives a room's state with what it may
see and nothing more: a socket joins the channel of its audience only.
"""

from __future__ import annotations

from dashboard.domain import Audience


def channel(room_id: str, audience: Audience) -> str:
    """The Socket.IO room of one meeting room's (`*`: every room's) pages of one audience."""
    return f"{audience}:{room_id}"


def overview(audience: Audience) -> str:
    """The Socket.IO room of the pages of one audience that follow every room."""
    return channel("*", audience)
