"""Socket.IO events of the contract: connect, subscribe, command, hello, shown."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import gevent
import redis
from flask import Flask, request
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError as Refused

from dashboard.domain import BaseCommand, Conflict
from dashboard.domain.events import Event, ScreenDirected
from dashboard.domain.screens import ScreenSet
from dashboard.live import json_fast
from dashboard.live.channels import channel, overview
from dashboard.store.fleet import Hello, screen_number
from dashboard.web.access import ALL, COOKIE, Principal, read_token
from dashboard.web.errors import ApiError, answered
from dashboard.web.extensions import socketio
from dashboard.web.headers import SECURITY_HEADERS
from dashboard.web.metrics import log_event, observe_command
from dashboard.web.services import Services, services

log = logging.getLogger(__name__)
_VERSION = re.compile(r"^\d{1,20}-\d{1,20}$")

_WEBSOCKET_ONLY = (
    b'{"error":{"code":"websocket_only","message":"this service runs several processes '
    b'that share no long-polling session: connect with the websocket transport"}}')


def _refuse(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    """An engine.io request answered here, before engine.io: a JSON error body."""
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))), *SECURITY_HEADERS,
                            ("Cache-Control", "no-store")])
    return [body]


def websocket_only(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Refuse Engine.IO long-polling with 400 `websocket_only`: every request of a polling
    session must reach the process that holds it, which processes sharing a port cannot
    promise; a websocket lives on one connection, so on one process."""

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Read the transport as Engine.IO does (decoded, the first one, polling when
        # absent): a raw substring test would let `%70olling`, or no transport at all,
        # through.
        if (environ.get("PATH_INFO", "").startswith("/socket.io")
                and parse_qs(environ.get("QUERY_STRING", "")).get(
                    "transport", ["polling"])[0] != "websocket"):
            return _refuse(start_response, "400 Bad Request", _WEBSOCKET_ONLY)
        return wsgi_app(environ, start_response)

    return route


_POLL_TOO_LARGE = (b'{"error":{"code":"too_large","message":"a long-polling message is larger '
                   b'than PLENARY_MAX_MESSAGE_BYTES"}}')
_POLL_REFUSED = (b'{"error":{"code":"bad_request","message":"this long-polling request was '
                 b'refused"}}')


def bounded_polling(wsgi_app: Callable[..., Iterable[bytes]], max_bytes: int,
                    max_seconds: float) -> Callable[..., Iterable[bytes]]:
    """Answer every long-polling POST, and in time.

    engine.io ends a session whose POST it refuses (too large, or a packet it does not
    know) by closing the session and waiting for the session's next poll to take the
    close: a client that never polls again holds that request, its greenlet and its
    connection for good, with no access link needed to open the session. A body over
    the bound is refused here before engine.io reads it (413 `too_large`); any other
    POST is answered 400 `bad_request` if engine.io has not answered within
    `max_seconds` (longer than a command's own bounds: its run happens in the POST).
    The session, closed, is dropped by engine.io's own sweep.
    """

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "POST"
                or not environ.get("PATH_INFO", "").startswith("/socket.io")):
            return wsgi_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = max_bytes + 1
        if length > max_bytes:
            return _refuse(start_response, "413 Payload Too Large", _POLL_TOO_LARGE)
        deadline = gevent.Timeout(max_seconds)
        try:
            with deadline:
                return list(wsgi_app(environ, start_response))
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            log.warning("a long-polling POST got no answer within %.0f s: refused", max_seconds)
            return _refuse(start_response, "400 Bad Request", _POLL_REFUSED)

    return route


