"""Requests for the floor from delegations over HTTP and Socket.IO, against real Redis."""

from __future__ import annotations

import csv
import io
from typing import Any

from dashboard.store.meeting import Meeting
from dashboard.web.extensions import socketio
from tests.integration.helpers import Chair

ROOM = "plenario"


def post(client: Any, tok: str, body: dict[str, Any]) -> Any:
    return client.post("/api/commands", json=body, headers={"Authorization": f"Bearer {tok}"})


def get(client: Any, tok: str, path: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {tok}"})


def test_a_request_with_approval_is_seen_by_the_desk_never_by_screens(app, token, client):
    chair = Chair(client, token("chair", ROOM), ROOM)
    chair.ok("session.open", session_id="plenaria")
    screen = socketio.test_client(app, auth={"token": token("screen", ROOM)})
    desk = socketio.test_client(app, auth={"token": token("chair", ROOM)})
    phone = socketio.test_client(app, auth={"token": token("delegation", "BRB")})
    assert screen.emit("subscribe", {"room": ROOM}, callback=True)["ok"]
    assert desk.emit("subscribe", {"room": ROOM}, callback=True)["ok"]
    assert phone.emit("subscribe", {"room": "*"}, callback=True)["ok"]
    ack = phone.emit("command", {"type": "request.submit", "room": ROOM, "level": "minister",
                                 "on_behalf_of": "CARICOM", "language": "en"}, callback=True)
    assert ack["ok"] and ack["request_id"], ack
    desk_states = [m["args"][0] for m in desk.get_received() if m["name"] == "state"]
    screen_states = [m["args"][0] for m in screen.get_received() if m["name"] == "state"]
    phone_states = [m["args"][0] for m in phone.get_received() if m["name"] == "state"]
    assert desk_states[-1]["speakers"]["requests"][0]["request_id"] == ack["request_id"]
    assert screen_states and "requests" not in screen_states[-1]["speakers"]
    assert phone_states and all("requests" not in s["speakers"] for s in phone_states)
    # HTTP: the chair reads it; the screen and the delegation do not.
    assert get(client, token("chair", ROOM), f"/api/rooms/{ROOM}").get_json()[
        "speakers"]["requests"][0]["delegation"]["code"] == "BRB"
    assert "requests" not in get(client, token("screen", ROOM), f"/api/rooms/{ROOM}").get_json()[
        "speakers"]
    assert "requests" not in get(client, token("delegation", "BRB"),
                                 f"/api/rooms/{ROOM}").get_json()["speakers"]
    mine = get(client, token("delegation", "BRB"), "/api/delegation").get_json()
    assert mine["requests"][0]["request_id"] == ack["request_id"]
    # The chair accepts it: it is on the list, with its group, for everyone.
    chair.ok("request.accept", request_id=ack["request_id"])
    entry = chair.state()["speakers"]["queue"][0]
    assert entry["on_behalf_of"]["code"] == "CARICOM" and entry["language"] == "en"
    mine = get(client, token("delegation", "BRB"), "/api/delegation").get_json()
    assert mine["entries"][0]["position"] == 0 and mine["entries"][0]["wait_s"] == 0.0


def test_a_delegation_sends_only_requests_for_itself(app, token, client):
    Chair(client, token("chair", ROOM), ROOM).ok("session.open", session_id="plenaria")
    mine = token("delegation", "PAN")
    refused = post(client, mine, {"type": "speaker.add", "room": ROOM, "delegation": "PAN"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    refused = post(client, mine, {"type": "request.accept", "room": ROOM, "request_id": "rq1"})
    assert refused.status_code == 403
    programme = app.extensions["plenary"].meeting.programme
    for other in programme.delegations_by_code:
        if other == "PAN":
            continue
        answer = post(client, mine, {"type": "request.submit", "room": ROOM, "delegation": other})
        assert answer.status_code == 403, other
    decline = post(client, mine, {"type": "request.submit", "room": ROOM})
    assert decline.status_code == 200
    rid = decline.get_json()["request_id"]
    assert post(client, token("delegation", "USA"), {
        "type": "request.withdraw", "room": ROOM, "request_id": rid}).status_code == 403
    assert get(client, mine, "/api/events").status_code == 403
    chair = Chair(client, token("chair", ROOM), ROOM)
    chair.ok("request.decline", request_id=rid, reason={"es": "Fuera de plazo", "en": "Too late"})
    declined = get(client, mine, "/api/delegation").get_json()["declined"]
    assert declined[0]["reason"]["en"] == "Too late"
    assert get(client, token("delegation", "USA"), "/api/delegation").get_json()["declined"] == []


def test_a_direct_request_joins_the_list_and_can_be_withdrawn(token, client):
    room = "gt-seguridad"
    Chair(client, token("chair", room), room).ok("session.open", session_id="gt-seguridad-1")
    mine = token("delegation", "COL")
    answer = post(client, mine, {"type": "request.submit", "room": room, "language": "es"})
    assert answer.status_code == 200 and answer.get_json()["entry_id"]
    entry_id = answer.get_json()["entry_id"]
    assert get(client, mine, f"/api/rooms/{room}").get_json()["speakers"]["queue"][0][
        "entry_id"] == entry_id
    assert post(client, mine, {"type": "request.withdraw", "room": room,
                               "entry_id": entry_id}).status_code == 200
    assert get(client, mine, f"/api/rooms/{room}").get_json()["speakers"]["queue"] == []


def test_a_prepared_list_is_served_before_its_sitting_opens(token, client):
    chair = Chair(client, token("chair", ROOM), ROOM)
    chair.ok("speaker.add", delegation="PAN", session_id="plenaria", level="head_of_delegation")
    chair.ok("speaker.add", delegation="COL", session_id="plenaria", level="minister")
    chair.ok("list.order", by="protocol", session_id="plenaria")
    state = get(client, token("screen", ROOM), f"/api/rooms/{ROOM}").get_json()
    assert state["session"] is None and state["speakers"]["for_session"] == "plenaria"
    assert [e["delegation"]["code"] for e in state["speakers"]["queue"]] == ["COL", "PAN"]
    chair.ok("session.open", session_id="plenaria")
    chair.ok("item.start", item_id="informes")
    state = chair.state()
    assert state["session"]["item"]["id"] == "informes"
    assert [e["delegation"]["code"] for e in state["speakers"]["queue"]] == ["COL", "PAN"]


def test_delegation_links_are_printed_and_revocable(app, token, client):
    admin = token("admin")
    with app.test_request_context():
        from dashboard.web.access import access_links  # noqa: PLC0415 - needs the app context

        links = access_links("http://x")
    mine = [link for link in links if link["role"] == "delegation"]
    programme = app.extensions["plenary"].meeting.programme
    assert [link["room"] for link in mine] == [d.code for d in programme.delegations]
    answer = client.post("/api/access/revoke", json={"role": "delegation", "room": "BRB"},
                         headers={"Authorization": f"Bearer {admin}",
                                  "Origin": "http://localhost"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["role"] == "delegation" and answer.get_json()["room"] == "BRB"


def test_a_speakers_title_goes_from_the_forms_to_every_reader_and_survives_a_replay(
        app, token, client):
    chair = Chair(client, token("chair", ROOM), ROOM)
    chair.ok("session.open", session_id="plenaria")
    title = "Ministra de Relaciones Exteriores"
    version = chair.state()["version"]
    too_long = chair.send("speaker.add", delegation="COL", speaker_title="x" * 121)
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["code"] == "invalid"
    assert too_long.get_json()["error"]["field"] == "speaker_title"
    assert chair.state()["version"] == version  # nothing changed
    chair.ok("speaker.add", delegation="COL", speaker_name="Ana Pérez", speaker_title=title)
    answer = post(client, token("delegation", "BRB"),
                  {"type": "request.submit", "room": ROOM, "speaker_title": "Prime Minister"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["request_id"]
    chair.ok("request.accept", request_id=answer.get_json()["request_id"])
    chair.ok("speaker.next")
    screen = get(client, token("screen", ROOM), f"/api/rooms/{ROOM}").get_json()
    assert screen["speakers"]["current"]["speaker_title"] == title
    assert [e["speaker_title"] for e in screen["speakers"]["queue"]] == ["Prime Minister"]
    events = get(client, token("admin"), "/api/events?limit=100").get_json()
    added = [e["data"] for e in events if e["type"] == "speaker.added"]
    assert [a.get("speaker_title") for a in added] == [title, "Prime Minister"]
    live = app.extensions["plenary"].meeting
    replayed = Meeting(live.programme, live.log)
    replayed.load()
    assert replayed.state.rooms[ROOM] == live.state.rooms[ROOM]
    assert replayed.state.rooms[ROOM].current.speaker_title == title


def test_the_record_carries_each_speechs_agenda_item_in_json_and_csv(token, client):
    """Speeches under two items (and one before any): the JSON gives each its item and
    groups them; the CSV has the item's id and both titles on each speech's row."""
    chair = Chair(client, token("chair", ROOM), ROOM)
    chair.ok("session.open", session_id="plenaria")
    chair.ok("speaker.add", delegation="MEX")
    chair.ok("speaker.next")
    chair.ok("item.start", item_id="informes")
    for code in ("PAN", "COL"):
        chair.ok("speaker.add", delegation=code)
    chair.ok("speaker.next")
    chair.ok("speaker.next")
    chair.ok("item.start", item_id="corrupcion-redes")
    chair.ok("speaker.add", delegation="BRB", on_behalf_of="CARICOM")
    chair.ok("speaker.next")
    chair.ok("speaker.stop")
    staff = token("staff")
    record = get(client, staff, "/api/minutes.json").get_json()
    assert [(s["delegation"], s["item_id"]) for s in record["speeches"]] == [
        ("MEX", None), ("PAN", "informes"), ("COL", "informes"), ("BRB", "corrupcion-redes")]
    assert record["speeches"][1]["item_title"]["es"] == "Informes de los grupos de trabajo"
    assert record["speeches"][0]["item_title"] is None
    assert record["speeches"][3]["on_behalf_of"] == "CARICOM"
    assert [(g["item_id"], g["speeches"]) for g in record["totals"]["items"]] == [
        (None, 1), ("informes", 2), ("corrupcion-redes", 1)]
    assert record["totals"]["items"][2]["title"]["en"].startswith(
        "The fight against corruption")
    text = get(client, staff, "/api/minutes.csv").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["record"] == "speech"]
    assert [(r["delegation"], r["item_id"]) for r in rows] == [
        ("MEX", ""), ("PAN", "informes"), ("COL", "informes"), ("BRB", "corrupcion-redes")]
    assert rows[1]["item_title_es"] == "Informes de los grupos de trabajo"
    assert rows[1]["item_title_en"] == "Reports of the working groups"
    assert rows[0]["item_title_es"] == rows[0]["item_title_en"] == ""
    assert rows[3]["item_title_en"].startswith("The fight against corruption")
    assert rows[3]["on_behalf_of"] == "CARICOM"
