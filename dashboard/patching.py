"""gevent's monkey-patching, called first by every entry point (before redis, ssl or Flask)."""

from __future__ import annotations

from importlib import metadata


def patch_all() -> None:
    """`gevent.monkey.patch_all()`, with the installed packages' entry points read once.

    `patch_all` announces each module it patches to gevent plugins, looking them
    up with `importlib.metadata.entry_points(group=...)` 25 times, and every
    lookup reads the metadata of every installed distribution: ~60 ms of a
    ~0.55 s start (docs/performance.md). Here those lookups are answered from
    one reading; the same entry points, found once.
    """
    every = metadata.entry_points()
    original = metadata.entry_points
    metadata.entry_points = lambda **params: every.select(**params)  # type: ignore[assignment]
    try:
        from gevent import monkey

        monkey.patch_all()
    finally:
        metadata.entry_points = original
