"""The minutes worker keeps the record in Redis; the API, the page and `plenary export` read it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time

import pytest

from dashboard.domain.minutes import fold_all, report
from dashboard.store.minutes import (
    MinutesProjection,
    current_minutes,
    export,
    minutes_keys,
    read_stored,
)
from tests.support import ROOT
from tests.workers.script import Script, scripted_sitting
from workers.consumer import Consumer

T0 = 1_700_000_000.0


def _drain(consumer: Consumer) -> None:
    while consumer.step(block_ms=50):
        pass


def _minutes_worker(redis_url: str, log, name: str | None = None) -> Consumer:
    """A minutes worker of its own (its projection read from Redis when it starts)."""
    return Consumer(redis_url, log.stream, "minutes", MinutesProjection(log).handle,
                    block_ms=50, name=name)


def test_the_stored_record_matches_the_sitting_to_the_second(redis_url, log, programme):
    script = Script(programme, log)
    expected = scripted_sitting(script, T0)
    consumer = _minutes_worker(redis_url, log)
    _drain(consumer)
    stored = read_stored(log).record
    assert stored.cursor == log.last_id()
    minutes = report(stored, programme)
    spoken = {s["delegation"]: s for s in minutes["speeches"]}
    for code, want in expected.items():
        assert round(spoken[code]["spoken_s"]) == want["spoken"]
        assert round(spoken[code]["overrun_s"]) == want["overrun"]
    assert minutes == report(fold_all(script.events), programme)
    consumer.client.close()


def test_a_save_appends_the_new_speeches_and_rewrites_only_the_head(redis_url, log, programme):
    """A day's record is not written again every second: the finished speeches are
    appended to a list, the rest of the fold (a small head) is what a save rewrites."""
    consumer = _minutes_worker(redis_url, log)
    keys = minutes_keys(log)
    script = Script(programme, log)
    before: list[bytes] = []
    for i in range(3):
        scripted_sitting_part(script, T0 + i * 1000, i)
        _drain(consumer)
        rows = log.client.lrange(keys.speeches, 0, -1)
        assert len(rows) == 4 * (i + 1)
        assert rows[:4 * i] == before  # the earlier speeches, as they were stored
        before = rows
        assert json.loads(log.client.get(keys.head))["speeches"] == len(rows)  # a count
    assert report(read_stored(log).record, programme, now=0) == \
        report(fold_all(script.events), programme, now=0)
    consumer.client.close()


@pytest.mark.parametrize("damage", ["head unreadable", "speeches lost"])
def test_an_unusable_stored_record_is_rebuilt_from_the_stream_and_replaced(
    redis_url, log, programme, damage
):
    script = Script(programme, log)
    scripted_sitting_part(script, T0, 0)
    consumer = _minutes_worker(redis_url, log)
    _drain(consumer)
    keys = minutes_keys(log)
    if damage == "head unreadable":
        log.client.set(keys.head, b"{not json")
    else:
        log.client.delete(keys.speeches)
    scripted_sitting_part(script, T0 + 1000, 1)
    fresh = _minutes_worker(redis_url, log, name="fresh")
    _drain(fresh)
    assert log.client.llen(keys.speeches) == 8  # replaced, not appended to
    assert report(read_stored(log).record, programme, now=0) == \
        report(fold_all(script.events), programme, now=0)
    consumer.client.close()
    fresh.client.close()


def test_the_api_serves_the_record_to_admin_and_staff_only(app, client, token, programme):
    parts = app.extensions["plenary"]
    script = Script(programme, parts.log)
    expected = scripted_sitting(script, T0)
    auth = {"Authorization": f"Bearer {token('admin')}"}
    body = client.get("/api/minutes.json", headers=auth).get_json()
    assert {s["delegation"]: round(s["spoken_s"]) for s in body["speeches"]} == {
        code: want["spoken"] for code, want in expected.items()
    }
    staff = {"Authorization": f"Bearer {token('staff')}"}
    response = client.get("/api/minutes.csv", headers=staff)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["record"] for r in rows] == ["speech"] * 3 + ["unserved"] * 2
    assert rows[0]["delegation_name_en"] == "Panama"
    assert rows[0]["floor_given_at"].startswith("2023-11-14T")  # local ISO time
    chair = {"Authorization": f"Bearer {token('chair')}"}
    refused = client.get("/api/minutes.json", headers=chair)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/minutes.csv").status_code == 401
    page = client.get("/admin/minutes?lang=en", headers=auth)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "BRA · Brazil" in html and "<script" not in html.split("<svg")[1]
    assert client.get("/admin/minutes", headers=chair).status_code == 403


def test_plenary_export_prints_the_record(settings, log, programme):
    scripted_sitting(Script(programme, log), T0)
    minutes = json.loads(export(settings, "json"))
    assert len(minutes["speeches"]) == 3 and len(minutes["unserved"]) == 2
    assert export(settings, "csv").count("\r\n") == 1 + 5


def test_minutes_survive_a_worker_killed_at_random(redis_url, prefix, log, programme, tmp_path):
    """`plenary worker minutes` processes are killed (SIGKILL) while a sitting is appended;
    after a last one runs, the record equals the fold of the whole stream."""
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "PLENARY_DATA_DIR": str(tmp_path), "PLENARY_WORKER_MIN_IDLE_MS": "300"}
    script = Script(programme, log)

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "dashboard.cli", "worker", "minutes"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    first = worker()
    try:
        for i in range(3):
            scripted_sitting_part(script, T0 + i * 1000, i)
            time.sleep(0.4 + 0.3 * i)
            first.kill()
            first.wait()
            first = worker()
        deadline = time.monotonic() + 15
        while log.client.get(log.key("minutes:cursor")) != log.last_id().encode():
            assert time.monotonic() < deadline, "the record did not catch up"
            time.sleep(0.1)
    finally:
        first.kill()
        first.wait()
    stored = report(read_stored(log).record, programme, now=0)
    assert stored == report(fold_all(script.events), programme, now=0)
    assert len(stored["speeches"]) == 3 * 4
    assert current_minutes(log, programme, now=0) == stored


def scripted_sitting_part(script: Script, t0: float, i: int) -> None:
    """One of three working-group sittings, in turn, each with four speeches."""
    room, sitting = [(s.room, s.id) for s in script.programme.sessions][i]
    codes = ["PAN", "BRA", "CAN", "MEX"]
    script.do(t0, "session.open", room=room, session_id=sitting)
    for n, code in enumerate(codes):
        script.do(t0 + 1 + n, "speaker.add", room=room, delegation=code)
    for n in range(len(codes)):
        script.do(t0 + 10 + 30 * n, "speaker.next", room=room)
    script.do(t0 + 200, "session.close", room=room)
