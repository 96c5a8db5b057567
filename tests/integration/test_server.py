"""The web server's own handling of HTTP answers (gevent's pywsgi, our handler)."""

from __future__ import annotations

from typing import Any

from gevent import pywsgi, socket

from dashboard.serve.server import OriginCheckingHandler

BODY = b'{"ok":true}'


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


def test_an_answer_leaves_in_one_send_headers_and_body():
    sends: list[bytes] = []

    class Counting(OriginCheckingHandler):
        def handle(self) -> Any:
            real = self.socket

            class Spy:  # the handler's socket, its writes recorded
                def __getattr__(self, name: str) -> Any:
                    return getattr(real, name)

                def sendall(self, data: bytes) -> Any:
                    sends.append(bytes(data))
                    return real.sendall(data)

            self.socket = Spy()
            return super().handle()

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
    assert len(sends) == 2, sends
    for sent in sends:
        assert sent.startswith(b"HTTP/1.1 200 OK\r\n") and sent.endswith(b"\r\n\r\n" + BODY)
