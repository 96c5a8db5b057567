"""The JSON API of the contract: programme, room states, commands, the event log, health."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import redis
from flask import Blueprint, Flask, Request, current_app, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES

from dashboard.web.access import require_principal
from dashboard.web.errors import ApiError, answered, forbidden

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def plenary() -> Any:
    """The service's parts bound to this app (meeting, event log, settings)."""
    return current_app.extensions["plenary"]


def json_body(req: Request | None = None) -> dict[str, Any]:
    """A request's JSON object (the current request's by default), or a 400 that says
    what is wrong with it."""
    raw = (request if req is None else req).get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


@bp.get("/programme")
def programme() -> Any:
    """Anyone with access reads the programme as loaded."""
    require_principal()
    return jsonify(plenary().meeting.programme.public_dict())


@bp.get("/rooms")
def rooms() -> Any:
    """The state of every room the caller may see."""
    principal = require_principal()
    views = plenary().meeting.views()
    return jsonify([v for v in views if principal.sees(v["room"]["id"])])


@bp.get("/rooms/<room_id>")
def room(room_id: str) -> Any:
    """The state of one room."""
    principal = require_principal()
    meeting = plenary().meeting
    if room_id not in meeting.state.rooms:
        raise ApiError(404, "not_found", f"no room {room_id!r}", "room")
    if not principal.sees(room_id):
        raise forbidden(f"this access is for room {principal.room!r}")
    return jsonify(meeting.view(room_id))


def command_answer(req: Request) -> dict[str, Any]:
    """The answer to POST /api/commands: its sender and body, given to the one command path."""
    answer: dict[str, Any] = plenary().meeting.run(require_principal(req=req), json_body(req))
    return answer


@bp.post("/commands")
def commands() -> Any:
    """A chair, staff member or admin sends a command; every screen of the room gets the state.

    On the running app `command_route` answers first; this is the route as Flask knows
    it (its other methods answered 405, the same answer without the route in front).
    """
    return jsonify(command_answer(request))


def command_route(app: Flask, wsgi_app: WSGIApp) -> WSGIApp:
    """Answer POST /api/commands ahead of Flask's dispatch, in an app context.

    Flask's request context (the URL map bound and matched, the session's cookie
    opened and signed again, the signals, `jsonify`, the teardown) cost 0.6 ms at
    p50 on every command at a chair's pace (docs/performance.md, seventh round).
    The command needs none of it: the request object is the
    one Flask makes (its size limit included), and the checks, the errors and their
    logging are the same functions as on every other route.
    """

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/api/commands" or environ.get("REQUEST_METHOD") != "POST":
            return wsgi_app(environ, start_response)
        with app.app_context():
            req = app.request_class(environ)
            try:
                status, body = 200, command_answer(req)
            except Exception as exc:  # answered as on every route of the API
                status, body = answered(exc, req.path)
        data = orjson.dumps(body)
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return route


@bp.get("/events")
def events() -> Any:
    """The admin reads the log in order."""
    require_principal("admin")
    after = request.args.get("after", "0-0")
    if not _STREAM_ID.match(after):
        raise ApiError(400, "bad_request", "after must be a stream id like 1700000000000-0")
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "bad_request", "limit must be a whole number") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "bad_request", "limit must be between 1 and 1000")
    return jsonify([e.to_dict() for e in plenary().log.read(after, limit)])


@bp.get("/node")
def node() -> Any:
    """The admin reads this node's live figures: its sockets and how their frames went out."""
    require_principal("admin")
    parts = plenary()
    return jsonify({
        "version": parts.meeting.version,
        "live": parts.meeting.stream_healthy,
        "sockets": len(parts.clients),
        "frames": dict(parts.relay.fanout.sent),
    })


@health.get("/healthz")
def healthz() -> Any:
    """The process is alive."""
    return jsonify({"ok": True})


@health.get("/readyz")
def readyz() -> Any:
    """Redis answers and the state has been loaded."""
    parts = plenary()
    try:
        parts.redis.ping()
    except redis.RedisError:
        return jsonify({"ok": False, "error": {"code": "unavailable",
                                               "message": "Redis is unreachable"}}), 503
    return jsonify({"ok": True, "version": parts.meeting.version})
