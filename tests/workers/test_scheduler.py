"""The scheduler: with two of them running, each timed fact happens exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter

from dashboard.domain import load_programme, parse_command
from dashboard.store.eventlog import EventLog, connect
from dashboard.store.meeting import Meeting
from tests.workers.conftest import stream_entries
from workers.scheduler import Scheduler


def _meeting(redis_url, prefix, programme) -> Meeting:
    log = EventLog(connect(redis_url, timeout=10), programme.meeting.id, prefix)
    meeting = Meeting(programme, log)
    meeting.load()
    return meeting


def test_two_schedulers_post_each_timed_fact_exactly_once(redis_url, prefix, programme_now):
    programme = load_programme(programme_now)
    people = _meeting(redis_url, prefix, programme)
    schedulers = [
        Scheduler(_meeting(redis_url, prefix, programme), tick_s=0.05) for _ in range(2)
    ]
    threads = [threading.Thread(target=s.run) for s in schedulers]
    for t in threads:
        t.start()
    try:
        # People act meanwhile: an announcement that expires, a speech that overruns.
        posted = people.execute(parse_command({
            "type": "announcement.post", "text": {"es": "Café", "en": "Coffee"},
            "expires_at": time.time() + 0.8,
        }))
        room = programme.sessions[1].room
        people.execute(parse_command({"type": "session.open", "room": room,
                                      "session_id": programme.sessions[1].id}))
        people.execute(parse_command({"type": "speaker.add", "room": room,
                                      "delegation": "PAN"}))
        people.execute(parse_command({"type": "speaker.next", "room": room}))
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            people.catch_up()
            done = Counter(f["cmd"].split(":")[0] for _, f in
                           stream_entries(people.log.client, people.log.stream))
            if done["notice"] == 2 and done["expire"] and done["overrun"] \
                    and done["start-due"]:
                break
            time.sleep(0.1)
        time.sleep(1.2)  # a few more ticks of both: nothing more may come
    finally:
        for s in schedulers:
            s.stop()
        for t in threads:
            t.join(5)
    entries = stream_entries(people.log.client, people.log.stream)
    by_command = Counter(f["cmd"] for _, f in entries)
    assert by_command["notice:due-now"] == 1
    assert by_command["notice:due-soon"] == 1
    assert "notice:long-past" not in by_command and "notice:later" not in by_command
    assert by_command[f"expire:{posted['id']}"] == 1
    assert by_command[f"start-due:{programme.sessions[0].id}"] == 1
    assert sum(1 for c in by_command if c.startswith("start-due:")) == 1
    assert sum(1 for c in by_command if c.startswith("overrun:")) == 1
    types = Counter(f["type"] for _, f in entries)
    assert types["speaker.overran"] == 1 and types["announcement.expired"] == 1
    assert types["session.start_due"] == 1
    # between them, the two schedulers appended each fact once
    sent = schedulers[0].sent + schedulers[1].sent
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 5
    notice = next(f for _, f in entries if f["cmd"] == "notice:due-soon")
    assert '"rooms":["gt-seguridad","gt-desarrollo"]' in notice["data"]


def test_a_replayed_past_meeting_posts_no_stale_notice(redis_url, prefix, programme):
    scheduler = Scheduler(_meeting(redis_url, prefix, programme))
    assert scheduler.tick() == 0
    assert scheduler.meeting.log.last_id() == "0-0"
