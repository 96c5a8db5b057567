"""The control room's screen.* commands as a page receives them, through Flask-SocketIO's
test client: a move to a room the page's link cannot open is refused, not obeyed."""

from __future__ import annotations

from typing import Any

from dashboard.web.extensions import socketio

ROOM, OTHER = "plenario", "gt-seguridad"


def page(app: Any, tok: str, screen_id: str, room: str) -> Any:
    """A room screen that said hello and subscribed, as `static/js/report.js` does."""
    sock = socketio.test_client(app, auth={"token": tok})
    assert sock.emit("hello", {"kind": "screen", "screen_id": screen_id, "room": room},
                     callback=True)["ok"]
    assert sock.emit("subscribe", {"room": room}, callback=True)["ok"]
    sock.get_received()
    return sock


def directives(sock: Any) -> list[dict[str, Any]]:
    return [m["args"][0] for m in sock.get_received() if m["name"] == "directive"]


def send(client: Any, tok: str, body: dict[str, Any]) -> Any:
    return client.post("/api/commands", json=body, headers={"Authorization": f"Bearer {tok}"})


def test_a_move_to_a_room_the_pages_link_cannot_open_is_refused(app: Any, token: Any,
                                                                client: Any) -> None:
    """A screen opened with its room's link, moved to another room, would load a page its
    link may not open and show "access needed" until someone walks to it: refused with
    409 naming `room`, nothing recorded, nothing sent to the page."""
    left = page(app, token("screen", ROOM), "left", ROOM)
    admin = token("admin")
    # the fleet says which rooms the page's link opens (its move menu offers those only)
    listed = client.get("/api/screens", headers={"Authorization": f"Bearer {admin}"})
    assert {s["screen_id"]: s["access"] for s in listed.get_json()}["left"] == ROOM
    before = client.get("/api/events", headers={"Authorization": f"Bearer {admin}"}).get_json()
    refused = send(client, admin, {"type": "screen.set", "screen_id": "left", "room": OTHER})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"]["code"] == "conflict"
    assert refused.get_json()["error"]["field"] == "room"
    assert directives(left) == []
    after = client.get("/api/events", headers={"Authorization": f"Bearer {admin}"}).get_json()
    assert after == before
    # Over the socket, as the fleet page sends it: the same answer.
    desk = socketio.test_client(app, auth={"token": admin})
    ack = desk.emit("command", {"type": "screen.set", "screen_id": "left", "room": OTHER},
                    callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "conflict"
    # Its own room, or another language, is obeyed.
    assert send(client, admin, {"type": "screen.set", "screen_id": "left", "room": ROOM,
                                "lang": "en"}).status_code == 200
    assert [(d["action"], d.get("room"), d.get("lang")) for d in directives(left)] == [
        ("set", ROOM, "en")]


def test_a_page_whose_link_opens_every_room_is_moved(app: Any, token: Any,
                                                     client: Any) -> None:
    """A room screen opened with the overview's link (or an admin's) may show any room."""
    roaming = page(app, token("screen", "*"), "roaming", ROOM)
    listed = client.get("/api/screens", headers={"Authorization": f"Bearer {token('admin')}"})
    assert {s["screen_id"]: s["access"] for s in listed.get_json()}["roaming"] == "*"
    answer = send(client, token("admin"),
                  {"type": "screen.set", "screen_id": "roaming", "room": OTHER})
    assert answer.status_code == 200, answer.get_json()
    assert [(d["action"], d["room"]) for d in directives(roaming)] == [("set", OTHER)]
    # A page nobody lists any more (or never did): recorded, and nobody to refuse it.
    assert send(client, token("admin"), {"type": "screen.set", "screen_id": "unknown",
                                         "room": OTHER}).status_code == 200
