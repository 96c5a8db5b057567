"""Access by signed links: tokens, the principal of a request, and what each role may do."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import redis
from flask import Blueprint, Flask, current_app, g, jsonify, redirect, request, url_for
from flask_socketio import SocketIO
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.http import parse_cookie

from dashboard.domain import Audience, may_send
from dashboard.domain.roles import READS_EVERY_ROOM, Role
from dashboard.store.admission import grant_key
from dashboard.web.errors import ApiError, forbidden, unauthorized, unavailable
from dashboard.web.extensions import socketio
from dashboard.web.request_body import json_body
from dashboard.web.services import Services, services

log = logging.getLogger(__name__)

# A display slot as a page's address may carry it (static/js/report.js).
DISPLAY = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

View = TypeVar("View", bound=Callable[..., Any])

# The roles access links are made for (the system's principal has none).
ROLES = (Role.ADMIN, Role.CHAIR, Role.STAFF, Role.SCREEN, Role.DELEGATION)
# Roles that see a room's pending requests for the floor (the desk's view of a room).
DESK = frozenset({Role.ADMIN, Role.CHAIR, Role.STAFF})
COOKIE = "plenary_session"
ALL = "*"

bp = Blueprint("access", __name__)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a role, the room it is limited to ("*" for all), and its token's
    generation and expiry (a socket is closed when either runs out)."""

    role: Role
    room: str = ALL
    generation: int = 0
    expires_at: float | None = None

    @property
    def grant(self) -> str:
        """The "role:room" field of the access hash that revokes this principal's links."""
        return grant_key(self.role, self.room)

    @property
    def sees_all(self) -> bool:
        """Whether this principal may read every room's state (the overview)."""
        return self.role in READS_EVERY_ROOM or self.room == ALL

    def sees(self, room: str) -> bool:
        """Whether this principal may read a room's state."""
        return self.sees_all or self.room == room

    @property
    def desk(self) -> bool:
        """Whether this principal sees the rooms' pending requests for the floor."""
        return self.role in DESK

    def audience(self, podium: bool = False) -> Audience:
        """What this principal receives of a room's state (`podium`: the page asks for the
        chair's message to the speaker, as the podium monitor does: only a screen's link
        opens that page; a delegation's never reads the message)."""
        if self.desk:
            return Audience.DESK
        return Audience.PODIUM if podium and self.role is Role.SCREEN else Audience.SCREEN

    def may(self, command_type: str, room: str | None) -> bool:
        """Whether this principal may send a command of this type to this room (as declared
        with the command in the domain)."""
        return may_send(self.role, self.room, command_type, room)


SYSTEM = Principal(Role.SYSTEM)


# With a SECRET_KEY from the environment, tokens are signed for one deployment (its
# key prefix and meeting id are in the serializer's salt): two deployments that share
# the key do not accept each other's links. A key generated in the data folder is that
# deployment's alone, so its tokens keep the bare salt: the links printed by earlier
# releases stay the links of the folder (`deployment_for`).
_SALT = "plenary-access"


def deployment_of(key_prefix: str, meeting_id: str) -> str:
    """What a token is bound to: the deployment's key prefix and meeting id."""
    return f"{key_prefix}/{meeting_id}"


def deployment_for(generated_key: bool, key_prefix: str, meeting_id: str) -> str:
    """The binding of this deployment's tokens: none ("") with a key generated in its data
    folder (no other deployment has it), else its key prefix and meeting id."""
    return "" if generated_key else deployment_of(key_prefix, meeting_id)


def _serializer(secret: str | None = None, deployment: str | None = None) -> URLSafeSerializer:
    if deployment is None:
        deployment = current_app.config["PLENARY_DEPLOYMENT"]
    salt = _SALT if deployment == "" else f"{_SALT}:{deployment}"
    return URLSafeSerializer(secret or current_app.config["SECRET_KEY"], salt=salt)


