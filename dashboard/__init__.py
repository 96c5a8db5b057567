"""Plenary Live: live screens, chair consoles and announcements for a ministerial meeting.

The package itself imports nothing heavy: `import dashboard.cli` must reach
gevent's monkey-patching before Flask, redis or ssl are imported. `create_app`,
`start_node` and `static_folder` live in `dashboard.app` and are read from
there on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.app import create_app, start_node, static_folder

__all__ = ["create_app", "start_node", "static_folder"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        # Not at the top: the entry points import this package before they patch.
        from dashboard import app

        return getattr(app, name)
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
