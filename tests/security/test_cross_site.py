"""Promise 7 (extends tests/integration/test_live.py): Socket.IO handshakes from any
origin but the service's own and the configured list are refused, over websocket and
polling, against a real server, including when the browser brings a valid cookie."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
import websocket

from tests.conftest import SECRET
from tests.support import LiveServer, delete_keys, free_port

pytestmark = pytest.mark.slow

FRIEND = "https://screens.example.org"


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    prefix = f"xsite{uuid.uuid4().hex[:8]}"  # the module's own keys, deleted afterwards
    live = LiveServer(free_port(), tmp_path_factory.mktemp("xsite"), {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_ALLOWED_ORIGINS": FRIEND})
    live.start()
    yield live
    live.stop()
    delete_keys(redis_url, f"{prefix}:*")


def foreign(server: LiveServer) -> list[str]:
    own = server.url
    return [
        "https://evil.example", "null", own.replace("http://", "https://"),
        own + ".evil.example", own.replace(str(server.port), str(server.port + 1)),
        "http://localhost:" + str(server.port), FRIEND + ".evil.example", FRIEND + ":444",
        "http://screens.example.org",
    ]


def ws_status(server: LiveServer, origin: str, cookie: str | None = None) -> int:
    url = server.socket_url
    try:
        ws = websocket.create_connection(url, origin=origin, timeout=5,
                                         cookie=cookie and f"plenary_session={cookie}")
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    opened = ws.recv()
    ws.close()
    assert opened.startswith("0{")
    return 101


def polling_status(server: LiveServer, origin: str, cookie: str | None = None) -> int:
    cookies = {"plenary_session": cookie} if cookie else None
    return requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5,
                        headers={"Origin": origin}, cookies=cookies).status_code


def test_foreign_origins_are_refused_over_both_transports_even_with_a_cookie(server):
    cookie = server.token("admin")
    for origin in foreign(server):
        assert ws_status(server, origin, cookie) == 403, origin
        assert polling_status(server, origin, cookie) == 400, origin


def test_the_configured_origin_and_the_own_one_are_allowed(server):
    for origin in (server.url, FRIEND):
        assert ws_status(server, origin) == 101, origin
        assert polling_status(server, origin) == 200, origin


def test_a_cookie_command_from_another_site_is_refused(server):
    cookie = {"plenary_session": server.token("admin")}
    body = {"type": "announcement.post", "text": {"es": "x", "en": "x"}}
    for origin in [*foreign(server), None]:
        headers = {"Origin": origin} if origin else {}
        r = requests.post(f"{server.url}/api/commands", json=body, cookies=cookie,
                          headers=headers, timeout=5)
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site", origin
    ok = requests.post(f"{server.url}/api/commands", json=body, cookies=cookie, timeout=5,
                       headers={"Origin": server.url})
    assert ok.status_code == 200
