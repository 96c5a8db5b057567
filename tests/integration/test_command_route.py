"""POST /api/commands is answered ahead of Flask's dispatch (`api.command_route`):
every check, refusal and failure answered as Flask's own route answers it."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.helpers import Chair, delegation_codes, other_room, room_with_sitting


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def via_route(app: Any, request: dict[str, Any]) -> tuple[int, Any]:
    """The request as a client sends it (its own Cookie header, if any, kept)."""
    response = app.test_client(use_cookies=False).post("/api/commands", **request)
    return response.status_code, response.get_json()


def via_flask(app: Any, request: dict[str, Any]) -> tuple[int, Any]:
    """The same request through Flask's request context, routing and error handlers."""
    with app.test_request_context("/api/commands", method="POST", **request):
        response = app.full_dispatch_request()
    return response.status_code, response.get_json()


@pytest.fixture
def room(app: Any, client: Any, token: Any) -> str:
    """A room whose sitting is open."""
    room, session = room_with_sitting(app.extensions["plenary"].meeting.programme)
    Chair(client, token("chair", room), room).ok("session.open", session_id=session)
    return room


@dataclass
class Sender:
    """What a refused request is made of: the room, a valid command for it, a token maker."""

    room: str
    other_room: str
    add: dict[str, Any]
    token: Any

    @property
    def chair(self) -> dict[str, str]:
        return bearer(self.token("chair", self.room))


