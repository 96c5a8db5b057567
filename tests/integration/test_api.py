"""The HTTP contract against a real Redis: every endpoint and each error code."""

from __future__ import annotations

import json

import pytest

from tests.integration.helpers import Chair, delegation_codes, other_room, room_with_sitting


@pytest.fixture
def programme(app):  # type: ignore[no-untyped-def]
    return app.extensions["plenary"].meeting.programme


@pytest.fixture
def chair(client, token, programme):  # type: ignore[no-untyped-def]
    room, _ = room_with_sitting(programme)
    return Chair(client, token("chair", room), room)


def auth(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"ok": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["version"] == "0-0"


def test_programme_is_served_as_loaded(client, token):
    body = client.get("/api/programme", headers=auth(token("screen", "*"))).get_json()
    assert set(body) >= {"rooms", "sessions", "delegations", "venues"}
    assert {"code", "name", "kind"} <= set(body["delegations"][0])
    assert set(body["delegations"][0]["name"]) == {"es", "en"}


def test_no_token_is_401_and_a_forged_one_too(client, token):
    assert client.get("/api/rooms").status_code == 401
    forged = token("admin")[:-3] + "abc"
    response = client.get("/api/rooms", headers=auth(forged))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_chair_runs_the_room_and_the_state_follows(chair, programme):
    _, session = room_with_sitting(programme)
    codes = delegation_codes(programme)
    opened = chair.ok("session.open", session_id=session)
    assert opened["events"][0]["type"] == "session.opened"
    chair.ok("speaker.add", delegation=codes[0])
    chair.ok("speaker.add", delegation=codes[1], speaker_name="Deputy minister")
    answer = chair.ok("speaker.next")
    state = chair.state()
    assert state["version"] == answer["version"]
    assert state["session"]["status"] == "open"
    assert state["speakers"]["current"]["delegation"]["code"] == codes[0]
    assert [e["delegation"]["code"] for e in state["speakers"]["queue"]] == [codes[1]]
    assert state["speakers"]["current"]["limit_s"] > 0


def test_the_version_of_a_room_is_not_moved_by_another_room(client, token, chair, programme):
    _, session = room_with_sitting(programme)
    chair.ok("session.open", session_id=session)
    before = chair.state()["version"]
    other = other_room(programme, chair.room)
    other_chair = Chair(client, token("chair", other), other)
    other_chair.open(programme)
    other_chair.ok("speaker.add", delegation=delegation_codes(programme)[0])
    assert chair.state()["version"] == before
    # so this chair's expected_version still holds
    chair.ok("speaker.add", delegation=delegation_codes(programme)[2], expected_version=before)


def test_stale_expected_version_is_409_and_changes_nothing(chair, programme):
    _, session = room_with_sitting(programme)
    codes = delegation_codes(programme)
    chair.ok("session.open", session_id=session)
    chair.ok("speaker.add", delegation=codes[0])
    chair.ok("speaker.add", delegation=codes[1])
    seen = chair.state()["version"]
    chair.ok("speaker.next", expected_version=seen)
    second = chair.send("speaker.next", expected_version=seen)  # the double click
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "stale"
    assert chair.state()["speakers"]["current"]["delegation"]["code"] == codes[0]


def test_a_retried_command_id_appends_nothing_and_gets_the_first_answer(client, token, chair,
                                                                       programme):
    code = delegation_codes(programme)[0]
    chair.open(programme)
    first = chair.ok("speaker.add", delegation=code, command_id="retry-1")
    again = chair.ok("speaker.add", delegation=code, command_id="retry-1")
    assert again["version"] == first["version"]
    assert again["events"] == first["events"]
    log = client.get("/api/events", headers=auth(token("admin"))).get_json()
    assert [e["type"] for e in log] == ["session.opened", "speaker.added"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "speaker.add"}, "delegation"),
        ({"type": "speaker.add", "delegation": 12}, "delegation"),
        ({"type": "timer.extend", "seconds": "ten"}, "seconds"),
        ({"type": "no.such.command"}, "type"),
        ({"type": "podium.message", "preset": "conclude",
          "text": {"es": "Concluya", "en": "Conclude"}}, "preset"),
        ({"type": "podium.message"}, "text"),
    ],
)
def test_invalid_fields_are_422_with_the_field_named(chair, body, field):
    response = chair.client.post(
        "/api/commands", json={"room": chair.room, **body}, headers=auth(chair.token)
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["field"] == field
    assert chair.state()["version"] == "0-0"


def test_malformed_json_is_400(chair):
    response = chair.client.post(
        "/api/commands", data="{not json", headers={**auth(chair.token),
                                                   "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_json"


def test_an_oversized_body_is_413(chair):
    text = "x" * 70_000
    response = chair.client.post(
        "/api/commands", data=json.dumps({"type": "speaker.add", "speaker_name": text}),
        headers={**auth(chair.token), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_unknown_room_and_entry_are_404(client, token, chair):
    unknown_room = Chair(client, token("admin"), "no-such-room")
    assert unknown_room.send("list.close").status_code == 404
    response = chair.send("speaker.remove", entry_id="nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/rooms/no-such-room", headers=auth(token("admin"))).status_code == 404


def test_a_rule_conflict_is_409(chair):
    response = chair.send("speaker.next")  # nobody waiting, no sitting open
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_roles_are_kept_to_their_rooms_and_powers(client, token, chair, programme):
    other = other_room(programme, chair.room)
    codes = delegation_codes(programme)
    chair.open(programme)
    cases = [
        (token("chair", other), {"type": "speaker.add", "delegation": codes[0]}, 403),
        (token("screen", chair.room), {"type": "speaker.add", "delegation": codes[0]}, 403),
        (token("staff"), {"type": "speaker.add", "delegation": codes[0]}, 403),
        (token("chair", "*"), {"type": "speaker.add", "delegation": codes[1]}, 200),
        (token("admin"), {"type": "list.close"}, 200),
    ]
    for tok, body, status in cases:
        response = client.post("/api/commands", json={"room": chair.room, **body},
                               headers=auth(tok))
        assert response.status_code == status, (body, response.get_json())
        if status == 403:
            assert response.get_json()["error"]["code"] == "forbidden"
    queue = chair.state()["speakers"]["queue"]
    assert [e["delegation"]["code"] for e in queue] == [codes[1]]


def test_staff_post_announcements_to_chosen_rooms(client, token, programme, chair):
    other = other_room(programme, chair.room)
    posted = client.post(
        "/api/commands",
        json={"type": "announcement.post", "text": {"es": "Café en el vestíbulo",
                                                     "en": "Coffee in the lobby"},
              "level": "info", "rooms": [chair.room]},
        headers=auth(token("staff")),
    )
    assert posted.status_code == 200
    ann_id = posted.get_json()["id"]
    assert [a["id"] for a in chair.state()["announcements"]] == [ann_id]
    theirs = client.get(f"/api/rooms/{other}", headers=auth(token("admin"))).get_json()
    assert theirs["announcements"] == []
    retracted = client.post(
        "/api/commands", json={"type": "announcement.retract", "id": ann_id},
        headers=auth(token("staff")),
    )
    assert retracted.status_code == 200
    assert chair.state()["announcements"] == []
    again = client.post(
        "/api/commands", json={"type": "announcement.retract", "id": ann_id},
        headers=auth(token("staff")),
    )
    assert again.status_code == 404  # it is not there any more
    assert again.get_json()["error"]["code"] == "not_found"
    assert again.get_json()["error"]["field"] == "id"


def test_a_screen_reads_only_its_own_room(client, token, programme, chair):
    other = other_room(programme, chair.room)
    screen = auth(token("screen", chair.room))
    assert client.get(f"/api/rooms/{chair.room}", headers=screen).status_code == 200
    assert client.get(f"/api/rooms/{other}", headers=screen).status_code == 403
    rooms = client.get("/api/rooms", headers=screen).get_json()
    assert [r["room"]["id"] for r in rooms] == [chair.room]


def test_the_event_log_is_for_admins_in_order(client, token, chair, programme):
    chair.open(programme)
    for code in delegation_codes(programme)[:2]:
        chair.ok("speaker.add", delegation=code)
    assert client.get("/api/events", headers=auth(token("staff"))).status_code == 403
    log = client.get("/api/events?limit=2", headers=auth(token("admin"))).get_json()
    assert [e["type"] for e in log] == ["session.opened", "speaker.added"]
    rest = client.get(f"/api/events?after={log[-1]['id']}", headers=auth(token("admin")))
    assert len(rest.get_json()) == 1
    bad = client.get("/api/events?after=yesterday", headers=auth(token("admin")))
    assert bad.status_code == 400


@pytest.mark.parametrize("after", ["18446744073709551616-0", "0-18446744073709551616",
                                   "99999999999999999999-99999999999999999999"])
def test_an_event_id_past_what_a_stream_id_holds_is_a_bad_request(client, token, after):
    # A stream id is two 64-bit numbers: Redis refuses a larger one, which is the
    # caller's mistake (400), not the store being unreachable (503).
    answer = client.get(f"/api/events?after={after}", headers=auth(token("admin")))
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_request"


def test_nothing_comes_after_the_largest_stream_id(client, token, chair, programme):
    chair.open(programme)
    largest = f"{2**64 - 1}-{2**64 - 1}"
    answer = client.get(f"/api/events?after={largest}", headers=auth(token("admin")))
    assert answer.status_code == 200 and answer.get_json() == []


def test_cookie_commands_from_another_site_are_refused(client, token, chair, programme):
    chair.open(programme)
    client.set_cookie("plenary_session", token("chair", chair.room))
    body = {"type": "speaker.add", "room": chair.room,
            "delegation": delegation_codes(programme)[0]}
    foreign = client.post("/api/commands", json=body, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert foreign.get_json()["error"]["code"] == "cross_site"
    own = client.post("/api/commands", json=body, headers={"Origin": "http://localhost"})
    assert own.status_code == 200
