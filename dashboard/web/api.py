"""The JSON API of the contract: programme, room states, commands, the event log, health."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import orjson
import redis
from flask import Blueprint, Flask, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import ClosingIterator

from dashboard.domain.roles import Role
from dashboard.live.seams import give_way
from dashboard.web.access import allow, principal, require_principal
from dashboard.web.errors import ApiError, answered, as_error, headers_of
from dashboard.web.headers import SECURITY_HEADERS
from dashboard.web.metrics import observe_command
from dashboard.web.request_body import json_body
from dashboard.web.services import services

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# Each half of a stream id is an unsigned 64-bit number; Redis refuses a larger one.
_ID_PART_MAX = 2**64 - 1
_ID_MAX = f"{_ID_PART_MAX}-{_ID_PART_MAX}"




@bp.get("/programme")
@allow()
def programme() -> Any:
    """Anyone with access reads the programme as loaded."""
    return jsonify(services().meeting.programme.public_dict())


@bp.get("/rooms")
@allow()
def rooms() -> Any:
    """The state of every room the caller may see."""
    who = principal()
    views = services().meeting.views(who.audience())
    return jsonify([v for v in views if who.sees(v["room"]["id"])])


@bp.get("/rooms/<room_id>")
@allow(room_arg="room_id")
def room(room_id: str) -> Any:
    """The state of one room."""
    return jsonify(services().meeting.view(room_id, principal().audience()))


@bp.get("/delegation")
@allow(Role.DELEGATION, Role.ADMIN)
def delegation() -> Any:
    """A delegation reads its own entries (place, estimated wait), pending and declined
    requests; an admin names the delegation with `?code=`."""
    who = principal()
    meeting = services().meeting
    code = who.room if who.role is Role.DELEGATION else request.args.get("code", "")
    if code not in meeting.programme.delegations_by_code:
        raise ApiError(404, "not_found", f"no delegation {code[:16]!r}", "code")
    return jsonify(meeting.delegation(code))


def command_answer(environ: dict[str, Any], app: Flask | None = None
                   ) -> tuple[dict[str, Any], Callable[[], None]]:
    """The answer to POST /api/commands (its sender and body, read from the request's
    environ and given to the one command path of `app`, the current app by default),
    and the call that counts it in the metrics: made once the answer is sent, so that
    the chair's answer never waits for it. A refusal is counted at once."""
    began = time.perf_counter()
    parts = services(app)
    body: Any = None
    role: str | None = None
    try:
        # The append checks whether the link was revoked, in its one round trip.
        sender = require_principal(environ=environ, revoked_later=True, app=app)
        role = sender.role
        body = json_body(environ, app)
        answer: dict[str, Any] = parts.meeting.run(sender, body)
    except Exception as exc:
        _, refused = as_error(exc)
        observe_command(parts, body, time.perf_counter() - began, refused["error"]["code"], role)
        raise
    return answer, partial(observe_command, parts, body, time.perf_counter() - began, "ok", role)


@bp.post("/commands")
def commands() -> Any:
    """A chair, staff member or admin sends a command; every screen of the room gets the state.

    On the running app `command_route` answers first; this is the route as Flask knows
    it (its other methods answered 405, the same answer without the route in front).
    """
    answer, count = command_answer(request.environ)
    response = jsonify(answer)
    response.call_on_close(count)
    return response


def command_route(app: Flask, wsgi_app: WSGIApp) -> WSGIApp:
    """Answer POST /api/commands ahead of Flask's dispatch, with no context of Flask's.

    Flask's request context (the URL map bound and matched, the session's cookie
    opened and signed again, the signals, `jsonify`, the teardown), its request object
    and its app context would be made for every command (docs/performance.md,
    "Commands outside Flask's request context"). The command needs none of them: its
    token and body are read from the environ by the functions every route reads them
    with (the size limit included), which are given the app; the checks, the errors
    and their logging are the same.
    """

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/api/commands" or environ.get("REQUEST_METHOD") != "POST":
            return wsgi_app(environ, start_response)
        count: Callable[[], None] | None = None
        try:
            status, (body, count) = 200, command_answer(environ, app)
        except Exception as exc:  # answered as on every route of the API
            status, body = answered(exc, "/api/commands", app)
        data = orjson.dumps(body)
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(data))),
            *SECURITY_HEADERS, ("Cache-Control", "no-store"), *headers_of(body)])
        # The server closes the answer once it is sent (PEP 3333): then this process
        # gives way, and counts the command.
        return ClosingIterator([data], [give_way] if count is None else [give_way, count])

    return route


@bp.get("/events")
@allow(Role.ADMIN)
def events() -> Any:
    """The admin reads the log in order."""
    after = request.args.get("after", "0-0")
    if not _STREAM_ID.match(after) or any(int(part) > _ID_PART_MAX for part in after.split("-")):
        raise ApiError(400, "bad_request", "after must be a stream id like 1700000000000-0")
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "bad_request", "limit must be a whole number") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "bad_request", "limit must be between 1 and 1000")
    if after == _ID_MAX:  # Redis refuses an interval that starts past its largest id
        return jsonify([])
    return jsonify([e.to_dict() for e in services().log.read(after, limit)])


@bp.get("/node")
@allow(Role.ADMIN)
def node() -> Any:
    """The admin reads this node's live figures: its sockets and how their frames went out."""
    parts = services()
    return jsonify({
        "version": parts.meeting.version,
        "live": parts.meeting.stream_healthy,
        "sockets": len(parts.clients),
        "frames": dict(parts.relay.fanout.sent),
    })


@bp.get("/screens")
@allow(Role.ADMIN)
def screens() -> Any:
    """The admin reads the fleet: every page connected to any web node, and its status."""
    parts = services()
    try:
        return jsonify(parts.fleet.listing(parts.meeting.room_versions()))
    except redis.RedisError:
        raise ApiError(503, "unavailable", "the fleet cannot be read now") from None


@health.get("/healthz")
def healthz() -> Any:
    """The process is alive."""
    return jsonify({"ok": True})


# A replica counts as confirming commands when its last acknowledgement is this recent
# (Redis' own default for `min-replicas-max-lag`; replicas acknowledge every second).
_REPLICA_MAX_LAG_S = 10


@health.get("/readyz")
def readyz() -> Any:
    """Redis answers and the state has been loaded; with PLENARY_MIN_REPLICAS, how many
    replicas the primary has online. Fewer than required is still 200: screens and pages
    are served, only commands are refused (503), and a proxy or orchestrator that took
    every node out would blank every screen; the body says so."""
    parts = services()
    try:
        parts.redis.ping()
        body: dict[str, Any] = {"ok": True, "version": parts.meeting.version}
        wanted = parts.settings.min_replicas
        if wanted:
            info = parts.redis.info("replication")
            online = sum(1 for key, value in info.items()
                         if key.startswith("slave") and isinstance(value, dict)
                         and value.get("state") == "online"
                         and int(value.get("lag", 0)) <= _REPLICA_MAX_LAG_S)
            body["replicas"] = {"required": wanted, "online": online}
            if online < wanted:
                body["warning"] = (f"{online} replica(s) online, PLENARY_MIN_REPLICAS is "
                                   f"{wanted}: commands are answered 503 until enough are")
    except redis.RedisError:
        return jsonify({"ok": False, "error": {"code": "unavailable",
                                               "message": "Redis is unreachable"}}), 503
    return jsonify(body)
