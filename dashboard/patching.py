"""The process's patches, applied first by every entry point (before redis, ssl or Flask):
gevent's monkey-patching, and the stack's imports this service never uses deferred."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from importlib import metadata
from typing import Any

# Imported by the stack for features this service does not use, ~40 ms of every start
# (docs/performance.md): python-engineio's client imports `requests` (and urllib3,
# charset_normalizer, idna); redis and valkey import their asyncio clients, and so do
# python-socketio's message-queue managers. Each is imported for real on first use.
UNUSED = ("requests", "redis.asyncio", "valkey.asyncio")


def patch_all() -> None:
    """`gevent.monkey.patch_all()`, with the installed packages' entry points read once;
    then the modules of `UNUSED` deferred.

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
    for name in UNUSED:
        defer(name)


class Deferred(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet: `import` statements bind it
    without running the module; the first attribute read from it imports the module
    and every later one is forwarded to it."""

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__.get("_module")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = self.__dict__["_module"] = importlib.import_module(self.__name__)
        return getattr(real, attr)


def defer(name: str) -> None:
    """Put a `Deferred` for the module `name` in `sys.modules` (not if it is imported
    already or not installed). Its package, if any, is not imported either."""
    if name in sys.modules:
        return
    parent, _, _ = name.rpartition(".")
    if parent:  # found in its package's folders: `find_spec(name)` would import the package
        package = importlib.util.find_spec(parent)
        locations = package.submodule_search_locations if package else None
        spec = importlib.machinery.PathFinder.find_spec(name, locations) if locations else None
    else:
        spec = importlib.util.find_spec(name)
    if spec is None:
        return
    module = Deferred(name)
    module.__spec__, module.__loader__, module.__file__ = spec, spec.loader, spec.origin
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module