def make_token(
    role: str,
    room: str = ALL,
    secret: str | None = None,
    expires_at: float | None = None,
    generation: int = 0,
    deployment: str | None = None,
) -> str:
    """A signed access token; the same role, room, generation and expiry give the same token.

    `deployment` (`deployment_of(prefix, meeting)`; the running app's by default) is
    part of what is signed. Generation 0 and no expiry are left out of the payload.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    payload: dict[str, Any] = {"r": role, "m": room}
    if generation:
        payload["g"] = int(generation)
    if expires_at is not None:
        payload["x"] = int(expires_at)
    return str(_serializer(secret, deployment).dumps(payload))


def read_token(token: str, revoked_later: bool = False, app: Flask | None = None) -> Principal:
    """The principal of a token for `app` (the current app by default), or a 401
    (`unauthorized`, `token_expired`, `token_revoked`).

    `revoked_later`: the caller checks the revocation itself (a command's append does,
    in the same round trip to Redis).
    """
    config = (app or current_app).config
    principal = signed_principal(config["SECRET_KEY"], token, config["PLENARY_DEPLOYMENT"])
    if principal.expires_at is not None and time.time() >= principal.expires_at:
        raise ApiError(401, "token_expired", "this access link has expired; ask for a new one")
    if not revoked_later and not services(app).access.accepts(principal):
        raise ApiError(401, "token_revoked", "this access link was revoked; ask for a new one")
    return principal


@functools.lru_cache(maxsize=4096)
def signed_principal(
    secret: str, token: str, deployment: str = ""
) -> Principal:
    """The principal a token names, if it is signed with `secret` for `deployment` and
    well formed, else 401.

    Kept for the last tokens verified: a string verifies the same way every time,
    so the key derivation and signature check need not run on every command
    (docs/performance.md, "A verified token is kept"). A refusal is not kept, so
    forged tokens fill nothing; expiry and revocation are checked by the caller at
    each use.
    """
    try:
        data = _serializer(secret, deployment).loads(token)
        role, room = data["r"], data["m"]
        generation, expires_at = data.get("g", 0), data.get("x")
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise unauthorized("the access token is not valid") from None
    if (
        role not in ROLES
        or not isinstance(room, str)
        or type(generation) is not int
        or not (expires_at is None or type(expires_at) in (int, float))
    ):
        raise unauthorized("the access token is not valid")
    return Principal(Role(role), room, generation, expires_at)


class Generations:
    """The current generation of each role:room's links (Redis hash `<tag>:access`).

    A token is checked against Redis at each use (one HGET: a revoke on any node
    holds from the next request); each node also keeps a copy in memory,
    refreshed about once a second, to close revoked sockets and to check tokens
    while Redis cannot be read.
    """

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key
        self.known: dict[str, int] = {}
        self.lock = threading.Lock()
        self.changes = 0  # counts the changes of `known`
        # The sockets need looking at again (close_revoked) once `known` changed since
        # `looked_at`, or the earliest expiry of a connected link has come.
        self.looked_at = -1
        self.next_expiry = float("inf")

    def refresh(self) -> dict[str, int]:
        """Read every generation from Redis (raises a RedisError when unreachable)."""
        raw = self.client.hgetall(self.key)
        known = {k.decode(): int(v) for k, v in raw.items()}
        with self.lock:
            if known != self.known:
                self.changes += 1
            self.known = known
        return known

    def current(self, role: str, room: str) -> int:
        """The generation a valid link of this role and room carries now (as last read)."""
        return self.known.get(grant_key(role, room), 0)

    def accepts(self, principal: Principal) -> bool:
        """Whether a principal's generation is the current one, as Redis says now.

        While Redis cannot be read, the copy in memory answers (no revoke can be
        made then either); a generation newer than that copy is refused with 503.
        """
        try:
            raw = self.client.hget(self.key, principal.grant)
        except redis.RedisError:
            current = self.current(principal.role, principal.room)
            if principal.generation > current:
                raise unavailable() from None
            return principal.generation == current
        now = int(raw or 0)
        with self.lock:
            if self.known.get(principal.grant, 0) != now:
                self.known[principal.grant] = now
                self.changes += 1
        return principal.generation == now

    def revoke(self, role: str, room: str) -> int:
        """Invalidate every link of this role and room; the new generation."""
        new = int(self.client.hincrby(self.key, grant_key(role, room), 1))
        with self.lock:
            self.known[grant_key(role, room)] = new
            self.changes += 1
        return new

    def connected(self, principal: Principal) -> None:
        """A socket connected with this principal: its link's expiry is watched."""
        if principal.expires_at is not None and principal.expires_at < self.next_expiry:
            self.next_expiry = principal.expires_at


