"""POST /api/commands is answered ahead of Flask's dispatch (`api.command_route`):
every check, refusal and failure answered as Flask's own route answers it."""

from __future__ import annotations

import json
import logging
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


def refusals(app: Any, token: Any, room: str) -> dict[str, tuple[dict[str, Any], int, str]]:
    """name -> (request, status, error code)."""
    programme = app.extensions["plenary"].meeting.programme
    code = delegation_codes(programme)[0]
    add = {"type": "speaker.add", "room": room, "delegation": code}
    chair = bearer(token("chair", room))
    return {
        "no token": ({"json": add}, 401, "unauthorized"),
        "not a bearer": ({"json": add, "headers": {"Authorization": "Basic YTpi"}},
                         401, "unauthorized"),
        "forged token": ({"json": add, "headers": bearer(token("admin")[:-3] + "abc")},
                         401, "unauthorized"),
        "a screen": ({"json": add, "headers": bearer(token("screen", room))}, 403, "forbidden"),
        "another room's chair": (
            {"json": add, "headers": bearer(token("chair", other_room(programme, room)))},
            403, "forbidden"),
        "staff runs no list": ({"json": add, "headers": bearer(token("staff"))},
                               403, "forbidden"),
        "cookie from another site": (
            {"json": add, "headers": {"Cookie": f"plenary_session={token('chair', room)}",
                                      "Origin": "https://evil.example"}},
            403, "cross_site"),
        "not JSON": ({"data": "{not json", "headers": chair}, 400, "bad_json"),
        "not an object": ({"json": [add], "headers": chair}, 400, "bad_json"),
        "too large": ({"data": json.dumps({**add, "speaker_name": "x" * 70_000}),
                       "headers": chair}, 413, "too_large"),
        "unknown type": ({"json": {**add, "type": "speaker.fly"}, "headers": chair},
                         422, "invalid"),
        "bad field": ({"json": {**add, "delegation": 7}, "headers": chair}, 422, "invalid"),
        "refused by the rules": ({"json": {"type": "speaker.next", "room": room},
                                  "headers": chair}, 409, "conflict"),
    }


CASES = ["no token", "not a bearer", "forged token", "a screen", "another room's chair",
         "staff runs no list", "cookie from another site", "not JSON", "not an object",
         "too large", "unknown type", "bad field", "refused by the rules"]


@pytest.mark.parametrize("case", CASES)
def test_each_refusal_is_answered_alike_and_changes_nothing(app, token, room, case):
    request, status, code = refusals(app, token, room)[case]
    log = app.extensions["plenary"].log
    before = log.last_id()
    routed, flasked = via_route(app, request), via_flask(app, request)
    assert routed == flasked
    assert routed[0] == status and routed[1]["error"]["code"] == code, routed
    assert log.last_id() == before


def test_a_command_is_answered_alike_and_a_cookie_from_its_own_site_is_taken(app, token, room):
    codes = delegation_codes(app.extensions["plenary"].meeting.programme)
    own = {"Cookie": f"plenary_session={token('chair', room)}", "Origin": "http://localhost"}
    answers = [send({"json": {"type": "speaker.add", "room": room, "delegation": c},
                     "headers": headers})
               for send, c, headers in ((lambda r: via_route(app, r), codes[0], own),
                                        (lambda r: via_flask(app, r), codes[1], own))]
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
