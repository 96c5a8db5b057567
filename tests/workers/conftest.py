"""Fixtures of the worker tests: the event log of the test's own prefix, a programme of now."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import redis
import yaml

from dashboard.domain import load_programme
from dashboard.domain.programme import default_programme_path
from dashboard.store.eventlog import EventLog, connect


@pytest.fixture
def programme():
    return load_programme(default_programme_path())


@pytest.fixture
def rclient(redis_url):
    c = connect(redis_url, timeout=10)
    yield c
    c.close()


@pytest.fixture
def log(rclient, prefix, programme):
    return EventLog(rclient, programme.meeting.id, prefix)


def _local(at: float, tz) -> str:
    return datetime.fromtimestamp(at, tz).replace(tzinfo=None).isoformat(timespec="seconds")


@pytest.fixture
def programme_now(tmp_path: Path) -> Path:
    """The reference programme moved to today: notices and a sitting relative to now,
    speeches of one second (so an overrun comes quickly)."""
    raw = yaml.safe_load(default_programme_path().read_text(encoding="utf-8"))
    reference = load_programme(default_programme_path())
    tz = reference.tz
    now = time.time()
    today = datetime.fromtimestamp(now, tz).date()
    raw["meeting"]["start_date"] = (today - timedelta(days=1)).isoformat()
    raw["meeting"]["end_date"] = (today + timedelta(days=1)).isoformat()
    for limits in raw["speaking_limits"].values():
        limits["speech"] = 1
    for sitting in raw["sessions"]:
        sitting["start"] = _local(now + 7200, tz)
        sitting["end"] = _local(now + 9000, tz)
    raw["sessions"][0]["start"] = _local(now - 60, tz)  # due now
    raw["sessions"][0]["end"] = _local(now + 3600, tz)
    text = {"es": "Aviso", "en": "Notice"}
    raw["notices"] = [
        {"id": "due-now", "at": _local(now - 1, tz), "text": text, "rooms": ["*"]},
        {"id": "due-soon", "at": _local(now + 1, tz), "text": text, "rooms": "hotel",
         "expires_at": _local(now + 600, tz)},
        {"id": "long-past", "at": _local(now - 7200, tz), "text": text},
        {"id": "later", "at": _local(now + 3600, tz), "text": text},
    ]
    assert isinstance(today, date)
    path = tmp_path / "programme.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def stream_entries(client: redis.Redis, stream: str) -> list[tuple[str, dict[str, str]]]:
    """Every entry of a stream, decoded."""
    return [
        (i.decode(), {k.decode(): v.decode() for k, v in f.items()})
        for i, f in client.xrange(stream)
    ]
