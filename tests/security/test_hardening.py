"""What a hostile client tried against a real `plenary run`, each refused: tokens in logs,
a forged Host header in the admin's links, a cross-site logout, forwarded headers with no
proxy configured, a link of another deployment with the same key, an oversized chunked
body, and the built-in server's connection cap per client address."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket

from tests.conftest import SECRET
from tests.support import ROOT, LiveServer, delete_keys, free_port

pytestmark = pytest.mark.slow

EVIL = "evil.example"


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    prefix = f"hard{uuid.uuid4().hex[:8]}"
    live = LiveServer(free_port(), tmp_path_factory.mktemp("hard"), {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_MAX_MESSAGE_BYTES": "4096"})
    live.start()
    yield live
    live.stop()
    delete_keys(redis_url, f"{prefix}:*")


def raw(server: LiveServer, request: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as s:
        s.sendall(request)
        received = b""
        try:
            while chunk := s.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and b"Content-Length: 0" in received:
                    break
        except TimeoutError:
            pass
        return received


def test_the_admin_page_builds_its_links_from_the_service_address_not_the_host_header(
    server: LiveServer,
) -> None:
    html = requests.get(f"{server.url}/admin", timeout=10, headers={"Host": EVIL},
                        cookies={"plenary_session": server.token("admin")}).text
    assert f"{server.url}/access/" in html
    assert EVIL not in html
    r = requests.post(f"{server.url}/api/access/revoke", json={"role": "screen", "room": "*"},
                      headers={"Host": EVIL, "Authorization": f"Bearer {server.token('admin')}"},
                      timeout=10)
    assert r.status_code == 200 and r.json()["url"].startswith(f"{server.url}/access/")


def test_a_cross_site_logout_is_refused(server: LiveServer) -> None:
    cookie = {"plenary_session": server.token("screen")}
    for origin in (f"https://{EVIL}", "null", None):
        headers = {"Origin": origin} if origin else {}
        r = requests.post(f"{server.url}/access/logout", headers=headers, cookies=cookie,
                          allow_redirects=False, timeout=10)
        assert r.status_code == 403, origin  # a page route: the "access needed" page
        assert "plenary_session" not in r.headers.get("Set-Cookie", "")
    r = requests.post(f"{server.url}/access/logout", headers={"Origin": server.url},
                      cookies=cookie, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "plenary_session=;" in r.headers["Set-Cookie"]


def test_forwarded_headers_are_ignored_without_a_configured_proxy(server: LiveServer) -> None:
    forged = {"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}
    origin = f"https://{EVIL}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(server.socket_url, origin=origin, timeout=5,
                                    header=[f"{k}: {v}" for k, v in forged.items()])
    assert refused.value.status_code == 403
    polling = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5,
                           headers={"Origin": origin, **forged})
    assert polling.status_code in (400, 403)
    chair = requests.post(f"{server.url}/api/commands", timeout=10,
                          json={"type": "list.close", "room": "plenario"},
                          cookies={"plenary_session": server.token("chair")},
                          headers={"Origin": origin, **forged})
    assert chair.status_code == 403 and chair.json()["error"]["code"] == "cross_site"


def test_forwarded_headers_are_believed_from_a_configured_proxy(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    live = LiveServer(free_port(), tmp_path / "proxied", {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_PROXY_COUNT": "1"})
    live.start()
    try:
        public = "https://plenary.example.org"
        forwarded = {"X-Forwarded-Host": "plenary.example.org", "X-Forwarded-Proto": "https"}
        ws = websocket.create_connection(live.socket_url, origin=public, timeout=5,
                                         header=[f"{k}: {v}" for k, v in forwarded.items()])
        assert ws.recv().startswith("0{")
        ws.close()
        r = requests.post(f"{live.url}/api/commands", timeout=10,
                          json={"type": "list.close", "room": "plenario"},
                          cookies={"plenary_session": live.token("chair")},
                          headers={"Origin": public, **forwarded})
        assert r.status_code != 403, r.text
    finally:
        live.stop()


def test_a_link_of_another_deployment_with_the_same_key_is_refused(server: LiveServer) -> None:
    from dashboard.web.access import make_token

    ours = server.token("admin")
    theirs = make_token("admin", "*", SECRET, deployment=server.deployment + "-other")
    unbound = make_token("admin", "*", SECRET, deployment="")
    headers = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    assert requests.get(f"{server.url}/api/rooms", headers=headers(ours),
                        timeout=10).status_code == 200
    for token in (theirs, unbound):  # an unbound link: only with the folder's own key
        r = requests.get(f"{server.url}/api/rooms", headers=headers(token), timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_an_oversized_chunked_body_is_413(server: LiveServer) -> None:
    token = server.token("admin")
    body = b'{"type": "list.close", "room": "plenario", "pad": "' + b"a" * 10_000 + b'"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                      for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
    for path in (b"/api/commands", b"/api/access/revoke"):
        head = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        answer = raw(server, head + chunks)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"too_large"' in answer
    # a small chunked body is read whole
    small = b'{"role": "screen", "room": "*"}'
    head = (b"POST /api/access/revoke HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer = raw(server, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_no_token_reaches_the_built_in_servers_log(server: LiveServer) -> None:
    token = server.token("admin")
    before = server.log_path.stat().st_size  # the links printed at start are its output
    # a malformed request whose line names a link: gevent logs such requests
    raw(server, b"GET /access/" + token.encode() + b" HTTP/9.1\r\nHost: x\r\n\r\n")
    raw(server, b"GET /access/" + token.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    time.sleep(0.5)
    logged = server.log_path.read_bytes()[before:].decode()
    assert "/access/…" in logged and token not in logged


def test_no_token_reaches_gunicorns_access_log(redis_url: str, prefix: str, tmp_path: Path
                                               ) -> None:
    port = free_port()
    env = {"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
           "PLENARY_DATA_DIR": str(tmp_path), "PORT": str(port),
           "PLENARY_HEADER_TIMEOUT_S": "2"}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
             "--access-logfile", "-"], env={**__import__("os").environ, **env}, cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        live = LiveServer(port, tmp_path, {"PLENARY_KEY_PREFIX": prefix})
        token = live.token("admin", secret=SECRET)
        assert requests.get(f"{url}/access/{token}", allow_redirects=False,
                            timeout=10).status_code == 302
        # the same slow-head bound as `plenary run`
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            while time.monotonic() - started < 8:
                try:
                    s.sendall(b"X")
                except OSError:
                    break
                time.sleep(0.5)
            assert time.monotonic() - started < 5
        time.sleep(0.5)
        text = log.read_text()
        assert "/access/…" in text and token not in text
    finally:
        process.terminate()
        process.wait(timeout=20)


def _outward_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            found = s.getsockname()[0]
        except OSError:
            return None
    return None if found.startswith("127.") else str(found)


def test_one_client_address_gets_only_its_share_of_connections(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    address = _outward_address()
    if address is None:
        pytest.skip("no address but loopback on this machine")
    live = LiveServer(free_port(), tmp_path / "capped", {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_MAX_CONNECTIONS_PER_ADDRESS": "20", "PLENARY_HEADER_TIMEOUT_S": "30"})
    live.start(host="0.0.0.0")
    held: list[socket.socket] = []
    try:
        for _ in range(20):
            held.append(socket.create_connection((address, live.port), timeout=5))
        time.sleep(0.3)
        with socket.create_connection((address, live.port), timeout=5) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(200)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        # loopback (the benchmark's screens, a local proxy) is not capped
        assert requests.get(f"{live.url}/healthz", timeout=5).status_code == 200
        held.pop().close()
        time.sleep(0.3)
        with socket.create_connection((address, live.port), timeout=5) as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert again.recv(200).startswith(b"HTTP/1.1 200")
        assert live.log_path.read_text().count("connection cap reached") == 1
        assert f"{address} has 20 connections open" in live.log_path.read_text()
    finally:
        for s in held:
            s.close()
        live.stop()