def still_valid(principal: Principal, known: Generations, now: float) -> bool:
    """Whether a connected principal keeps its access (not revoked, not expired)."""
    if principal.role is Role.SYSTEM:
        return True
    if principal.expires_at is not None and now >= principal.expires_at:
        return False
    return principal.generation == known.current(principal.role, principal.room)


def close_revoked(parts: Services, socketio: SocketIO) -> int:
    """Disconnect every socket whose access was revoked or has expired; how many.

    The sockets are looked at only when a generation changed since the last look or
    the earliest expiry among them has come: a look at thousands holds the process
    for tens of milliseconds, which commands and broadcasts would wait behind.
    """
    access = parts.access
    now = time.time()
    if access.changes == access.looked_at and now < access.next_expiry:
        return 0
    access.looked_at = access.changes
    access.next_expiry = float("inf")  # found again below (and by sockets connecting)
    closed = 0
    for sid, client in list(parts.clients.items()):
        if still_valid(client.principal, access, now):
            access.connected(client.principal)
        else:
            # The disconnect handler forgets the socket (its page listed gone, its place
            # in the node's fleet bound given back): it must still find it in `clients`.
            try:
                socketio.server.disconnect(sid, namespace="/")
            except Exception:  # the socket may be gone already
                log.debug("disconnecting %s failed", sid, exc_info=True)
            parts.clients.pop(sid, None)
            closed += 1
    return closed


def run_access_refresher(
    app: Flask, socketio: SocketIO, every: float = 1.0, stop: Callable[[], bool] = lambda: False
) -> None:
    """Background task of every web node: refresh the generations, close revoked sockets."""
    parts = services(app)
    failing = False
    while not stop():
        try:
            parts.access.refresh()
            if failing:
                log.info("access generations readable again")
            failing = False
        except redis.RedisError as exc:
            if not failing:
                log.warning("cannot refresh access generations (%s); keeping the last", exc)
            failing = True
        close_revoked(parts, socketio)
        socketio.sleep(every)


