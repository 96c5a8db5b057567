"""Property: the state built live through Redis equals the state replayed from the stream."""

from __future__ import annotations

import time

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.domain import DomainError, parse_command, room_view
from dashboard.eventlog import EventLog
from dashboard.meeting import Meeting
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
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
