"""What a page says of itself (`hello`) is bounded: one listing per connection, at most
PLENARY_MAX_FLEET_PER_NODE of them a node, and only a room its link may read."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import create_app
from dashboard.web.extensions import socketio
from dashboard.web.services import services

ROOM, OTHER = "plenario", "gt-seguridad"


@pytest.fixture
def small(settings: Any) -> Any:
    """An app whose node lists at most two pages."""
    return create_app(settings.model_copy(update={"max_fleet_per_node": 2}))


def listed(app: Any) -> dict[str, dict[str, Any]]:
    parts = services(app)
    return {p["screen_id"]: p for p in parts.fleet.listing(parts.meeting.room_versions())}


def hello(sock: Any, **body: Any) -> Any:
    return sock.emit("hello", {"kind": "screen", **body}, callback=True)


def test_one_connection_lists_one_page(small: Any, token: Any) -> None:
    """A connection that says hello again with another id is refused and lists nothing
    more: else one link could fill the fleet past the node's bound."""
    sock = socketio.test_client(small, auth={"token": token("screen", ROOM)})
    assert hello(sock, screen_id="left")["ok"]
    assert hello(sock, screen_id="left")["ok"]  # the same page again: answered
    for other in ("right", "lobby", "x1"):
        refused = hello(sock, screen_id=other)
        assert refused["ok"] is False
        assert refused["error"]["code"] == "conflict"
        assert refused["error"]["field"] == "screen_id"
    refused = hello(sock)  # no id: listed by the connection, which is another page
    assert refused["ok"] is False and refused["error"]["code"] == "conflict"
    assert set(listed(small)) == {"left"}
    # The node's bound still counts connections: a second one fits, a third does not.
    second = socketio.test_client(small, auth={"token": token("screen", ROOM)})
    assert hello(second, screen_id="right")["ok"]
    third = socketio.test_client(small, auth={"token": token("screen", ROOM)})
    assert hello(third, screen_id="lobby")["error"]["code"] == "too_many"
    assert set(listed(small)) == {"left", "right"}


def test_a_hello_lists_only_a_room_its_link_may_read(app: Any, token: Any) -> None:
    """Before it subscribes, a page is listed in the room its hello names only if its
    link may read that room (and the room exists): another room's link is no witness."""
    sock = socketio.test_client(app, auth={"token": token("screen", OTHER)})
    assert hello(sock, screen_id="liar", room=ROOM)["ok"]
    other = socketio.test_client(app, auth={"token": token("screen", ROOM)})
    assert hello(other, screen_id="made-up", room="no-such-room" + "z" * 60)["ok"]
    mine = socketio.test_client(app, auth={"token": token("screen", ROOM)})
    assert hello(mine, screen_id="honest", room=ROOM)["ok"]
    overview = socketio.test_client(app, auth={"token": token("screen", "*")})
    assert hello(overview, kind="overview", screen_id="lobby", room="*")["ok"]
    pages = listed(app)
    assert pages["liar"]["room"] == "" and pages["made-up"]["room"] == ""
    assert pages["honest"]["room"] == ROOM and pages["lobby"]["room"] == "*"
    # Its subscription names its room, as before.
    assert sock.emit("subscribe", {"room": OTHER}, callback=True)["ok"]
    assert listed(app)["liar"]["room"] == OTHER


def test_a_pages_own_name_is_cleaned_as_typed_texts_are(app: Any, token: Any) -> None:
    """A name that reverses itself or hides characters would show on the fleet page as
    something else: cleaned as the admin's names are (invisible and direction marks out)."""
    sock = socketio.test_client(app, auth={"token": token("screen", ROOM)})
    answer = hello(sock, screen_id="left", name="\u202eadroh\u200b  izquierda\u2066 ")
    assert answer["ok"] and answer["name"] == "adroh izquierda"
    assert listed(app)["left"]["name"] == "adroh izquierda"


def test_a_page_says_a_language_of_the_service_or_none(app: Any, token: Any) -> None:
    """A language the service does not show (or not a string) is listed as none."""
    for said, kept in (("es", "es"), ("both", "both"), ("zz", ""), ("<b>", ""), (["es"], "")):
        sock = socketio.test_client(app, auth={"token": token("screen", ROOM)})
        assert hello(sock, screen_id=f"lang-{kept or 'none'}-{len(str(said))}", lang=said)["ok"]
        page = listed(app)[f"lang-{kept or 'none'}-{len(str(said))}"]
        assert page["lang"] == kept, said
        sock.disconnect()
