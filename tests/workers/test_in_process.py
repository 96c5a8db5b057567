"""`plenary run` runs the workers in-process: an announcement expires with nobody clicking."""

from __future__ import annotations

import time

import gevent
import requests

from dashboard.store.meeting import Meeting
from dashboard.store.minutes import MinutesProjection
from tests.conftest import SECRET
from tests.support import LiveServer, free_port
from tests.workers.script import fill_speeches
from workers.consumer import TURN
from workers.snapshots import SnapshotWorker


def test_plenary_run_expires_announcements_and_keeps_the_minutes(redis_url, prefix, tmp_path):
    server = LiveServer(
        port=free_port(), data_dir=tmp_path / "node",
        env={"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
             "PLENARY_RUN_WORKERS": "true"},
    )
    server.start()
    try:
        staff = server.token("staff")
        posted = server.command(staff, {
            "type": "announcement.post", "text": {"es": "Café", "en": "Coffee"},
            "expires_at": time.time() + 1,
        })
        assert posted.status_code == 200, posted.text
        deadline = time.monotonic() + 8
        expired = []
        while not expired and time.monotonic() < deadline:
            events = requests.get(f"{server.url}/api/events", timeout=5,
                                  headers={"Authorization": f"Bearer {server.token('admin')}"})
            expired = [e for e in events.json() if e["type"] == "announcement.expired"]
            time.sleep(0.2)
        assert len(expired) == 1 and expired[0]["data"]["id"] == posted.json()["id"]
        for name in ("scheduler", "minutes", "snapshots"):
            assert (tmp_path / "node" / f"worker-{name}.alive").exists()
    finally:
        server.stop()


def test_the_workers_fold_in_turns_with_the_web(log, programme):
    """In `plenary run` the workers share the web's event loop: folding a backlog (a
    start, a second's worth of events) gives the loop a turn every few events, so a
    chair's command whose reply from Redis came in runs then, not after the fold."""
    count = 1_000
    fill_speeches(log, programme, count)
    turns = 0

    def web() -> None:  # stands for the web's greenlets: counts the turns it is given
        nonlocal turns
        while True:
            turns += 1
            gevent.sleep(0)

    other = gevent.spawn(web)
    gevent.sleep(0)
    try:
        turns = 0
        SnapshotWorker(Meeting(programme, log), every=10 * count).handle(log.last_id(), {})
        assert turns >= count // TURN - 1  # the start's replay

        turns = 0
        (last_id, fields), = log.client.xrevrange(log.stream, count=1)
        MinutesProjection(log).handle(last_id.decode(), fields)
        assert turns >= count // TURN - 1  # the record's fold
    finally:
        other.kill()