def token_of(environ: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(token, from_cookie) of a request's environ: the Bearer header, else the cookie."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("use 'Authorization: Bearer <token>'")
        return token.strip(), False
    return parse_cookie(environ.get("HTTP_COOKIE")).get(COOKIE), True


def current_principal() -> Principal | None:
    """The principal of the current request, or None when it brings no valid token."""
    token, _ = token_of(request.environ)
    if not token:
        return None
    try:
        return read_token(token)
    except ApiError:
        return None


def require_principal(*roles: Role, environ: Mapping[str, Any] | None = None,
                      revoked_later: bool = False, app: Flask | None = None) -> Principal:
    """The principal of a request (of its environ and app; the current request's by
    default), or 401; 403 when its role is not among `roles`, or when a cookie's change
    comes from another site (`revoked_later`: as `read_token`'s)."""
    environ = request.environ if environ is None else environ
    token, from_cookie = token_of(environ)
    if not token:
        raise unauthorized()
    principal = read_token(token, revoked_later, app)
    if roles and principal.role not in roles:
        raise forbidden(f"the {principal.role} role may not do this")
    if from_cookie and environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS"):
        check_origin(environ, app)
    return principal


def allow(*roles: Role, room_arg: str | None = None, every_room: bool = False
          ) -> Callable[[View], View]:
    """Who may open a route: a principal of one of `roles` (any role when none is given);
    with `room_arg`, one that may read the room the URL's argument of that name names
    (404 when the meeting has no such room);
    with `every_room`, one that may read every room. Otherwise 401 (no valid access) or
    403, as JSON on the API and as the no-access page on pages. The view reads the
    principal with `principal()`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            who = require_principal(*roles)
            if every_room and not who.sees_all:
                raise forbidden(f"this access is for room {who.room!r}")
            if room_arg is not None:
                room = kwargs[room_arg]
                if not who.sees(room):
                    raise forbidden(f"this access is for room {who.room!r}")
                if room not in services().meeting.state.rooms:
                    # a mistyped address would show a page that never gets a state
                    raise ApiError(404, "not_found", f"no room {room!r} in this meeting", "room")
            g.principal = who
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def principal() -> Principal:
    """The principal `allow` admitted to the current request."""
    found: Principal = g.principal
    return found


def own_origins(environ: Mapping[str, Any]) -> list[str]:
    """The origins the service is reached at, as the request says.

    `X-Forwarded-*` headers are not read here: with a proxy configured
    (PLENARY_PROXY_COUNT), the app's ProxyFix has already put what the trusted
    proxies said in the scheme and Host; without one, anyone could send them.
    """
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    return [f"{scheme}://{host}"] if host else []


OriginPolicy = Callable[[str | None, Mapping[str, Any]], bool]


def origin_policy(extra: list[str]) -> OriginPolicy:
    """Browser origins allowed: the service's own, plus an explicit configured list."""
    configured = frozenset(extra)

    def allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return False
        return origin in configured or origin in own_origins(environ)

    return allowed


def check_origin(environ: Mapping[str, Any], app: Flask | None = None) -> None:
    """Refuse a cookie-authenticated change sent from another site (CSRF)."""
    allowed: OriginPolicy = (app or current_app).config["PLENARY_ORIGIN_POLICY"]
    if not allowed(environ.get("HTTP_ORIGIN"), environ):
        raise ApiError(403, "cross_site", "requests from another site are refused")


def landing(principal: Principal) -> str:
    """The page a role lands on after opening its link."""
    if principal.role is Role.SCREEN:
        if principal.room == ALL:
            return url_for("pages.overview")
        return url_for("pages.screen", room=principal.room)
    if principal.role is Role.CHAIR:
        if principal.room == ALL:
            return url_for("pages.chair_index")
        return url_for("pages.chair", room=principal.room)
    if principal.role is Role.DELEGATION:
        return url_for("pages.delegation")
    return url_for("pages.staff") if principal.role is Role.STAFF else url_for("pages.admin")


@bp.get("/access/<token>")
def open_link(token: str) -> Any:
    """A person opens an access link: sign the browser in and send it to its page."""
    try:
        principal = read_token(token)
    except ApiError:
        return redirect(url_for("pages.index", invalid=1))
    query = {}
    if request.args.get("lang") in ("es", "en", "both"):  # a screen's language
        query["lang"] = request.args["lang"]
    if DISPLAY.match(request.args.get("display", "")):  # one computer, several displays
        query["display"] = request.args["display"]
    response = redirect(landing(principal) + (f"?{urlencode(query)}" if query else ""))
    response.set_cookie(
        COOKIE, token, max_age=30 * 24 * 3600, httponly=True, samesite="Lax",
        secure=request.is_secure, path="/",
    )
    return response


@bp.post("/access/logout")
def logout() -> Any:
    """Forget this browser's access (from the service's own pages only: 403 `cross_site`)."""
    check_origin(request.environ)
    response = redirect(url_for("pages.index"))
    response.delete_cookie(COOKIE, path="/")
    return response


def link(
    base_url: str, secret: str, role: Role | str, room: str, generation: int = 0,
    deployment: str | None = None,
) -> dict[str, str]:
    """One access link: {role, room, token, url}."""
    token = make_token(role, room, secret, generation=generation, deployment=deployment)
    return {"role": role, "room": room, "token": token,
            "url": f"{base_url.rstrip('/')}/access/{token}"}


def build_links(
    base_url: str,
    secret: str,
    room_ids: list[str],
    generations: Mapping[str, int] | None = None,
    deployment: str | None = None,
    delegations: Sequence[str] = (),
) -> list[dict[str, str]]:
    """Every access link of the meeting: admin, staff, chair and screen per room, overview,
    one per delegation (its `room` is the delegation's code: the link's scope).

    `generations` ("role:room" -> generation) gives the links valid now; without
    it every link is of generation 0 (right only while none was revoked).
    """
    grants: list[tuple[Role, str]] = [(Role.ADMIN, ALL), (Role.STAFF, ALL), (Role.CHAIR, ALL)]
    for room in room_ids:
        grants += [(Role.CHAIR, room), (Role.SCREEN, room)]
    grants.append((Role.SCREEN, ALL))
    grants += [(Role.DELEGATION, code) for code in delegations]
    known = generations or {}
    return [link(base_url, secret, role, room, known.get(grant_key(role, room), 0), deployment)
            for role, room in grants]


def public_base_url() -> str:
    """The address printed in links: PLENARY_BASE_URL, else the one the service was
    started on; never the request's Host header, which any client chooses."""
    found: str = current_app.config["PLENARY_PUBLIC_URL"]
    return found


def access_links(base_url: str | None = None) -> list[dict[str, str]]:
    """The access links of the running app's meeting, of the current generations."""
    base_url = base_url or public_base_url()
    parts = services()
    try:
        known = parts.access.refresh()
    except redis.RedisError:
        known = parts.access.known  # the last ones read: right unless revoked since
    programme = parts.meeting.programme
    rooms = [r.id for r in programme.rooms]
    return build_links(base_url, current_app.config["SECRET_KEY"], rooms, known,
                       delegations=[d.code for d in programme.delegations])


@bp.post("/api/access/revoke")
@allow(Role.ADMIN)
def revoke() -> Any:
    """An admin revokes every link of a role and room; the answer is the new link."""
    body = json_body()
    for field in body:
        if field not in ("role", "room"):
            raise ApiError(422, "invalid", f"{field[:40]}: unknown field", field[:40])
    role = body.get("role")
    if role not in ROLES:
        raise ApiError(422, "invalid", f"role must be one of {', '.join(ROLES)}", "role")
    # Only the links for every room may leave the room out: a chair's or a screen's
    # without one would otherwise revoke the all-rooms link, a mistake not undone.
    room = body.get("room", ALL if role in (Role.ADMIN, Role.STAFF) else None)
    if room is None:
        raise ApiError(422, "invalid", "room is required", "room")
    parts = services()
    if role == Role.DELEGATION:
        if room not in parts.meeting.programme.delegations_by_code:
            raise ApiError(404, "not_found", "room must be a delegation's code", "room")
    elif not isinstance(room, str) or (room != ALL and room not in parts.meeting.state.rooms):
        raise ApiError(404 if isinstance(room, str) else 422,
                       "not_found" if isinstance(room, str) else "invalid",
                       "room must be a room id or \"*\"", "room")
    if room != ALL and role in (Role.ADMIN, Role.STAFF):
        raise ApiError(422, "invalid", f"{role} links are for every room (\"*\")", "room")
    try:
        new = parts.access.revoke(role, room)
    except redis.RedisError:
        raise unavailable() from None
    close_revoked(parts, socketio)
    base = public_base_url()
    return jsonify(link(base, current_app.config["SECRET_KEY"], Role(role), room, new,
                        current_app.config["PLENARY_DEPLOYMENT"]))
