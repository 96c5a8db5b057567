"""Snapshots: a cold start loads one and replays only the tail; a bad one is ignored."""

from __future__ import annotations

import json
import time

from dashboard.domain.snapshot import pack, unpack
from dashboard.store.meeting import Meeting
from dashboard.store.snapshots import load_snapshot, save_snapshot
from tests.workers.script import fill_speeches
from workers.consumer import Consumer
from workers.snapshots import SnapshotWorker

EVENTS = 20_000


def _cold_start(log, programme, snapshot) -> tuple[Meeting, float]:
    started = time.perf_counter()
    meeting = Meeting(programme, log)
    meeting.load(load_snapshot(log, programme) if snapshot else None)
    return meeting, time.perf_counter() - started


def test_a_snapshot_speeds_a_cold_start_and_a_corrupt_one_falls_back(log, programme, caplog):
    fill_speeches(log, programme, EVENTS)
    full, replay_s = _cold_start(log, programme, snapshot=False)
    events = log.client.xlen(log.stream)
    assert events >= EVENTS
    # a snapshot taken 100 events before the end
    tail = log.read(log.read(count=events - 100)[-1].id)
    assert len(tail) == 100
    behind = Meeting(programme, log)
    behind._ingest(log.read(count=events - 100), notify=False)
    assert save_snapshot(log, behind.state, events - 100)
    quick, snapshot_s = _cold_start(log, programme, snapshot=True)
    assert quick.state == full.state and quick.version == log.last_id()
    print(f"\ncold start over {events} events: replay {replay_s * 1000:.0f} ms, "
          f"snapshot + 100-event tail {snapshot_s * 1000:.0f} ms")
    assert snapshot_s < replay_s / 3

    # an older snapshot never replaces a newer one
    old = Meeting(programme, log)
    old._ingest(log.read(count=10), notify=False)
    assert not save_snapshot(log, old.state)

    # corrupt: a byte changed in the stored blob
    outer = json.loads(log.client.hget(log.key("snapshot"), "blob"))
    outer["state"] = outer["state"].replace('"entry_seq":', '"entry_seq":1')
    log.client.hset(log.key("snapshot"), "blob", json.dumps(outer))
    caplog.clear()
    recovered, _ = _cold_start(log, programme, snapshot=True)
    assert recovered.state == full.state
    assert "snapshot ignored" in caplog.text and "checksum" in caplog.text

    log.client.hset(log.key("snapshot"), "blob", b'{"format": 1, "vers')  # cut short
    assert load_snapshot(log, programme) is None and "not readable" in caplog.text

    # newer than the stream (the stream was reset): ignored too
    newer, _ = unpack(pack(full.state), programme)
    newer.version = "9999999999999-0"
    assert save_snapshot(log, newer, force=True)
    assert load_snapshot(log, programme) is None


def test_create_app_starts_from_the_snapshot(settings, log, programme):
    from dashboard import create_app

    fill_speeches(log, programme, 300)
    meeting = Meeting(programme, log)
    meeting.load()
    save_snapshot(log, meeting.state, 300)
    log.client.hset(log.key("snapshot"), "blob", b"{garbage")  # corrupt: replay instead
    app = create_app(settings)
    assert app.extensions["plenary"].meeting.state == meeting.state


def test_the_snapshot_worker_saves_every_n_events(redis_url, log, programme):
    fill_speeches(log, programme, 120)
    worker = SnapshotWorker(Meeting(programme, log), every=50)
    consumer = Consumer(redis_url, log.stream, "snapshots", worker.handle, block_ms=50)
    while consumer.step(block_ms=50):
        pass
    state = load_snapshot(log, programme)
    assert state is not None and state.version == log.last_id()
    # handled again (a redelivery): the same snapshot
    worker.handle(log.last_id(), {})
    assert load_snapshot(log, programme) == state
    consumer.client.close()
