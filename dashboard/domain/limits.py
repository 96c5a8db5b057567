"""Bounds of the live state, given to the rules by whoever runs them (settings stay outside)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How much live state a room may hold; a decider that declares `limits` receives them."""

    # Active announcements shown in one room; past it the oldest info ones expire.
    max_announcements: int = 20
    # Requests waiting on one room's list of speakers.
    max_queue: int = 200


DEFAULT_LIMITS = Limits()
