"""Every long-polling POST is answered, and in time: engine.io ends a session whose POST
it refuses by waiting for a next poll that a client may never send, which held the
request, its greenlet and its connection for good; opening a session needs no link."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.support import LiveServer

pytestmark = pytest.mark.slow

POLL_POST_BOUND_S = 10.0  # dashboard/app.py: max(10 s, twice the command path's timeout)


def _session(server: LiveServer) -> str:
    opened = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert opened.status_code == 200, opened.text
    return str(json.loads(opened.text[1:])["sid"])


def _post(server: LiveServer, sid: str, body: bytes, timeout: float) -> requests.Response:
    return requests.post(f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}",
                         data=body, timeout=timeout,
                         headers={"Content-Type": "text/plain;charset=UTF-8"})


def test_a_long_polling_post_too_large_is_refused_at_once(live_server: LiveServer) -> None:
    started = time.monotonic()
    answer = _post(live_server, _session(live_server), b"4" + b"x" * 70_000, timeout=5)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert time.monotonic() - started < 2


def test_a_long_polling_post_engine_io_refuses_is_answered_in_time(
        live_server: LiveServer) -> None:
    started = time.monotonic()
    answer = _post(live_server, _session(live_server), b"9x", timeout=POLL_POST_BOUND_S + 5)
    assert answer.status_code == 400
    assert time.monotonic() - started < POLL_POST_BOUND_S + 3
    # the service goes on: a new session, and a well-formed POST on it, are answered
    sid = _session(live_server)
    assert _post(live_server, sid, b"40", timeout=5).status_code == 200
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
