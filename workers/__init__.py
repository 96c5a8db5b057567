"""Background consumers of the meeting's stream."""

from __future__ import annotations

from typing import Any


def start_in_process(app: Any) -> None:
    """Start every worker as a background task of `plenary run` (none yet)."""


def run_worker(settings: Any, name: str) -> None:
    """Run one worker in this process."""
    raise SystemExit(f"plenary: worker {name!r} is not available yet")
