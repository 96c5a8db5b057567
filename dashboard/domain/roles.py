"""Who may act: the roles of access links, and the one that time acts as (`system`)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """A principal's role; the value is what tokens and `plenary links` carry."""

    ADMIN = "admin"
    CHAIR = "chair"
    STAFF = "staff"
    SCREEN = "screen"
    DELEGATION = "delegation"
    SYSTEM = "system"  # the scheduler: never in a token
