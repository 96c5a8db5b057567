"""The web server's own handling of HTTP answers (gevent's pywsgi, our handler)."""

from __future__ import annotations

from socket import IPPROTO_TCP, TCP_NODELAY
from typing import Any

import pytest
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


# struct tcp_info (linux/tcp.h): tcpi_data_segs_out, segments that carried data
_DATA_SEGS_OUT = 156


def _data_segments_out(sock: Any) -> int:
    info = sock.getsockopt(IPPROTO_TCP, socket.TCP_INFO, 256)
    return int.from_bytes(info[_DATA_SEGS_OUT:_DATA_SEGS_OUT + 4], "little")


@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")
def test_an_answer_leaves_in_one_segment():
    """pywsgi writes the head and the body apart; the client must get them together,
    woken once per answer, not twice."""
    segments: list[int] = []

    class Counting(OriginCheckingHandler):
        def handle_one_request(self) -> Any:
            before = _data_segments_out(self.socket)
            try:
                return super().handle_one_request()
            finally:
                segments.append(_data_segments_out(self.socket) - before)

    server = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=Counting, log=None)
    server.start()
    try:
        client = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
        for _ in range(3):
            client.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            received = b""
            while not received.endswith(BODY):
                received += client.recv(4096)
        client.close()
    finally:
        server.stop()
    # the last entry is the read that found the connection closed
    assert segments[:3] == [1, 1, 1], segments