@dataclass
class Client:
    """What the server keeps of one connected socket: who it is, and its send budget."""

    principal: Principal
    tokens: float
    stamp: float = field(default_factory=time.monotonic)
    room: str = ""  # the room it subscribed to last ("*": the overview)
    kind: str = ""  # the kind of page its hello said (empty before it)
    page_id: str | None = None  # set by its hello: its entry in the fleet
    shown: str = ""  # the version it said it shows

    def spend(self, rate: float) -> bool:
        """Take one event from a token bucket of `rate` per second (burst: 2 seconds' worth)."""
        now = time.monotonic()
        self.tokens = min(2 * rate, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _fail(exc: BaseException, app: Flask | None = None) -> dict[str, Any]:
    _, body = answered(exc, "a Socket.IO event", app)
    return {"ok": False, **body}


def client(sid: str) -> Client:
    """What the server keeps of a connected socket."""
    return services().clients[sid]


def throttled(sid: str, parts: Services | None = None) -> dict[str, Any] | None:
    """None, or the refusal of an event sent faster than the socket's rate allows."""
    parts = parts or services()
    if parts.clients[sid].spend(parts.settings.socket_rate):
        return None
    return _fail(ApiError(429, "rate_limited", "too many messages; slow down"))


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """A screen, console or desk connects with `auth={"token"}` or its cookie."""
    token = auth.get("token") if isinstance(auth, dict) else None
    token = token or request.cookies.get(COOKIE)
    if not isinstance(token, str) or not token:
        raise Refused("token required", {"code": "unauthorized", "message": "token required"})
    try:
        principal = read_token(token)
    except ApiError as exc:
        # python-socketio's own exception (not the builtin one of the same name), so
        # the client's connect_error carries the code: {"message", "data": {"code", ...}}
        services().metrics.connections.labels("refused").inc()
        log_event("refused", code=exc.code, node=services().fleet.node)
        raise Refused(exc.message, {"code": exc.code, "message": exc.message}) from None
    parts = services()
    parts.metrics.connections.labels("connect").inc()
    log_event("connect", role=principal.role, room=principal.room, node=parts.fleet.node)
    parts.clients[request.sid] = Client(principal, 2 * parts.settings.socket_rate)  # type: ignore[attr-defined]
    parts.access.connected(principal)
    parts.relay.fanout.attach(request.sid, request.environ)  # type: ignore[attr-defined]


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """Forget the socket."""
    parts = services()
    gone = parts.clients.pop(request.sid, None)  # type: ignore[attr-defined]
    parts.metrics.connections.labels("disconnect").inc()
    if gone is not None:
        log_event("disconnect", kind=gone.kind or gone.principal.role, room=gone.room,
                  page=gone.page_id, reason=str(reason), node=parts.fleet.node)
    if gone is not None and gone.page_id is not None:
        parts.fleet.local -= 1
        sid: str = request.sid  # type: ignore[attr-defined]
        _fleet_write(lambda: parts.fleet.disconnected(gone.page_id or "", sid))
    # A client that stopped answering pings may be frozen with full buffers: a write
    # blocked on it would hold the connection until TCP gives up, so cut it now.
    parts.relay.fanout.detach(request.sid,  # type: ignore[attr-defined]
                              abort=reason == socketio.server.reason.PING_TIMEOUT)


@socketio.on("subscribe")
def on_subscribe(data: Any = None) -> dict[str, Any]:
    """A screen asks for a room ("*": all rooms); it gets the state now and on every change
    (`podium`: with the chair's message to the speaker, for the podium monitor)."""
    sid: str = request.sid  # type: ignore[attr-defined]
    if (refused := throttled(sid)) is not None:
        return refused
    room = data.get("room") if isinstance(data, dict) else None
    if not isinstance(room, str) or not room:
        return _fail(ApiError(422, "invalid", "room is required", "room"))
    principal = client(sid).principal
    meeting = services().meeting
    if room == ALL:
        if not principal.sees_all:
            return _fail(ApiError(403, "forbidden", "this access is for one room", "room"))
        audience = principal.audience()
        join_room(overview(audience))  # before the read: no change can fall in between
        _subscribed(sid, ALL)
        return {"ok": True, "states": meeting.views(audience),
                "live": meeting.stream_healthy}
    if room not in meeting.state.rooms:
        return _fail(ApiError(404, "not_found", f"no room {room[:40]!r}", "room"))
    if not principal.sees(room):
        return _fail(ApiError(403, "forbidden", "this access is for another room", "room"))
    audience = principal.audience(podium=data.get("podium") is True)
    join_room(channel(room, audience))
    _subscribed(sid, room)
    return {"ok": True, "state": meeting.view(room, audience),
            "live": meeting.stream_healthy}


def _fleet_write(write: Callable[[], object]) -> None:
    """Write to the fleet; a Redis failure costs the listing, never the page's link."""
    try:
        write()
    except redis.RedisError as exc:
        log.warning("could not write the fleet: %s", exc)


def _subscribed(sid: str, room: str) -> None:
    """Remember the page's room (its fleet entry names it)."""
    me = client(sid)
    if me.room != room and me.page_id is not None:
        fleet, page_id = services().fleet, me.page_id
        _fleet_write(lambda: fleet.moved(page_id, room))
    me.room = room


def _readable_room(principal: Principal, room: Any) -> str:
    """The room a hello names, if its link may read it ("*": the overview); else none
    (the page is listed in its room once it subscribes)."""
    if room == ALL:
        return ALL if principal.sees_all else ""
    known = isinstance(room, str) and room in services().meeting.state.rooms
    return room if known and principal.sees(room) else ""


@socketio.on("hello")
def on_hello(data: Any = None) -> dict[str, Any]:
    """A page says what it is (kind, its screen id, name, language, viewport, version);
    it is listed in the fleet and answered with the name the admin gave it."""
    sid: str = request.sid  # type: ignore[attr-defined]
    if (refused := throttled(sid)) is not None:
        return refused
    parts = services()
    me = client(sid)
    hello = Hello.of(data)
    page_id = hello.screen_id or f"{hello.kind}-{sid[:24]}"
    if me.page_id is None:
        if parts.fleet.local >= parts.settings.max_fleet_per_node:
            return _fail(ApiError(429, "too_many", "this node lists no more pages"))
        parts.fleet.local += 1
    elif page_id != me.page_id:
        # One listing per connection: the node's bound counts connections, and a page
        # keeps its id for as long as it lives (a reload is a new connection).
        return _fail(ApiError(409, "conflict", f"this connection is listed as {me.page_id!r}",
                              "screen_id"))
    me.page_id, me.shown = page_id, hello.version
    me.kind = hello.kind
    log_event("hello", kind=hello.kind, page=page_id, room=me.room, node=parts.fleet.node)
    asked = data.get("room") if isinstance(data, dict) else None
    room = me.room or _readable_room(me.principal, asked)
    agent = request.headers.get("User-Agent", "")
    name = ""

    def write() -> None:
        nonlocal name
        name = parts.fleet.connected(page_id, sid, hello, room, agent,
                                     ALL if me.principal.sees_all else me.principal.room)

    _fleet_write(write)
    return {"ok": True, "screen_id": page_id, "name": name, "node": parts.fleet.node}


def on_shown(parts: Services, sid: str, data: Any = None) -> None:
    """A page rendered a version, or says it is alive: noted for the fleet, written with
    the other pages' by the node's flusher (bound by `bind_commands`)."""
    me = parts.clients.get(sid)
    if me is None or me.page_id is None:
        return
    version = data.get("version") if isinstance(data, dict) else None
    version = version if isinstance(version, str) and _VERSION.match(version) else None
    changed = version is not None and version != me.shown
    if changed:
        me.shown = version or ""
    parts.fleet.seen(me.page_id, version if changed else None)


def directive_check(app: Flask) -> Callable[[BaseCommand], None]:
    """Refuse (409 `conflict`) a `screen.set` that would move a page to a room its link
    may not open: it would load the "access needed" page, which no directive reaches."""

    def check(command: BaseCommand) -> None:
        if not isinstance(command, ScreenSet) or command.room is None:
            return
        if not services(app).fleet.may_show(command.screen_id, command.room):
            raise Conflict(f"the link of screen {command.screen_id!r} may not open room "
                           f"{command.room!r}: open that room's screen link on it",
                           field="room")

    return check


def directive_listener(app: Flask) -> Callable[[Event], None]:
    """What each web node does with a screen.* event: hand it, as a `directive`, to the
    sockets of that page it holds (every node tails the stream, so the page gets it
    wherever it is connected), and keep a new name for the page's next hello."""

    def deliver(event: Event) -> None:
        data = event.data
        if not isinstance(data, ScreenDirected):
            return
        parts = services(app)
        if data.action == "rename" and data.name:
            _fleet_write(lambda: parts.fleet.rename(data.screen_id, data.name or ""))
        directive: dict[str, Any] = {"action": data.action, "screen_id": data.screen_id,
                                     "number": screen_number(data.screen_id)}
        for key in ("name", "lang", "room"):
            if getattr(data, key) is not None:
                directive[key] = getattr(data, key)
        if data.action == "identify":
            try:
                directive["name"] = parts.fleet.name_of(data.screen_id)
            except redis.RedisError:
                directive["name"] = ""
        for sid, held in list(parts.clients.items()):
            if held.page_id == data.screen_id:
                socketio.emit("directive", directive, to=sid)

    return deliver


@socketio.on(json_fast.BAD_JSON_EVENT)
def on_bad_json(*_: Any) -> dict[str, Any]:
    """A message that is not JSON or nests too deep (`json_fast.BoundedPacket`): refused."""
    return _fail(ApiError(400, "bad_json", "the message is not valid JSON or nests too deeply"))


@socketio.on("probe")
def on_probe(data: Any = None) -> dict[str, Any]:
    """A screen's watchdog asks, cheaply, whether its room moved on without it."""
    sid: str = request.sid  # type: ignore[attr-defined]
    if (refused := throttled(sid)) is not None:
        return refused
    room = data.get("room") if isinstance(data, dict) else None
    meeting = services().meeting
    principal = client(sid).principal
    if room == ALL and principal.sees_all:
        version = meeting.version
    elif isinstance(room, str) and room in meeting.state.rooms and principal.sees(room):
        version = meeting.state.rooms[room].version
    else:
        return _fail(ApiError(404, "not_found", "no such room for this access", "room"))
    return {"ok": True, "version": version, "live": meeting.stream_healthy}


def on_command(sid: str, data: Any = None, app: Flask | None = None) -> dict[str, Any]:
    """A chair or staff member sends a command to the one command path of `app` (the
    current app by default); the ack is the HTTP answer plus "ok".

    The command is counted in the metrics at the event loop's next turn: once the ack
    is written (by this greenlet, dashboard/live/seams.py's writer), as an HTTP
    answer is counted once it is sent.
    """
    began = time.perf_counter()
    parts = services(app)
    principal = parts.clients[sid].principal
    try:
        if (refused := throttled(sid, parts)) is not None:
            return refused
        if not isinstance(data, dict):
            raise ApiError(400, "bad_json", "the command must be a JSON object")
        answer = {"ok": True, **parts.meeting.run(principal, data)}
    except Exception as exc:  # every failure is answered in the ack
        answer = _fail(exc, app)
    outcome = "ok" if answer["ok"] else answer["error"]["code"]
    # A greenlet of its own, not a callback of the event loop: what counts may wait on
    # a lock, which a callback of the loop may not do.
    gevent.spawn_raw(observe_command, parts, data, time.perf_counter() - began, outcome,
                     principal.role)
    return answer


def bind_commands(app: Flask) -> None:
    """Bind `command` and `shown` on the Socket.IO server itself, run in no context of
    Flask's.

    Flask-SocketIO runs each event in a request context made from the socket's
    handshake (the cookie's session opened and signed again, the URL matched), on
    the path of every acknowledgement. A command needs none of it: its sender is
    the socket's, known since connect, and the command path is given the app, as
    the HTTP command route is (docs/performance.md, "Commands outside Flask's
    request context").
    """

    def command(sid: str, data: Any = None) -> dict[str, Any]:
        return on_command(sid, data, app)

    # Every page's heartbeat: thousands a second at thousands of screens, and it needs
    # neither context: the node's own records only.
    def shown(sid: str, data: Any = None) -> None:
        on_shown(services(app), sid, data)

    socketio.server.on("command", command)
    socketio.server.on("shown", shown)
