"""gevent's monkey-patching, applied first by every entry point (before redis, ssl or Flask
are imported): every blocking call of the standard library then yields to the event loop."""

from __future__ import annotations

from gevent import monkey


def patch_all() -> None:
    """`gevent.monkey.patch_all()`; safe to call more than once."""
    monkey.patch_all()
