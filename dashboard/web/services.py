"""The service's parts bound to one app, and the typed accessor the web layer reads them by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app

from dashboard.live.relay import Relay
from dashboard.settings import Settings
from dashboard.store.eventlog import EventLog
from dashboard.store.fleet import Fleet
from dashboard.store.meeting import Meeting

if TYPE_CHECKING:  # both modules read the services: a cycle at run time
    from dashboard.web.access import Generations
    from dashboard.web.metrics import Metrics
    from dashboard.web.sockets import Client

KEY = "plenary"  # the app.extensions entry


@dataclass
class Services:
    """What a web node is made of: its settings, Redis, the event log, the meeting
    folded from it, the relay, the access generations, the fleet and the connected sockets."""

    settings: Settings
    redis: redis.Redis
    log: EventLog
    meeting: Meeting
    relay: Relay
    access: Generations
    fleet: Fleet
    metrics: Metrics
    clients: dict[str, Client] = field(default_factory=dict)


def services(app: Flask | None = None) -> Services:
    """The services of `app` (the current app by default)."""
    found: Services = (app or current_app).extensions[KEY]
    return found
