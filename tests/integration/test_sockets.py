"""The Socket.IO contract through Flask-SocketIO's test client (logic, not transport)."""

from __future__ import annotations

import gevent
import pytest
from flask import has_app_context, has_request_context

from dashboard.web.extensions import socketio
from tests.integration.helpers import Chair, other_room, room_with_sitting


@pytest.fixture
def programme(app):  # type: ignore[no-untyped-def]
    return app.extensions["plenary"].meeting.programme


def connect(app, tok):  # type: ignore[no-untyped-def]
    return socketio.test_client(app, auth={"token": tok})


def states(sock) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m["args"][0] for m in sock.get_received() if m["name"] == "state"]


def test_connect_needs_a_valid_token(app):
    assert not socketio.test_client(app).is_connected()
    assert not socketio.test_client(app, auth={"token": "forged"}).is_connected()


def test_a_screen_gets_its_room_now_and_on_every_change(app, token, programme, client):
    room, session = room_with_sitting(programme)
    screen = connect(app, token("screen", room))
    ack = screen.emit("subscribe", {"room": room}, callback=True)
    assert ack["ok"] and ack["state"]["room"]["id"] == room
    Chair(client, token("chair", room), room).ok("session.open", session_id=session)
    got = states(screen)
    assert len(got) == 1 and got[0]["session"]["status"] == "open"


def test_a_change_in_one_room_reaches_only_that_rooms_screens(app, token, programme, client):
    room, _ = room_with_sitting(programme)
    other = other_room(programme, room)
    mine, theirs = connect(app, token("screen", room)), connect(app, token("screen", other))
    mine.emit("subscribe", {"room": room}, callback=True)
    theirs.emit("subscribe", {"room": other}, callback=True)
    Chair(client, token("chair", room), room).open(programme)
    assert len(states(mine)) == 1
    assert states(theirs) == []


def test_the_overview_gets_every_room(app, token, programme, client):
    overview = connect(app, token("screen", "*"))
    ack = overview.emit("subscribe", {"room": "*"}, callback=True)
    assert ack["ok"] and len(ack["states"]) == len(programme.rooms)
    room, _ = room_with_sitting(programme)
    Chair(client, token("chair", room), room).open(programme)
    assert [s["room"]["id"] for s in states(overview)] == [room]


def test_a_screen_of_one_room_may_not_watch_another(app, token, programme):
    room, _ = room_with_sitting(programme)
    screen = connect(app, token("screen", room))
    ack = screen.emit("subscribe", {"room": other_room(programme, room)}, callback=True)
    assert ack == {"ok": False, "error": {"code": "forbidden",
                                          "message": "this access is for another room",
                                          "field": "room"}}
    assert screen.emit("subscribe", {"room": "*"}, callback=True)["error"]["code"] == "forbidden"
    assert screen.emit("subscribe", {"room": "zz"}, callback=True)["error"]["code"] in (
        "forbidden", "not_found")


