"""Reading the whole stream in batches: each next batch is asked for before the caller folds
the current one (a cold start's replay), and that must change nothing of what is read."""

from __future__ import annotations

import uuid

import pytest
import redis

from dashboard.domain import Event
from dashboard.domain.events import Opaque
from dashboard.store.eventlog import EventLog


def _filled(client: redis.Redis, prefix: str, count: int) -> tuple[EventLog, list[str]]:
    log = EventLog(client, "m", prefix)
    events = [Event(type="note", room=None, data=Opaque({"n": n}), at=float(n))
              for n in range(count)]
    ids = list(log.append(events, "0-0", "fill").ids)
    return log, ids


@pytest.mark.parametrize(("count", "batch"), [(3, 4), (4, 4), (16, 4), (23, 4), (23, 1)])
def test_every_event_once_and_in_order_whatever_the_batches(redis_url, prefix, count, batch):
    client = redis.Redis.from_url(redis_url)
    log, ids = _filled(client, prefix, count)
    read = list(log.read_all(batch=batch))
    assert [e.id for e in read] == ids
    assert [e.data for e in read] == [Opaque({"n": n}) for n in range(count)]
    assert [e.id for e in log.read_all(ids[1], batch=batch)] == ids[2:]
    assert list(log.read_all(ids[-1], batch=batch)) == []
    client.close()


def test_a_reader_left_halfway_leaves_the_client_usable(redis_url, prefix):
    client = redis.Redis.from_url(redis_url)
    log, ids = _filled(client, prefix, 20)
    reader = log.read_all(batch=4)
    assert [next(reader).id for _ in range(6)] == ids[:6]  # the next batch is on its way
    reader.close()
    for _ in range(3):  # every connection of the pool answers its own command
        assert [e.id for e in log.read(ids[9], 2)] == ids[10:12]
        assert log.last_id() == ids[-1]
    assert [e.id for e in log.read_all(batch=4)] == ids
    client.close()


def test_a_connection_lost_halfway_is_read_again_from_where_it_stopped(redis_url, prefix):
    name = f"readall-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url, client_name=name)
    admin = redis.Redis.from_url(redis_url)
    log, ids = _filled(client, prefix, 40)
    reader = log.read_all(batch=4)
    got = [next(reader).id for _ in range(6)]
    for conn in admin.client_list():
        if conn.get("name") == name:
            admin.client_kill_filter(_id=conn["id"])
    got += [e.id for e in reader]
    assert got == ids
    admin.close()
    client.close()


def test_a_versioned_payload_is_stored_with_its_version_and_upcast_when_read(redis_url, prefix):
    import dataclasses
    from typing import Any

    from dashboard.domain.events import EVENTS, UPCASTERS, Payload, event, upcaster

    @event("test.stored", version=2)  # type: ignore[arg-type]
    @dataclasses.dataclass(frozen=True, slots=True)
    class Stored(Payload):
        code: str

    @upcaster("test.stored", 1)
    def v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"code": data["delegation"]}

    try:
        client = redis.Redis.from_url(redis_url)
        log = EventLog(client, "m", prefix)
        old = client.xadd(log.stream, {"type": "test.stored", "room": "", "at": "1.0",
                                       "data": '{"delegation":"PAN"}', "cmd": "x"})
        new = log.append([Event.of(Stored("USA"), None, 2.0)], old.decode(), "y").ids[0]
        assert client.xrange(log.stream, new, new)[0][1][b"v"] == b"2"
        read = log.read()
        assert [e.data for e in read] == [Stored("PAN"), Stored("USA")]
        assert [e.data for e in log.read_range(old.decode(), new)] == [Stored("PAN"), Stored("USA")]
    finally:
        del EVENTS["test.stored"], UPCASTERS[("test.stored", 1)]
