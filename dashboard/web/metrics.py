"""Vital signs: GET /metrics in the Prometheus text format, and JSON log lines.

Counters and histograms are kept per app (its own registry: two apps in one
process never share figures); what is read from the state, Redis or the
sockets (clients, lag, the fleet) is gathered at each scrape.
"""

from __future__ import annotations

import hmac
import json
import logging
import sys
import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboard.domain import COMMAND_TYPES
from dashboard.domain.roles import Role
from dashboard.store.fleet import version_ms
from dashboard.web.access import require_principal
from dashboard.web.services import Services, services

bp = Blueprint("metrics", __name__)
audit = logging.getLogger("plenary.audit")

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The counters and histograms of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "plenary_commands", "Commands answered, by type and outcome (ok or the error code).",
            ["type", "outcome"], registry=self.registry)
        self.command_seconds = Histogram(
            "plenary_command_seconds", "Time to answer a command (validation to answer).",
            buckets=FAST, registry=self.registry)
        self.append_seconds = Histogram(
            "plenary_append_seconds", "Time of one conditional append to the stream.",
            buckets=FAST, registry=self.registry)
        self.broadcast_seconds = Histogram(
            "plenary_broadcast_seconds", "Time to send one room's state to its screens.",
            buckets=FAST, registry=self.registry)
        self.broadcast_bytes = Histogram(
            "plenary_broadcast_bytes", "Size of one room's state as sent.",
            buckets=(512, 1024, 2048, 4096, 8192, 16384, 65536), registry=self.registry)
        self.connections = Counter(
            "plenary_connection_events", "Socket.IO connection events by kind (connect, "
            "disconnect, refused).", ["event"], registry=self.registry)

    def observe_broadcast(self, seconds: float, size: int) -> None:
        """One room's state sent to its screens: how long it took, how large it was."""
        self.broadcast_seconds.observe(seconds)
        self.broadcast_bytes.observe(size)

    def bind(self, parts: Services) -> None:
        """Gather, at each scrape, what the node's state, sockets and Redis say."""
        self.registry.register(_Gathered(parts))


def _families() -> tuple[GaugeMetricFamily, ...]:
    """The gathered metrics, empty: clients, the tail's lag, the workers' lag, the fleet."""
    return (
        GaugeMetricFamily("plenary_clients", "Sockets connected to this node.",
                          labels=["kind", "room", "node"]),
        GaugeMetricFamily("plenary_tail_lag_seconds", "How far this node's state is "
                          "behind the stream's newest event (seconds).", labels=["node"]),
        GaugeMetricFamily("plenary_worker_lag_seconds", "How far each worker group "
                          "is behind the stream's newest event (seconds).", labels=["group"]),
        GaugeMetricFamily("plenary_fleet_pages", "Pages of the fleet by status "
                          "(every node).", labels=["status"]),
    )


class _Gathered(Collector):
    """Clients by kind, room and node; the tail's and the workers' lag; the fleet."""

    def __init__(self, parts: Services) -> None:
        self.parts = parts

    def describe(self) -> Iterator[Metric]:
        """The metrics' names, for the registry (without it, the registry would gather
        them all, Redis included, when the collector is registered at start)."""
        return iter(_families())

    def collect(self) -> Iterator[Metric]:
        parts = self.parts
        node = parts.fleet.node
        clients, lag, groups, fleet = _families()
        tally = Tally((c.kind or c.principal.role, c.room or "", node)
                      for c in list(parts.clients.values()))
        for (kind, room, at), n in sorted(tally.items()):
            clients.add_metric([kind, room, at], n)
        yield clients
        try:
            stream = parts.log.stream
            newest = parts.redis.xrevrange(stream, count=1)
            last = newest[0][0].decode() if newest else "0-0"
            mine = parts.meeting.version
            behind = max(0.0, (version_ms(last) - version_ms(mine)) / 1000) if last != mine else 0
            lag.add_metric([node], behind)
            for group in parts.redis.xinfo_groups(stream):
                name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
                done = group.get("last-delivered-id") or b"0-0"
                done = done.decode() if isinstance(done, bytes) else done
                groups.add_metric([name], max(0.0, (version_ms(last) - version_ms(done)) / 1000))
            listed = parts.fleet.listing(parts.meeting.room_versions())
            statuses = Tally(p["status"] for p in listed)
            for status in ("live", "behind", "silent", "gone"):
                fleet.add_metric([status], statuses.get(status, 0))
        except redis.RedisError:
            pass  # the scrape still answers what this node knows
        yield lag
        yield groups
        yield fleet


def configure_logging(log_format: str) -> None:
    """With `json`, the audit log (commands, connections) goes to stderr, one JSON a line."""
    if log_format != "json" or audit.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    audit.propagate = False


def log_event(event: str, **fields: Any) -> None:
    """One JSON line on the audit log (nothing when it is not configured)."""
    if audit.isEnabledFor(logging.INFO) and audit.handlers:
        audit.info(json.dumps({"at": round(time.time(), 3), "event": event, **fields},
                              ensure_ascii=False, default=str))


def observe_command(parts: Services, body: Any, began: float, outcome: str,
                    role: str | None) -> None:
    """Count one answered command and its time; log it as JSON when asked to."""
    kind = body.get("type") if isinstance(body, dict) else None
    kind = kind if isinstance(kind, str) and kind in COMMAND_TYPES else "unknown"
    seconds = time.perf_counter() - began
    parts.metrics.commands.labels(kind, outcome).inc()
    parts.metrics.command_seconds.observe(seconds)
    room = body.get("room") if isinstance(body, dict) else None
    log_event("command", type=kind, outcome=outcome, role=role,
              room=room if isinstance(room, str) else None, ms=round(seconds * 1000, 2),
              node=parts.fleet.node)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus scrapes the node: an admin's bearer token or PLENARY_METRICS_TOKEN."""
    parts = services()
    token = parts.settings.metrics_token
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if not (token and scheme.lower() == "bearer"
            and hmac.compare_digest(value.strip().encode(), token.encode())):
        require_principal(Role.ADMIN)
    return Response(generate_latest(parts.metrics.registry),
                    content_type="text/plain; version=0.0.4; charset=utf-8",
                    headers={"Cache-Control": "no-store"})