# name -> (the request, its status, its error code)
REFUSALS: dict[str, tuple[Callable[[Sender], dict[str, Any]], int, str]] = {
    "no token": (lambda s: {"json": s.add}, 401, "unauthorized"),
    "not a bearer": (lambda s: {"json": s.add, "headers": {"Authorization": "Basic YTpi"}},
                     401, "unauthorized"),
    "forged token": (lambda s: {"json": s.add,
                                "headers": bearer(s.token("admin")[:-3] + "abc")},
                     401, "unauthorized"),
    "a screen": (lambda s: {"json": s.add, "headers": bearer(s.token("screen", s.room))},
                 403, "forbidden"),
    "another room's chair": (
        lambda s: {"json": s.add, "headers": bearer(s.token("chair", s.other_room))},
        403, "forbidden"),
    "staff runs no list": (lambda s: {"json": s.add, "headers": bearer(s.token("staff"))},
                           403, "forbidden"),
    "cookie from another site": (
        lambda s: {"json": s.add,
                   "headers": {"Cookie": f"plenary_session={s.token('chair', s.room)}",
                               "Origin": "https://evil.example"}},
        403, "cross_site"),
    "not JSON": (lambda s: {"data": "{not json", "headers": s.chair}, 400, "bad_json"),
    "not an object": (lambda s: {"json": [s.add], "headers": s.chair}, 400, "bad_json"),
    "too large": (lambda s: {"data": json.dumps({**s.add, "speaker_name": "x" * 70_000}),
                             "headers": s.chair}, 413, "too_large"),
    "unknown type": (lambda s: {"json": {**s.add, "type": "speaker.fly"}, "headers": s.chair},
                     422, "invalid"),
    "bad field": (lambda s: {"json": {**s.add, "delegation": 7}, "headers": s.chair},
                  422, "invalid"),
    "refused by the rules": (lambda s: {"json": {"type": "speaker.next", "room": s.room},
                                        "headers": s.chair}, 409, "conflict"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_each_refusal_is_answered_alike_and_changes_nothing(app, token, room, case):
    programme = app.extensions["plenary"].meeting.programme
    add = {"type": "speaker.add", "room": room, "delegation": delegation_codes(programme)[0]}
    build, status, code = REFUSALS[case]
    request = build(Sender(room, other_room(programme, room), add, token))
    log = app.extensions["plenary"].log
    before = log.last_id()
    routed, flasked = via_route(app, request), via_flask(app, request)
    assert routed == flasked
    assert routed[0] == status and routed[1]["error"]["code"] == code, routed
    assert log.last_id() == before


def test_a_command_is_answered_alike_and_a_cookie_from_its_own_site_is_taken(app, token, room):
    codes = delegation_codes(app.extensions["plenary"].meeting.programme)
    own = {"Cookie": f"plenary_session={token('chair', room)}", "Origin": "http://localhost"}

    def add(code: str) -> dict[str, Any]:
        return {"json": {"type": "speaker.add", "room": room, "delegation": code},
                "headers": own}

    answers = [via_route(app, add(codes[0])), via_flask(app, add(codes[1]))]
    for status, body in answers:
        assert status == 200, body
        assert set(body) == {"version", "events", "entry_id"}
        assert body["events"][0]["type"] == "speaker.added"
    queue = app.extensions["plenary"].meeting.view(room)["speakers"]["queue"]
    assert [e["delegation"]["code"] for e in queue] == codes[:2]


def test_a_failure_of_ours_is_a_logged_500_on_both(app, token, room, monkeypatch, caplog):
    def broken(command: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["plenary"].meeting, "execute", broken)
    request = {"json": {"type": "speaker.next", "room": room},
               "headers": bearer(token("chair", room))}
    with caplog.at_level(logging.ERROR):
        routed, flasked = via_route(app, request), via_flask(app, request)
    assert routed == flasked == (500, {"error": {"code": "internal",
                                                 "message": "internal error"}})
    logged = [r for r in caplog.records if "unhandled error on /api/commands" in r.message]
    assert len(logged) == 2 and all(r.exc_info for r in logged)


def test_commands_skip_flasks_request_context_and_other_methods_reach_it(app, client, token,
                                                                         room):
    dispatched: list[str] = []
    app.before_request(lambda: dispatched.append("x") and None)
    chair = bearer(token("chair", room))
    assert client.post("/api/commands", json={"type": "speaker.next", "room": room},
                       headers=chair).status_code == 409
    assert dispatched == []
    got = client.get("/api/commands", headers=chair)
    assert got.status_code == 405 and got.get_json()["error"]["code"] == "method_not_allowed"
    assert dispatched == ["x"]


@pytest.mark.parametrize("valid", [True, False], ids=["answered", "refused"])
def test_once_the_answer_is_sent_the_process_gives_way_then_counts_it(app, client, token,
                                                                     room, monkeypatch, valid):
    """The answer's reader runs first (`seams.give_way`): one `sched_yield` after the answer
    is written, before what the command set off here (its count in the metrics; a
    refusal is counted at once)."""
    metrics = app.extensions["plenary"].metrics
    code = delegation_codes(app.extensions["plenary"].meeting.programme)[0]
    body = {"type": "speaker.add", "room": room, "delegation": code if valid else "ZZZ"}
    outcome = "ok" if valid else "not_found"

    def counted() -> float:
        return metrics.registry.get_sample_value(
            "plenary_commands_total", {"type": "speaker.add", "outcome": outcome}) or 0.0

    sent: list[bytes] = []
    gave_way: list[tuple[bytes, float]] = []
    monkeypatch.setattr(os, "sched_yield", lambda: gave_way.append((b"".join(sent), counted())))
    response = client.post("/api/commands", json=body, headers=bearer(token("chair", room)),
                           buffered=False)
    assert response.status_code == (200 if valid else 404)
    sent.extend(response.response)  # the server writes the body, then closes the answer
    assert gave_way == []
    response.close()
    assert gave_way == [(b"".join(sent), 0.0 if valid else 1.0)] and json.loads(sent[0])
    assert counted() == 1.0


def test_a_chair_of_another_room_is_told_which_room_its_access_is_for(app, token, room):
    from dashboard.web.extensions import socketio

    programme = app.extensions["plenary"].meeting.programme
    other = other_room(programme, room)
    body = {"type": "speaker.next", "room": room}
    request = {"json": body, "headers": bearer(token("chair", other))}
    routed, flasked = via_route(app, request), via_flask(app, request)
    assert routed == flasked
    assert routed == (403, {"error": {"code": "forbidden", "field": "room",
                                      "message": f"this access is for room {other}"}})
    sock = socketio.test_client(app, auth={"token": token("chair", other)})
    ack = sock.emit("command", body, callback=True)
    assert ack == {"ok": False, **routed[1]}


def test_a_role_that_may_not_send_a_command_is_told_its_name(app, token, room):
    request = {"json": {"type": "speaker.next", "room": room},
               "headers": bearer(token("staff"))}
    status, body = via_route(app, request)
    assert status == 403
    assert body["error"]["message"] == "the staff role may not send speaker.next (Next speaker)"
