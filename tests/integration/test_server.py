"""The web server's own handling of HTTP answers (gevent's pywsgi, our handler)."""

from __future__ import annotations

from socket import IPPROTO_TCP, TCP_NODELAY
from typing import Any

from gevent import pywsgi, socket

from dashboard.serve.server import OriginCheckingHandler

BODY = b'{"ok":true}'


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