def test_commands_over_the_socket_are_acked_like_http(app, token, programme):
    room, session = room_with_sitting(programme)
    chair = connect(app, token("chair", room))
    ack = chair.emit("command", {"type": "session.open", "room": room, "session_id": session},
                     callback=True)
    assert ack["ok"] is True and ack["events"][0]["type"] == "session.opened"
    bad = chair.emit("command", {"type": "speaker.add", "room": room}, callback=True)
    assert bad["ok"] is False and bad["error"]["code"] == "invalid"
    assert bad["error"]["field"] == "delegation"
    screen = connect(app, token("screen", room))
    refused = screen.emit("command", {"type": "list.close", "room": room}, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"


def test_a_command_runs_in_no_context_of_flasks_and_is_counted_after_its_ack(
        app, token, programme, monkeypatch):
    """As over HTTP: nothing of Flask's is made for a command, and its count in the
    metrics waits for the event loop's next turn, after the ack is written."""
    room, session = room_with_sitting(programme)
    parts = app.extensions["plenary"]
    contexts: list[tuple[bool, bool]] = []
    run = parts.meeting.run

    def spy(sender, body):  # type: ignore[no-untyped-def]
        contexts.append((has_app_context(), has_request_context()))
        return run(sender, body)

    def counted(outcome: str) -> float:
        return parts.metrics.registry.get_sample_value(
            "plenary_commands_total", {"type": "session.open", "outcome": outcome}) or 0.0

    monkeypatch.setattr(parts.meeting, "run", spy)
    chair = connect(app, token("chair", room))
    body = {"type": "session.open", "room": room, "session_id": session}
    assert chair.emit("command", body, callback=True)["ok"] is True
    assert contexts == [(False, False)]
    assert counted("ok") == 0.0
    gevent.sleep(0)
    assert counted("ok") == 1.0
    refused = chair.emit("command", body, callback=True)  # the sitting is open already
    assert refused["error"]["code"] == "conflict" and counted("conflict") == 0.0
    gevent.sleep(0)
    assert counted("conflict") == 1.0 and counted("ok") == 1.0


def test_a_flooding_client_is_throttled(app, token, programme):
    room, _ = room_with_sitting(programme)
    screen = connect(app, token("screen", room))
    acks = [screen.emit("subscribe", {"room": room}, callback=True) for _ in range(200)]
    limited = [a for a in acks if not a["ok"]]
    assert limited and all(a["error"]["code"] == "rate_limited" for a in limited)


def test_a_probe_answers_the_rooms_version_and_nothing_more(app, token, programme, client):
    room, _ = room_with_sitting(programme)
    screen = connect(app, token("screen", room))
    assert screen.emit("probe", {"room": room}, callback=True) == {
        "ok": True, "version": "0-0", "live": True}
    answer = Chair(client, token("chair", room), room).open(programme)
    assert screen.emit("probe", {"room": room}, callback=True)["version"] == answer["version"]
    other = other_room(programme, room)
    assert screen.emit("probe", {"room": other}, callback=True)["error"]["code"] == "not_found"
    assert screen.emit("probe", {"room": "*"}, callback=True)["ok"] is False


def test_each_page_receives_what_its_audience_may_see(app, token, programme, client):
    """The chair's message to the speaker reaches desks and the podium monitor only;
    pending requests reach desks only; room screens and the overview get neither."""
    room, _ = room_with_sitting(programme)
    screen, podium = connect(app, token("screen", room)), connect(app, token("screen", room))
    overview, desk = connect(app, token("screen", "*")), connect(app, token("chair", room))
    acks = {
        "screen": screen.emit("subscribe", {"room": room}, callback=True)["state"],
        "podium": podium.emit("subscribe", {"room": room, "podium": True},
                              callback=True)["state"],
        "overview": next(s for s in overview.emit("subscribe", {"room": "*"},
                                                  callback=True)["states"]
                         if s["room"]["id"] == room),
        "desk": desk.emit("subscribe", {"room": room}, callback=True)["state"],
    }
    chair = Chair(client, token("chair", room), room)
    chair.open(programme)
    chair.ok("podium.message", preset="conclude")
    got = {"screen": states(screen), "podium": states(podium),
           "overview": states(overview), "desk": states(desk)}
    for name, sent in got.items():
        assert len(sent) == 2, name
        for state in [acks[name], *sent]:
            assert ("podium" in state) == (name in ("podium", "desk")), name
            assert ("requests" in state["speakers"]) == (name == "desk"), name
        assert sent[-1]["version"] == got["screen"][-1]["version"]
    assert got["podium"][-1]["podium"]["preset"] == "conclude"
    assert got["desk"][-1]["podium"]["preset"] == "conclude"
    # The same question over HTTP: a screen's link reads the room without the message.
    seen = client.get(f"/api/rooms/{room}",
                      headers={"Authorization": f"Bearer {token('screen', room)}"}).get_json()
    assert "podium" not in seen and "requests" not in seen["speakers"]


def test_a_delegation_asking_for_the_podium_gets_no_message(app, token, programme, client):
    """The chair's message is for the speaker: a delegation's link (a delegate's phone)
    that subscribes as the podium monitor does still gets the room without it."""
    room, _ = room_with_sitting(programme)
    code = programme.delegations[0].code
    phone = connect(app, token("delegation", code))
    ack = phone.emit("subscribe", {"room": room, "podium": True}, callback=True)
    assert ack["ok"] and "podium" not in ack["state"]
    chair = Chair(client, token("chair", room), room)
    chair.open(programme)
    chair.ok("podium.message", preset="conclude")
    sent = states(phone)
    assert len(sent) == 2 and all("podium" not in state for state in sent)
    assert all("requests" not in state["speakers"] for state in sent)
