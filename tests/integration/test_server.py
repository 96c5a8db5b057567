"""The web server's own handling of HTTP answers (gevent's pywsgi, our handler)."""

from __future__ import annotations

import time
from socket import IPPROTO_TCP, TCP_NODELAY
from typing import Any

from gevent import pywsgi, socket

from dashboard.serve.server import OriginCheckingHandler

BODY = b'{"ok":true}'
# Linux sends what a cork holds after TCP_CORK_CEILING_S at the latest: an answer that
# waited for that was not pushed out, and one that arrived well before it was.
TCP_CORK_CEILING_S = 0.2
PUSHED_OUT_S = 0.75 * TCP_CORK_CEILING_S


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


def test_answers_are_sent_without_waiting_for_the_clients_ack():
    """Headers and body go out in two writes: without TCP_NODELAY a kept-alive client
    would wait for its delayed ACK before the body comes."""
    nodelay: list[int] = []

    class Counting(OriginCheckingHandler):
        def handle_one_request(self) -> Any:
            nodelay.append(self.socket.getsockopt(IPPROTO_TCP, TCP_NODELAY))
            return super().handle_one_request()

    server = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=Counting, log=None)
    server.start()
    try:
        client = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        received = b""
        for _ in range(2):  # two requests on one kept-alive connection
            client.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            while not received.endswith(BODY):
                received += client.recv(4096)
            received = b""
        client.close()
    finally:
        server.stop()
    assert nodelay and all(nodelay), nodelay


def corked_while_answering(request: bytes, expect_continue: bool = False
                           ) -> tuple[list[int], float]:
    """Send one request to a server of our handler; whether its answer was written corked,
    whether the socket was corked after, and the seconds the answer took."""
    from socket import TCP_CORK
    seen: list[int] = []

    class Watching(OriginCheckingHandler):
        def process_result(self) -> None:
            seen.append(self.socket.getsockopt(IPPROTO_TCP, TCP_CORK))
            super().process_result()
            seen.append(self.socket.getsockopt(IPPROTO_TCP, TCP_CORK))

    def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        return app(environ, start_response)

    server = pywsgi.WSGIServer(("127.0.0.1", 0), echo, handler_class=Watching, log=None)
    server.start()
    try:
        client = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        began = time.monotonic()
        client.sendall(request)
        received = b""
        if expect_continue:  # the body only once the server asks for it
            while b"100 Continue" not in received:
                received += client.recv(4096)
            client.sendall(BODY)
        while not received.endswith(BODY):
            received += client.recv(4096)
        took = time.monotonic() - began
        client.close()
    finally:
        server.stop()
    return seen, took


def test_an_answer_leaves_corked_as_one_segment_and_is_then_pushed_out():
    """The head and the body are written corked: the client is woken once for both."""
    seen, took = corked_while_answering(
        b"POST /api/commands HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n" + BODY)
    assert seen == [1, 0]
    assert took < PUSHED_OUT_S  # once written, not when the kernel gives up the cork


def test_a_request_expecting_100_continue_is_not_corked():
    """Corked, the `100 Continue` would wait for the kernel to give up the cork, and the
    client with it."""
    seen, took = corked_while_answering(
        b"POST /api/commands HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n"
        b"Expect: 100-continue\r\n\r\n", expect_continue=True)
    assert seen == [0, 0]
    assert took < PUSHED_OUT_S


def test_a_server_without_an_access_log_formats_no_request_line(monkeypatch):
    """A web node keeps no access log (the reverse proxy does): no request pays for a
    line that would be dropped."""
    from flask import Flask

    from dashboard.serve.server import make_server

    formatted: list[str] = []
    monkeypatch.setattr(OriginCheckingHandler, "format_request",
                        lambda self: formatted.append(self.path) or "")
    flask_app = Flask(__name__)
    flask_app.add_url_rule("/x", "x", lambda: "ok")
    server = make_server(flask_app, "127.0.0.1", 0)
    server.start()
    try:
        client = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        for _ in range(2):
            client.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            received = b""
            while not received.endswith(b"ok"):
                received += client.recv(4096)
            assert received.startswith(b"HTTP/1.1 200")
        client.close()
    finally:
        server.stop()
    assert formatted == []
