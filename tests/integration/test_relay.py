"""The relay's turn: after a command is answered, before its change is broadcast."""

from __future__ import annotations

import gevent
import gevent.event
from flask_socketio import SocketIO

from dashboard.domain import load_programme, parse_command
from dashboard.domain.programme import default_programme_path
from dashboard.live import relay as relay_module
from dashboard.live.relay import Relay
from dashboard.store.eventlog import EventLog, connect
from dashboard.store.meeting import Meeting


def test_the_relay_hands_the_core_over_before_it_broadcasts_a_commands_change(
    redis_url, prefix, monkeypatch
):
    """The answer's write wakes the sender, often onto the core this process runs on;
    the broadcast that follows holds that core for a millisecond per hundred screens.
    The relay yields the core first (sched_yield), so the sender reads its answer then."""
    programme = load_programme(default_programme_path())
    client = connect(redis_url, timeout=10)
    meeting = Meeting(programme, EventLog(client, programme.meeting.id, prefix))
    relay = Relay(SocketIO(), meeting, redis_url)
    relay.wake = gevent.event.Event()  # the test runs without gevent's patching
    steps: list[object] = []
    monkeypatch.setattr(relay_module.os, "sched_yield", lambda: steps.append("core yielded"))
    monkeypatch.setattr(relay.fanout, "emit",
                        lambda event, view, to: steps.append(("broadcast", view["version"])))
    relay.running = True
    sending = gevent.spawn(relay._send_loop)
    gevent.sleep(0)  # the loop waits for a change
    try:
        answer = meeting.execute(parse_command({
            "type": "announcement.post", "text": {"es": "Café", "en": "Coffee"},
            "rooms": [programme.rooms[0].id],
        }))
        steps.append(("answered", answer["version"]))
        with gevent.Timeout(5):
            while len(steps) < 3:
                gevent.sleep(0.01)
    finally:
        relay.stop()
        sending.join(timeout=5)
        client.close()
    version = answer["version"]
    assert steps[:3] == [("answered", version), "core yielded", ("broadcast", version)]
