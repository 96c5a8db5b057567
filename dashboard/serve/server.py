"""The gevent WSGI server with gevent-websocket, refusing foreign origins before the upgrade."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from flask import Flask
from gevent import pywsgi
from geventwebsocket.handler import WebSocketHandler

READ_BUFFER = 2048  # bytes per connection


class OriginCheckingHandler(WebSocketHandler):  # type: ignore[misc]
    """gevent-websocket completes the handshake before the app runs, so the origin
    check of engine.io would come after the upgrade; this one refuses it before.
    It reads its settings from the Flask app, the same under `plenary run` and gunicorn."""

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        # gevent's default read buffer is 8 KB, allocated up front and kept for the
        # life of the connection: most of it idle on a screen's websocket, which only
        # reads pongs and small events. 2 KB still reads any request line or header.
        super().__init__(sock, address, server, rfile or sock.makefile("rb", READ_BUFFER))

    def handle(self) -> Any:
        # gevent writes a response's headers and body separately; without
        # TCP_NODELAY a kept-alive client waits ~40 ms (delayed ACK) per answer.
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle()

    def log_request(self) -> None:
        # gevent-websocket logs every HTTP request through `logging` at INFO, whatever
        # the server was told: a formatted line written on the command's path (and on
        # each long-poll). Log like pywsgi instead: to the server's access log, if any
        # (none on a web node; the reverse proxy keeps one, docs/deploy.md).
        if self.server.log is not None:
            pywsgi.WSGIHandler.log_request(self)

    def upgrade_websocket(self) -> Any:
        environ = self.environ
        origin = environ.get("HTTP_ORIGIN")
        if (
            environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            and origin is not None
            and not self.application.config["PLENARY_ORIGIN_POLICY"](origin, environ)
        ):
            body = b'{"error":{"code":"forbidden","message":"origin not allowed"}}'
            self.start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            # A client that goes silent (its network gone, or it gave up on this
            # connection without closing it) must not hold the socket and its
            # greenlet forever: engine.io closes the session on a missed pong but
            # its reader stays blocked in a read. A live client answers a ping
            # every ping interval, so a read this long without data means dead.
            eio = self.application.extensions["socketio"].server.eio
            self.socket.settimeout(eio.ping_interval + eio.ping_timeout + 5)
        return super().upgrade_websocket()


def make_server(app: Flask, host: str, port: int, **kwargs: Any) -> pywsgi.WSGIServer:
    """A server for the app (already wrapped by Flask-SocketIO) on host:port."""
    server = pywsgi.WSGIServer(
        (host, port), app, handler_class=OriginCheckingHandler, log=None, **kwargs
    )
    return server
