"""Property: the state built live through Redis equals the state replayed from the stream."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import redis
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.domain import DomainError, Event, parse_command, room_view
from dashboard.domain.events import Opaque
from dashboard.store.eventlog import EventLog
from dashboard.store.meeting import Meeting
from tests.support import delete_keys
from tests.unit.test_properties import PROGRAMME, command


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_live_state_equals_the_stream_replayed(redis_url, data):
    client = redis.Redis.from_url(redis_url)
    prefix = f"tprop{time.monotonic_ns()}"
    try:
        log = EventLog(client, PROGRAMME.meeting.id, prefix)
        live = Meeting(PROGRAMME, log)
        for s in PROGRAMME.sessions:
            if s.kind == "working_group":
                live.execute(parse_command({"type": "session.open", "room": s.room,
                                            "session_id": s.id}))
        for _ in range(data.draw(st.integers(1, 40))):
            body = command(data, live.state, time.time())
            try:
                live.execute(parse_command(body))
            except DomainError:
                pass
        replayed = Meeting(PROGRAMME, log)
        replayed.load()
        assert replayed.version == live.version == log.last_id()
        now = time.time()
        for room in PROGRAMME.rooms:
            assert room_view(replayed.state, room.id, now) == room_view(live.state, room.id, now)
    finally:
        client.close()
        delete_keys(redis_url, f"{prefix}:*")


def test_the_tail_hands_out_only_what_its_reader_does_not_have(redis_url, prefix):
    log = EventLog(redis.Redis.from_url(redis_url), "m", prefix)
    note = [Event(type="note", room=None, data=Opaque({"n": n}), at=float(n)) for n in range(4)]
    ids = log.append(note[:2], "0-0", "c1").ids
    have = [ids[0]]  # the reader's version
    tail = log.tail(lambda: have[0], redis_url, block_ms=2000)
    assert [e.data for e in next(tail)] == [Opaque({"n": 1})]
    have[0] = ids[1]
    with ThreadPoolExecutor(1) as pool:
        woken = pool.submit(next, tail)  # blocked in XREAD after n=1
        time.sleep(0.2)
        own = log.append(note[2:3], ids[1], "c2").ids[0]  # the reader's own command...
        batch = woken.result(timeout=5)
    have[0] = own  # ...folded by the command itself before the reader takes the batch
    assert list(batch) == []  # stepped over
    log.append(note[3:], own, "c3")  # another node's
    assert [e.data for e in next(tail)] == [Opaque({"n": 3})]
    tail.close()
