"""Bounds of the live state, given to the rules by whoever runs them (settings stay outside)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Invalid


@dataclass(frozen=True)
class Limits:
    """How much live state a room may hold; a decider that declares `limits` receives them."""

    # Active announcements shown in one room; past it the oldest info ones expire.
    max_announcements: int = 20
    # Requests waiting on one room's list of speakers.
    max_queue: int = 200
    # Characters of an announcement's text in each language (the command's own cap: 500).
    max_text: int = 500
    # Characters of a speaker's name, and of their title (the command's own cap: 120).
    max_name: int = 120

    def check_length(self, field: str, text: str | None, limit: int) -> None:
        """Refuse a text longer than `limit` characters (Invalid, naming the field)."""
        if text is not None and len(text) > limit:
            raise Invalid(f"{field}: at most {limit} characters", field=field)


DEFAULT_LIMITS = Limits()
