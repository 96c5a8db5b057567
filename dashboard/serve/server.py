"""The gevent WSGI server with gevent-websocket: foreign origins refused before the upgrade,
slow clients bounded in time, connections capped in number.

The bounds (the same under `plenary run` and gunicorn, whose worker uses this
handler):
- the head of a request (request line and headers) must arrive whole within
  `header_timeout_s` of the first byte (of the connection's start, for its first
  request): a deadline, not a per-read timeout, so a byte every few seconds does
  not keep a connection;
- a kept-alive connection waits `idle_timeout_s` at most for its next request;
- each read or write of a request's body or answer waits `body_timeout_s` at most
  (an upgraded websocket then gets the Socket.IO ping bound instead);
- at most `max_connections` at once: at the cap, a new connection takes the place
  of the oldest one still waiting for (or sending) a request head, which is closed;
  with none, the new one is refused. At most `max_per_address` from one client
  address (loopback addresses, and every address behind a configured proxy, are
  not capped: the proxy is then where per-client limits belong).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import resource
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.pool
from flask import Flask
from gevent import pywsgi
from geventwebsocket.handler import WebSocketHandler

READ_BUFFER = 512  # bytes per connection
# Handlers that may run beyond `max_connections`: those being refused or evicted at the
# cap, whose sockets are not closed yet. The accept loop waits while all run, so a
# process never holds more than max_connections + this many client sockets.
PAST_CAP_HANDLERS = 64
CAP_LOG_EVERY_S = 60.0

log = logging.getLogger(__name__)

_ACCESS_PATH = re.compile(r"/access/[^\s?#\"']+")
_REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                    b"Content-Length: 0\r\n\r\n")
_OVER_CAP = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
             b"Content-Length: 0\r\n\r\n")


_TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)  # Linux only


def cork(sock: socket.socket, on: bool) -> bool:
    """Hold what is written to `sock` until uncorked, then send it in full segments;
    whether it was done."""
    if _TCP_CORK is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1 if on else 0)
    except OSError:  # the client gone: nothing to hold or send
        return False
    return True


def redact(text: str) -> str:
    """A log line without access tokens: `/access/<token>` becomes `/access/…`."""
    return _ACCESS_PATH.sub("/access/…", text)


@dataclass(frozen=True)
class ServerLimits:
    """Time and count bounds of the HTTP server (see the module's docstring)."""

    header_timeout_s: float = 10.0
    idle_timeout_s: float = 75.0
    body_timeout_s: float = 30.0
    max_connections: int = 10_000
    max_per_address: int = 500
    cap_per_address: bool = True  # off behind a proxy: every client has its address


class HeadTimeout(TimeoutError):
    """A request head did not arrive in time (or its connection was evicted at the cap)."""


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else None
    if not host:
        return True  # a unix socket: local
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class ConnectionGuard:
    """The open connections of one server: counted in total and per client address, and
    those still waiting for a request head (the ones closed first at the cap)."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.total = 0
        self.per_address: Counter[str] = Counter()
        self.waiting: dict[Any, gevent.Greenlet] = {}  # handler -> its greenlet, oldest first
        self.refused = 0
        self.evicted = 0
        self.logged_at = 0.0

    def admit(self, handler: Any) -> bool:
        """Count a new connection in, or refuse it (False); at the total cap, close the
        connection that has waited longest for its request head to make room."""
        limits, address = self.limits, handler.client_address
        host = address[0] if isinstance(address, tuple) else ""
        if (limits.cap_per_address and limits.max_per_address > 0 and not _is_loopback(address)
                and self.per_address[host] >= limits.max_per_address):
            self._note("per-address", f"{host} has {limits.max_per_address} connections open "
                       "(PLENARY_MAX_CONNECTIONS_PER_ADDRESS)")
            return False
        if limits.max_connections > 0 and self.total >= limits.max_connections:
            if not self.waiting:
                self._note("total", f"{self.total} connections open (PLENARY_MAX_CONNECTIONS), "
                           "none waiting for a request head")
                return False
            oldest = next(iter(self.waiting))
            greenlet = self.waiting.pop(oldest)
            greenlet.kill(HeadTimeout("closed to make room"), block=False)
            self.evicted += 1
            self._note("total", f"{self.total} connections open (PLENARY_MAX_CONNECTIONS); "
                       "closing those that wait longest for a request head")
        self.total += 1
        self.per_address[host] += 1
        return True

    def release(self, handler: Any) -> None:
        """Count a closed connection out."""
        self.waiting.pop(handler, None)
        address = handler.client_address
        host = address[0] if isinstance(address, tuple) else ""
        self.total -= 1
        self.per_address[host] -= 1
        if self.per_address[host] <= 0:
            del self.per_address[host]

    def _note(self, which: str, what: str) -> None:
        if which == "per-address" or not self.waiting:
            self.refused += 1
        now = time.monotonic()
        if now - self.logged_at >= CAP_LOG_EVERY_S:
            self.logged_at = now
            log.warning("connection cap reached: %s (since the last such line: %d refused, "
                        "%d closed waiting for a head)", what, self.refused, self.evicted)
            self.refused = self.evicted = 0


def _guard_of(server: Any, application: Any) -> ConnectionGuard:
    guard: ConnectionGuard | None = getattr(server, "plenary_guard", None)
    if guard is None:
        config = getattr(application, "config", {})
        guard = ConnectionGuard(config.get("PLENARY_SERVER_LIMITS") or ServerLimits())
        server.plenary_guard = guard
    return guard


class OriginCheckingHandler(WebSocketHandler):  # type: ignore[misc]
    """gevent-websocket completes the handshake before the app runs, so the origin
    check of engine.io would come after the upgrade; this one refuses it before.
    It reads its settings from the Flask app, the same under `plenary run` and gunicorn."""

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        # gevent's default read buffer is 8 KB, allocated up front and kept for the
        # life of the connection: most of it idle on a screen's websocket, which only
        # reads pongs and small events. A longer request head or body is read in a
        # few more `recv` calls (a buffered read larger than the buffer bypasses it).
        super().__init__(sock, address, server, rfile or sock.makefile("rb", READ_BUFFER))

    def handle(self) -> Any:
        self._guard = guard = _guard_of(self.server, self.server.application)
        self._requests = 0
        self._head_timer: gevent.Timeout | None = None
        self._corked = False
        if not guard.admit(self):
            with contextlib.suppress(OSError):
                self.socket.setblocking(False)
                self.socket.send(_OVER_CAP)
            with contextlib.suppress(OSError):
                self.socket.close()
            return None
        try:
            # gevent writes a response's headers and body separately; without
            # TCP_NODELAY a kept-alive client waits for its delayed ACK on every answer.
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle()
        except HeadTimeout:
            return None  # evicted at the cap between two reads
        finally:
            self._cancel_head_timer()
            guard.release(self)

    def handle_one_response(self) -> Any:
        # pywsgi sends an answer's head and its body apart: corked, they leave as one
        # segment, and the client (a chair waiting for its command's answer) is woken
        # once, not for the head and again for the body. Not a websocket (its frames
        # would wait) nor a request expecting `100 Continue` (which would wait too).
        environ = self.environ
        if _TCP_CORK is None or "HTTP_UPGRADE" in environ or "HTTP_EXPECT" in environ:
            return super().handle_one_response()
        self._corked = cork(self.socket, True)
        try:
            return super().handle_one_response()
        finally:
            self._uncork()

    def process_result(self) -> None:
        super().process_result()
        self._uncork()  # sent now: what the answer's close() does comes after

    def _uncork(self) -> None:
        if self._corked:
            self._corked = False
            cork(self.socket, False)

    def _cancel_head_timer(self) -> None:
        timer, self._head_timer = self._head_timer, None
        if timer is not None:
            timer.close()
        self._guard.waiting.pop(self, None)

    def read_requestline(self) -> str:
        limits = self._guard.limits
        self._guard.waiting[self] = gevent.getcurrent()
        if self._requests:
            # kept alive: wait for the next request's first byte, then its head's deadline
            self.socket.settimeout(limits.idle_timeout_s)
            if not self.rfile.peek(1):
                return ""
        self._requests += 1
        self._head_timer = gevent.Timeout.start_new(
            limits.header_timeout_s, HeadTimeout("request head too slow"))
        try:
            line: str = super().read_requestline()
        except BaseException:
            self._cancel_head_timer()
            raise
        return line

    def read_request(self, raw_requestline: str) -> Any:
        try:
            return super().read_request(raw_requestline)
        finally:
            self._cancel_head_timer()
            self.socket.settimeout(self._guard.limits.body_timeout_s)

    def _handle_client_error(self, ex: BaseException) -> Any:
        if isinstance(ex, HeadTimeout):
            return ("408", _REQUEST_TIMEOUT)  # a slow client: nothing worth a log line
        return super()._handle_client_error(ex)

    def format_request(self) -> str:
        return redact(str(super().format_request()))

    def log_error(self, msg: str, *args: Any) -> None:
        super().log_error("%s", redact(msg % args if args else msg))

    def log_request(self) -> None:
        # gevent-websocket logs every HTTP request through `logging` at INFO, whatever
        # the server was told: a formatted line written on the command's path (and on
        # each long-poll). Log like pywsgi instead: to the server's access log, if any
        # (none on a web node; the reverse proxy keeps one, docs/deploy.md).
        if self.server.log is not None:
            pywsgi.WSGIHandler.log_request(self)

    def _origin_allowed(self, origin: str, environ: dict[str, Any]) -> bool:
        config = self.application.config
        # the app's ProxyFix has not run yet: apply it to a copy (Host and scheme as the
        # configured proxies say; X-Forwarded-* ignored without one)
        fixed = config["PLENARY_PROXY_FIX"](environ)
        return bool(config["PLENARY_ORIGIN_POLICY"](origin, fixed))

    def upgrade_websocket(self) -> Any:
        environ = self.environ
        origin = environ.get("HTTP_ORIGIN")
        if (
            environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            and origin is not None
            and not self._origin_allowed(origin, environ)
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


def make_server(app: Flask, host: str, port: int, listener: socket.socket | None = None,
                **kwargs: Any) -> pywsgi.WSGIServer:
    """A server for the app (already wrapped by Flask-SocketIO) on host:port, or on a
    listening socket shared with other processes."""
    limits = app.config.get("PLENARY_SERVER_LIMITS") or ServerLimits()
    if limits.max_connections > 0 and "spawn" not in kwargs:
        # Sockets are accepted (up to 100 a turn) before their handlers run and count
        # them, and an evicted one is closed only when its greenlet next runs: on a busy
        # process both outrun the cap. A pool bounds the handlers, hence the sockets.
        kwargs["spawn"] = gevent.pool.Pool(limits.max_connections + PAST_CAP_HANDLERS)
    server = pywsgi.WSGIServer(
        listener or (host, port), app, handler_class=OriginCheckingHandler, log=None, **kwargs
    )
    # No access log here: pywsgi puts a writer that drops every line in its place, and
    # would still format each request's line on its path; None skips it (`log_request`).
    server.log = None
    if listener is not None:
        # Every process sharing the socket is woken by a new connection: taking one per
        # wake-up (not up to 100) leaves the rest of a burst to the others.
        server.max_accept = 1
    return server


def raise_open_file_limit() -> int:
    """Raise this process's open-file soft limit to its hard limit; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def default_max_connections() -> int:
    """Connections a process may hold: its open-file limit less a reserve (an eighth, at
    least 384) for Redis clients and files, and for the sockets of the handlers that
    run past the cap (`PAST_CAP_HANDLERS`) while they refuse or close."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(16, int(soft) - max(384, int(soft) // 8))
