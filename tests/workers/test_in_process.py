"""`plenary run` runs the workers in-process: an announcement expires with nobody clicking."""

from __future__ import annotations

import time

import requests

from tests.conftest import SECRET
from tests.support import LiveServer, free_port


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
