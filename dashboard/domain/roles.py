"""Who may act: the roles of the service's principals."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["READS_EVERY_ROOM", "Role"]


class Role(StrEnum):
    """A principal's role; its value is what tokens and the access hash carry."""

    ADMIN = "admin"
    CHAIR = "chair"
    STAFF = "staff"
    SCREEN = "screen"
    SYSTEM = "system"  # the workers' own commands (time-driven); never in a link
    DELEGATION = "delegation"


# Roles whose access is not limited to rooms: they read every room's state (and the
# overview). A delegation's access names its delegation, not a room.
READS_EVERY_ROOM = frozenset({Role.ADMIN, Role.STAFF, Role.SYSTEM, Role.DELEGATION})
