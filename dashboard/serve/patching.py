"""gevent's monkey-patching, applied first by every entry point (before redis, ssl or Flask
are imported): every blocking call of the standard library then yields to the event loop."""

from __future__ import annotations

import gevent
from gevent import monkey


def patch_all() -> None:
    """`gevent.monkey.patch_all()`; safe to call more than once.

    Greenlets do not record who spawned them (gevent's `track_greenlet_tree`, a
    debugging aid nothing here reads): each connection's greenlets would otherwise
    keep a copy of the spawning stack for their whole life."""
    gevent.config.track_greenlet_tree = False
    monkey.patch_all()
