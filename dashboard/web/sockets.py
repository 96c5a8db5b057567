"""Socket.IO events of the contract: connect, subscribe, command."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, request
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError as Refused

from dashboard.live import json_fast
from dashboard.live.channels import OVERVIEW, OVERVIEW_DESK, desk_channel, room_channel
from dashboard.web.access import ALL, COOKIE, Principal, read_token
from dashboard.web.errors import ApiError, answered
from dashboard.web.extensions import socketio
from dashboard.web.services import services


@dataclass
class Client:
    """What the server keeps of one connected socket: who it is, and its send budget."""

    principal: Principal
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def spend(self, rate: float) -> bool:
        """Take one event from a token bucket of `rate` per second (burst: 2 seconds' worth)."""
        now = time.monotonic()
        self.tokens = min(2 * rate, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _fail(exc: BaseException) -> dict[str, Any]:
    _, body = answered(exc, "a Socket.IO event")
    return {"ok": False, **body}


def client(sid: str) -> Client:
    """What the server keeps of a connected socket."""
    return services().clients[sid]


def throttled(sid: str) -> dict[str, Any] | None:
    """None, or the refusal of an event sent faster than the socket's rate allows."""
    rate = services().settings.socket_rate
    if client(sid).spend(rate):
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
        raise Refused(exc.message, {"code": exc.code, "message": exc.message}) from None
    parts = services()
    parts.clients[request.sid] = Client(principal, 2 * parts.settings.socket_rate)  # type: ignore[attr-defined]
    parts.relay.fanout.attach(request.sid, request.environ)  # type: ignore[attr-defined]


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """Forget the socket."""
    parts = services()
    parts.clients.pop(request.sid, None)  # type: ignore[attr-defined]
    # A client that stopped answering pings may be frozen with full buffers: a write
    # blocked on it would hold the connection until TCP gives up, so cut it now.
    parts.relay.fanout.detach(request.sid,  # type: ignore[attr-defined]
                              abort=reason == socketio.server.reason.PING_TIMEOUT)


@socketio.on("subscribe")
def on_subscribe(data: Any = None) -> dict[str, Any]:
    """A screen asks for a room ("*": all rooms); it gets the state now and on every change."""
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
        join_room(OVERVIEW_DESK if principal.desk else OVERVIEW)  # before the read: no
        # change can fall in between
        return {"ok": True, "states": meeting.views(principal.desk),
                "live": meeting.stream_healthy}
    if room not in meeting.state.rooms:
        return _fail(ApiError(404, "not_found", f"no room {room[:40]!r}", "room"))
    if not principal.sees(room):
        return _fail(ApiError(403, "forbidden", "this access is for another room", "room"))
    join_room(desk_channel(room) if principal.desk else room_channel(room))
    return {"ok": True, "state": meeting.view(room, principal.desk),
            "live": meeting.stream_healthy}


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


def on_command(sid: str, data: Any = None) -> dict[str, Any]:
    """A chair or staff member sends a command; the ack is the HTTP answer plus "ok"."""
    try:
        if (refused := throttled(sid)) is not None:
            return refused
        if not isinstance(data, dict):
            raise ApiError(400, "bad_json", "the command must be a JSON object")
        return {"ok": True, **services().meeting.run(client(sid).principal, data)}
    except Exception as exc:  # every failure is answered in the ack
        return _fail(exc)


def bind_commands(app: Flask) -> None:
    """Bind `command` on the Socket.IO server itself, run in an app context.

    Flask-SocketIO runs each event in a request context made from the socket's
    handshake (the cookie's session opened and signed again, the URL matched):
    0.1 ms in a warm loop and 0.3 ms (p50) to 0.8 ms (p99) at a chair's pace, on
    the path of every acknowledgement. A command needs none of it: its sender is
    the socket's, known since connect.
    """

    def command(sid: str, data: Any = None) -> dict[str, Any]:
        with app.app_context():
            return on_command(sid, data)

    socketio.server.on("command", command)
