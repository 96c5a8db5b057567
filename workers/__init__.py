"""Background consumers of the meeting's stream: scheduler, minutes, snapshots.

`plenary run` starts them all in its own process (`start_in_process`);
`plenary worker <name|all>` runs them as a process of their own
(`run_worker`). Each writes a heartbeat file that `python -m workers.health`
checks (the container health check).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask

from dashboard.domain import load_programme
from dashboard.domain.programme import default_programme_path
from dashboard.settings import Settings
from dashboard.store.eventlog import EventLog, connect
from dashboard.store.meeting import Meeting
from dashboard.store.minutes import MinutesProjection
from dashboard.web.extensions import socketio
from dashboard.web.services import Services, services
from workers import snapshots as snap
from workers.consumer import Consumer
from workers.minutes import GROUP
from workers.scheduler import Scheduler

log = logging.getLogger(__name__)

NAMES = ("scheduler", "minutes", "snapshots")


def heartbeat_path(data_dir: Path | str, name: str) -> Path:
    """The file a worker touches on every round (its mtime says it is alive)."""
    return Path(data_dir) / f"worker-{name}.alive"


def _beat(path: Path) -> Any:
    last = [0.0]
    failing = [False]

    def beat() -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            try:
                path.touch(mode=0o600)  # the data folder is private (0600)
            except OSError as exc:  # a read-only disk must not stop the worker, but its
                if not failing[0]:  # health check will fail: say why, once
                    failing[0] = True
                    log.warning("cannot write the heartbeat file %s (%s): the health check "
                                "will report this worker stale", path, exc.strerror or exc)
                return
            if failing[0]:
                failing[0] = False
                log.info("heartbeat file %s written again", path)

    return beat


def build(settings: Settings, name: str, meeting: Meeting | None = None) -> Any:
    """One worker (an object with run() and stop()), on a Meeting of its own unless given."""
    if not settings.redis_url:
        raise ValueError("workers need REDIS_URL")
    if meeting is None:
        programme = load_programme(settings.programme or default_programme_path())
        client = connect(settings.redis_url, timeout=max(10.0, settings.redis_timeout_s))
        meeting = Meeting(programme, EventLog(
            client, programme.meeting.id, settings.key_prefix,
            min_replicas=settings.min_replicas, replica_timeout_ms=settings.replica_timeout_ms),
            limits=settings.limits)
    with contextlib.suppress(OSError):  # the heartbeat says it when it cannot be written
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    beat = _beat(heartbeat_path(settings.data_dir, name))
    common = {
        "min_idle_ms": settings.worker_min_idle_ms,
        "max_deliveries": settings.worker_max_deliveries,
        "on_beat": beat,
    }
    if name == "scheduler":
        return Scheduler(meeting, grace_s=settings.notice_grace_s, on_beat=beat)
    if name == "minutes":
        projection = MinutesProjection(meeting.log)
        return Consumer(settings.redis_url, meeting.log.stream, GROUP, projection.handle,
                        handle_batch=projection.handle_batch, pace_s=1.0, **common)
    if name == "snapshots":
        snapshots = snap.SnapshotWorker(meeting, settings.snapshot_every)
        return Consumer(settings.redis_url, meeting.log.stream, snap.GROUP, snapshots.handle,
                        handle_batch=snapshots.handle_batch, pace_s=1.0, **common)
    raise ValueError(f"unknown worker {name!r}; choose from {', '.join(NAMES)} or all")


def start_in_process(app: Flask) -> list[Any]:
    """Start every worker as a background task of `plenary run` (gevent greenlets)."""
    parts = services(app)
    workers = []
    for name in NAMES:
        # The scheduler shares the web's meeting, so its commands reach the screens at
        # once; the snapshot worker folds a meeting of its own (it saves a consistent
        # state while the web's keeps moving).
        meeting = parts.meeting if name == "scheduler" else _own_meeting(parts)
        worker = build(parts.settings, name, meeting)
        socketio.start_background_task(worker.run)
        workers.append(worker)
    app.extensions["plenary_workers"] = workers
    log.info("workers running in-process: %s", ", ".join(NAMES))
    return workers


def _own_meeting(parts: Services) -> Meeting:
    return Meeting(parts.meeting.programme, parts.log, limits=parts.meeting.limits)


def run_worker(settings: Settings, name: str) -> None:
    """Run one worker (or all) in this process until SIGTERM or SIGINT."""
    names = NAMES if name == "all" else (name,)
    workers = [build(settings, n) for n in names]
    threads = [threading.Thread(target=w.run, name=n, daemon=True)
               for n, w in zip(names, workers, strict=True)]

    def stop(*_: Any) -> None:
        log.info("stopping workers: %s", ", ".join(names))
        for worker in workers:
            worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)
