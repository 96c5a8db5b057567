"""The consumer loop: a crash between the work and the ack, a poison entry, a Redis restart."""

from __future__ import annotations

import time

from dashboard.domain.minutes import fold_all, report
from dashboard.store.eventlog import id_key
from dashboard.store.minutes import MinutesProjection, current_minutes
from tests.workers.conftest import stream_entries
from tests.workers.script import Script, scripted_sitting
from workers.consumer import Consumer


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even the ack."""


def _consumer(redis_url, log, handle, name, **kw) -> Consumer:
    kw.setdefault("block_ms", 100)
    kw.setdefault("min_idle_ms", 300)
    return Consumer(redis_url, log.stream, "minutes", handle, name=name, **kw)


def test_a_worker_killed_between_work_and_ack_leaves_no_gap_and_no_duplicate(
    redis_url, log, programme
):
    script = Script(programme, log)
    scripted_sitting(script, 1_700_000_000.0)
    ids = [e.id for e in script.events]
    projection_a = MinutesProjection(log)
    seen: list[str] = []
    victim = ids[len(ids) // 2]

    def handle_a(entry_id, fields):
        projection_a.handle(entry_id, fields)  # the work is done and saved...
        seen.append(entry_id)
        if entry_id == victim:
            raise Killed  # ...and the worker dies before XACK

    a = _consumer(redis_url, log, handle_a, "a", batch=1)
    try:
        while True:
            a.step()
    except Killed:
        pass
    pending = a.client.xpending(log.stream, "minutes")
    assert pending["pending"] == 1 and pending["min"].decode() == victim

    handled_by_b: list[str] = []
    projection_b = MinutesProjection(log)

    def handle_b(entry_id, fields):
        projection_b.handle(entry_id, fields)
        handled_by_b.append(entry_id)

    b = _consumer(redis_url, log, handle_b, "b")
    deadline = time.monotonic() + 10
    while b.client.xpending(log.stream, "minutes")["pending"] or len(handled_by_b) < len(
        ids
    ) - len(seen) + 1:
        assert time.monotonic() < deadline, "b did not take over"
        b.step()
    assert b.stats.claimed == 1
    # every entry handled, the victim twice (once by each), none acknowledged twice
    assert sorted(seen + handled_by_b, key=id_key) == sorted(ids + [victim], key=id_key)
    stored = current_minutes(log, programme, now=0)
    expected = report(fold_all(script.events), programme, now=0)
    assert stored == expected
    assert len(stored["speeches"]) == 3  # no speech twice, none missing
    a.client.close()
    b.client.close()


def test_a_poison_entry_is_parked_in_the_dead_letter_stream_and_the_worker_goes_on(
    redis_url, log, programme, rclient
):
    script = Script(programme, log)
    script.do(1_700_000_000.0, "session.open", session_id="plenaria")
    poison = rclient.xadd(log.stream, {"type": "speaker.added", "data": "{not json"}).decode()
    script.state.version = poison  # the next appends come after it
    script.do(1_700_000_010.0, "speaker.add", delegation="PAN")
    projection = MinutesProjection(log)
    consumer = _consumer(redis_url, log, projection.handle, "c", max_deliveries=3,
                         retry_delay=0.01)
    deadline = time.monotonic() + 10
    while consumer.stats.dead == 0 or consumer._retry_at:
        assert time.monotonic() < deadline
        consumer.step()
    assert consumer.stats.handled == 2
    (dead_id, dead), = stream_entries(rclient, log.key("dead"))
    assert dead["id"] == poison and dead["group"] == "minutes" and dead["deliveries"] == "3"
    assert "JSONDecodeError" in dead["reason"]
    assert dead["entry.data"] == "{not json"
    assert consumer.client.xpending(log.stream, "minutes")["pending"] == 0
    # the worker goes on with what comes next
    script.do(1_700_000_020.0, "speaker.next")
    consumer.step()
    assert consumer.stats.handled == 3
    assert current_minutes(log, programme, now=1_700_000_030.0)["speeches"][0]["spoken_s"] == 10
    consumer.client.close()


def test_the_loop_waits_out_an_unreachable_redis_and_stops_when_asked(log):
    import threading

    consumer = Consumer("redis://127.0.0.1:1/0", log.stream, "minutes", lambda i, f: None,
                        block_ms=100)
    thread = threading.Thread(target=consumer.run)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()
    consumer.stop()
    thread.join(5)
    assert not thread.is_alive()
