"""Vital signs: GET /metrics in the Prometheus text format, and JSON log lines.

Counters and histograms are kept per app (its own registry: two apps in one
process never share figures); what is read from the state, Redis or the
sockets (clients, lag, the fleet) is gathered at each scrape.

The processes of `plenary run --processes N` share one port, so a scrape
reaches one of them: it must answer for all. Their parent gives them one
folder in PROMETHEUS_MULTIPROC_DIR, where prometheus_client keeps every
process's counters and histograms (those of a process that ended included,
as a counter must never go back); each process also writes there its clients
and its tail's lag every `SHARE_EVERY_S` (the one scraped: at the scrape),
and the scrape adds up the folder (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import struct
import sys
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Blueprint, Response, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from dashboard.domain import COMMAND_TYPES
from dashboard.domain.roles import Role
from dashboard.store.fleet import version_ms
from dashboard.web.access import require_principal
from dashboard.web.services import Services, services

bp = Blueprint("metrics", __name__)
audit = logging.getLogger("plenary.audit")
log = logging.getLogger(__name__)

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SHARED_DIR = "PROMETHEUS_MULTIPROC_DIR"  # set by the parent of `plenary run --processes`
OLD_SHARED_DIR = "prometheus_multiproc_dir"  # prometheus_client reads it when the other is unset
SHARE_EVERY_S = 1.0
APPENDS_HELD = 64  # append times noted at most before they are observed
# prometheus_client's files of one process in that folder (`<kind>_<pid>.db`), and what it
# maps of each when it makes it (more only past that many bytes of series).
_FILES = ("counter", "histogram", "gauge_livesum", "gauge_livemax")
_MAPPED_BYTES = 1 << 16
METRICS_ROOM_BYTES = 1 << 20  # free room a process needs to share its figures (and spare)


class Metrics:
    """The counters and histograms of one app, in a registry of its own."""

    def __init__(self) -> None:
        # The folder the processes of one port share (`share_in`; none for a node alone).
        self.shared_dir: str | None = None
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
        self._appends: list[float] = []  # seconds of appends not observed yet
        self.parts: Services | None = None
        # --processes: what each process knows alone, written to the shared folder
        # (a process that ended drops out of both: `live` modes).
        self.clients: Gauge | None = None
        self.tail_lag: Gauge | None = None
        self.shared_clients: set[tuple[str, ...]] = set()

    def share_in(self, folder: str) -> None:
        """Be one of the processes of `plenary run --processes` (before `start_node`): the
        scrape adds up `folder`, where prometheus_client keeps every process's values (it
        is the PROMETHEUS_MULTIPROC_DIR their parent gave them). A node alone never reads
        that variable: a folder of the operator's holds other processes' figures."""
        self.shared_dir = folder
        clients, lag = _families()[:2]
        self.clients = Gauge(clients.name, clients.documentation, ["kind", "room", "node"],
                             multiprocess_mode="livesum", registry=None)
        self.tail_lag = Gauge(lag.name, lag.documentation, ["node"],
                              multiprocess_mode="livemax", registry=None)

    def note_append(self, seconds: float) -> None:
        """One append's time: observed with its command's figures, once the command is
        answered (an observation takes a lock, which has no place between the append and
        the answer), or at the next scrape, or once APPENDS_HELD wait."""
        self._appends.append(seconds)
        if len(self._appends) >= APPENDS_HELD:
            self.observe_appends()

    def observe_appends(self) -> None:
        """Observe the append times noted since the last call."""
        held, self._appends = self._appends, []
        for seconds in held:
            self.append_seconds.observe(seconds)

    def observe_broadcast(self, seconds: float, size: int) -> None:
        """One room's state sent to its screens: how long it took, how large it was."""
        self.broadcast_seconds.observe(seconds)
        self.broadcast_bytes.observe(size)

    def bind(self, parts: Services) -> None:
        """Gather, at each scrape, what the node's state, sockets and Redis say."""
        self.parts = parts
        self.registry.register(_Gathered(parts))

    def exposition(self) -> bytes:
        """The scrape's answer: this node's figures, or with --processes every process's."""
        self.observe_appends()
        if not self.shared_dir or self.parts is None:
            return bytes(generate_latest(self.registry))
        self.share()
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.shared_dir)
        registry.register(_Gathered(self.parts, local=False))
        return bytes(generate_latest(registry))

    def share(self) -> None:
        """Write this process's clients and tail lag to the shared folder."""
        if self.parts is None or self.clients is None or self.tail_lag is None:
            return
        clients, lag = _local(self.parts)
        now = {tuple(s.labels.values()): s.value for s in clients.samples}
        for labels in self.shared_clients - now.keys():  # none left: 0, not the last count
            self.clients.labels(*labels).set(0)
        for labels, value in now.items():
            self.clients.labels(*labels).set(value)
        self.shared_clients = set(now)
        # Redis not answering: no figure, rather than the last one (NaN, as absent to alerts)
        behind = lag.samples[0].value if lag.samples else float("nan")
        self.tail_lag.labels(self.parts.fleet.node).set(behind)

    def run_sharer(self, sleep: Callable[[float], object]) -> None:
        """With --processes: share this process's figures every SHARE_EVERY_S (a background
        task of the node)."""
        while self.shared_dir:
            sleep(SHARE_EVERY_S)
            try:
                self.share()
            except Exception:  # the next round writes them; a scrape must not lose them all
                log.exception("could not share this process's metrics")


