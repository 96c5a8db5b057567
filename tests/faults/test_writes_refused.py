"""A primary that refuses writes for want of replicas (`min-replicas-to-write`, which
docs/deploy.md recommends; after a failover with one replica the new primary has none
until the old one rejoins) is an outage to the workers: waited out with one warning,
never blamed on the entries (no failed delivery, nothing parked), and the work resumes
by itself once writes are accepted again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.domain import load_programme
from dashboard.domain.minutes import fold_all, report
from dashboard.domain.programme import default_programme_path
from dashboard.store.eventlog import EventLog, connect
from dashboard.store.minutes import MinutesProjection, current_minutes
from tests.faults.harness import RedisServer
from tests.workers.script import Script, scripted_sitting
from workers.consumer import Consumer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def refusing(own_redis: RedisServer) -> Iterator[RedisServer]:
    yield own_redis
    with own_redis.client() as c:
        c.config_set("min-replicas-to-write", 0)


def test_a_worker_waits_out_a_primary_refusing_writes_and_blames_no_entry(
        refusing: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    programme = load_programme(default_programme_path())
    client = connect(refusing.url, timeout=5)
    log = EventLog(client, programme.meeting.id, "refused")
    script = Script(programme, log)
    scripted_sitting(script, 1_700_000_000.0)
    with refusing.client() as c:
        c.config_set("min-replicas-to-write", 1)  # no replica: every write is NOREPLICAS

    projection = MinutesProjection(log)
    consumer = Consumer(refusing.url, log.stream, "minutes", projection.handle,
                        block_ms=100, max_deliveries=2, retry_delay=0.01)
    caplog.set_level(logging.INFO, logger="workers.consumer")
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        time.sleep(2.5)  # long enough for several rounds of the loop
        assert consumer.stats.handled == 0  # nothing could be written
        assert consumer.stats.failed == 0 and consumer.stats.dead == 0
        noisy = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not noisy, [r.getMessage() for r in noisy]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "NOREPLICAS" in warnings[0].getMessage()

        with refusing.client() as c:
            c.config_set("min-replicas-to-write", 0)
        deadline = time.monotonic() + 10
        while consumer.stats.handled < len(script.events):
            assert time.monotonic() < deadline, consumer.stats
            time.sleep(0.05)
    finally:
        consumer.stop()
        thread.join(5)
    assert consumer.stats.dead == 0
    assert client.xlen(log.key("dead")) == 0
    assert current_minutes(log, programme, now=0) == report(fold_all(script.events),
                                                            programme, now=0)
    client.close()


def test_a_command_the_primary_refuses_for_want_of_replicas_is_503_saying_so(
        refusing: RedisServer, tmp_path: Path):
    from dashboard import create_app
    from dashboard.settings import load_settings
    from dashboard.web.access import make_token
    from tests.conftest import SECRET

    app = create_app(load_settings(redis_url=refusing.url, key_prefix="refused-cmd",
                                   data_dir=tmp_path, secret_key=SECRET, run_workers=False))
    client = app.test_client()
    meeting = app.extensions["plenary"].meeting
    room = meeting.programme.rooms[0].id
    admin = make_token("admin", "*", SECRET, deployment=app.config["PLENARY_DEPLOYMENT"])
    body = {"type": "announcement.post", "room": room, "text": {"es": "a", "en": "a"},
            "command_id": "w1"}
    headers = {"Authorization": f"Bearer {admin}"}
    stream = f"refused-cmd:{{{meeting.programme.meeting.id}}}:events"
    with refusing.client() as c:
        c.config_set("min-replicas-to-write", 1)
        refused = client.post("/api/commands", json=body, headers=headers)
        assert refused.status_code == 503 and refused.json["error"]["code"] == "unavailable"
        message = refused.json["error"]["message"]
        # not "unreachable": Redis answered, and said why it wrote nothing
        assert "replica" in message and "nothing was changed" in message, message
        assert c.xlen(stream) == 0
        c.config_set("min-replicas-to-write", 0)
        retried = client.post("/api/commands", json=body, headers=headers)
        assert retried.status_code == 200, retried.json
        assert c.xlen(stream) == 1
