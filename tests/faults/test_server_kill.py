"""Promise 1: a hard-killed web server loses no acknowledged command, and every
screen comes back by itself with the current state."""

from __future__ import annotations

import threading
import time

import pytest
import redis
import requests

from tests.faults.harness import (
    RetryingChair,
    Swarm,
    assert_acked_in_stream,
    programme_of,
    rooms_with_sittings,
    stream_entries,
)

pytestmark = pytest.mark.slow

SCREENS = 200


def chair_loop(chair: RetryingChair, codes: list[str], stop: threading.Event,
               pace: float = 0.05) -> None:
    """Alternate "add a delegation" and "next" (every command is valid when it is decided),
    at a brisk human pace: each state goes to 200 screens."""
    i = 0
    while not stop.is_set():
        chair.send({"type": "speaker.add", "delegation": codes[i % len(codes)]})
        time.sleep(pace)
        chair.send({"type": "speaker.next"})
        time.sleep(pace)
        i += 1


@pytest.mark.timeout(240)
def test_sigkill_loses_no_acknowledged_command_and_screens_come_back(
        live_server, redis_url, prefix, tmp_path, record_property):
    programme = programme_of(live_server)
    room, session = rooms_with_sittings(programme)[0]
    codes = [d["code"] for d in programme["delegations"]]
    chair = RetryingChair([live_server], live_server.token("chair", room), room)
    chair.send({"type": "session.open", "session_id": session})
    swarm = Swarm([live_server.url], live_server.token("screen", room), [room], SCREENS,
                  tmp_path)
    stop = threading.Event()
    worker = threading.Thread(target=chair_loop, args=(chair, codes, stop))
    try:
        swarm.wait_ready(90)
        worker.start()
        time.sleep(2)
        live_server.kill()
        killed_at = time.monotonic()
        time.sleep(1)
        live_server.start()
        back = time.monotonic()
        while True:  # the chair keeps going on the restarted server meanwhile
            status = swarm.status()
            if status["subscribed"] == SCREENS and min(status["connects"]) >= 2:
                break
            assert time.monotonic() - back < 5, f"{status['subscribed']} resubscribed in 5 s"
            time.sleep(0.1)
        resubscribed = time.monotonic() - back
        time.sleep(max(0.0, 1 - resubscribed))
        stop.set()
        worker.join(60)
        assert not worker.is_alive()
        current = requests.get(f"{live_server.url}/api/rooms/{room}", timeout=5, headers={
            "Authorization": f"Bearer {chair.token}"}).json()["version"]
        swarm.wait_versions({room: current}, timeout=max(0.5, 5 - (time.monotonic() - back)))
        caught_up = time.monotonic() - back
        assert swarm.status()["connected"] == SCREENS
        client = redis.Redis.from_url(redis_url)
        meeting = programme["meeting"]["id"]
        assert_acked_in_stream(chair.acked, stream_entries(client, prefix, meeting))
        record_property("acked", len(chair.acked))
        record_property("retries", chair.retries)
        record_property("restart_s", round(back - killed_at, 2))
        record_property("resubscribed_s", round(resubscribed, 2))
        record_property("screens_current_s", round(caught_up, 2))
        print(f"\nacked={len(chair.acked)} retries={chair.retries} down={back - killed_at:.2f}s "
              f"all {SCREENS} resubscribed {resubscribed:.2f}s after back, current at "
              f"{caught_up:.2f}s")
    finally:
        stop.set()
        swarm.close()