def reserve_files(folder: str) -> None:
    """Give this process's files in the shared folder their disk blocks, before any metric
    is made: a write through a memory map to a block that a full disk cannot give ends the
    process (SIGBUS). OSError when the disk has not the room."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None:  # not on this platform: the files get their blocks when written
        return
    for kind in _FILES:
        fd = os.open(os.path.join(folder, f"{kind}_{os.getpid()}.db"),
                     os.O_RDWR | os.O_CREAT, 0o600)
        try:
            allocate(fd, 0, _MAPPED_BYTES)
        finally:
            os.close(fd)


def release_files(folder: str, pid: int) -> None:
    """Process `pid` ended: its clients and lag leave the sums; its counters and histograms
    stay, cut to what they hold (the blocks reserved past it go back to the disk)."""
    with contextlib.suppress(OSError):
        mark_process_dead(pid, folder)
    for kind in ("counter", "histogram"):
        with contextlib.suppress(OSError), open(
                os.path.join(folder, f"{kind}_{pid}.db"), "r+b") as file:
            used = struct.unpack("i", file.read(4))[0]  # the first 4 bytes: bytes in use
            file.truncate(max(8, used))


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


def _newest(parts: Services) -> str:
    newest = parts.redis.xrevrange(parts.log.stream, count=1)
    return str(newest[0][0].decode()) if newest else "0-0"


def _local(parts: Services) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    """What this process alone knows: its clients, and how far its tail is behind (no
    sample when Redis does not answer)."""
    node = parts.fleet.node
    clients, lag = _families()[:2]
    tally = Tally((c.kind or c.principal.role, c.room or "", node)
                  for c in list(parts.clients.values()))
    for (kind, room, at), n in sorted(tally.items()):
        clients.add_metric([kind, room, at], n)
    try:
        last, mine = _newest(parts), parts.meeting.version
        behind = max(0.0, (version_ms(last) - version_ms(mine)) / 1000) if last != mine else 0
        lag.add_metric([node], behind)
    except redis.RedisError:
        pass  # the scrape still answers what this node knows
    return clients, lag


class _Gathered(Collector):
    """Clients by kind, room and node; the tail's and the workers' lag; the fleet (without
    `local`: the last two only, the same whichever node is asked)."""

    def __init__(self, parts: Services, local: bool = True) -> None:
        self.parts, self.local = parts, local

    def describe(self) -> Iterator[Metric]:
        """The metrics' names, for the registry (without it, the registry would gather
        them all, Redis included, when the collector is registered at start)."""
        return iter(_families() if self.local else _families()[2:])

    def collect(self) -> Iterator[Metric]:
        parts = self.parts
        if self.local:
            yield from _local(parts)
        groups, fleet = _families()[2:]
        try:
            stream = parts.log.stream
            last = _newest(parts)
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


def observe_command(parts: Services, body: Any, seconds: float, outcome: str,
                    role: str | None) -> None:
    """Count one answered command and the seconds it took; log it as JSON when asked to."""
    kind = body.get("type") if isinstance(body, dict) else None
    kind = kind if isinstance(kind, str) and kind in COMMAND_TYPES else "unknown"
    parts.metrics.commands.labels(kind, outcome).inc()
    parts.metrics.command_seconds.observe(seconds)
    parts.metrics.observe_appends()
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
    return Response(parts.metrics.exposition(),
                    content_type="text/plain; version=0.0.4; charset=utf-8",
                    headers={"Cache-Control": "no-store"})
