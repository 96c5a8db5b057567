"""Access by signed links: tokens, the principal of a request, and what each role may do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from dashboard.web.errors import ApiError, forbidden, unauthorized

ROLES = ("admin", "chair", "staff", "screen")
COOKIE = "plenary_session"
ALL = "*"

# Commands that only time causes: the workers send them, and an admin may.
SYSTEM_COMMANDS = frozenset(
    {"announcement.expire", "speaker.record_overrun", "session.signal_start_due"}
)
STAFF_COMMANDS = frozenset({"announcement.post", "announcement.retract"})

bp = Blueprint("access", __name__)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a role, and the room it is limited to ("*" for all)."""

    role: str
    room: str = ALL

    def sees(self, room: str) -> bool:
        """Whether this principal may read a room's state."""
        return self.role in ("admin", "staff", "system") or self.room in (ALL, room)

    def may(self, command_type: str, room: str | None) -> bool:
        """Whether this principal may send a command of this type to this room."""
        if self.role in ("admin", "system"):
            return True
        if command_type in SYSTEM_COMMANDS:
            return False
        if command_type in STAFF_COMMANDS:
            return self.role == "staff"
        return self.role == "chair" and room is not None and self.room in (ALL, room)


SYSTEM = Principal("system")


def _serializer(secret: str | None = None) -> URLSafeSerializer:
    return URLSafeSerializer(secret or current_app.config["SECRET_KEY"], salt="plenary-access")


def make_token(role: str, room: str = ALL, secret: str | None = None) -> str:
    """A signed access token; the same role and room always give the same token."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return str(_serializer(secret).dumps({"r": role, "m": room}))


def read_token(token: str) -> Principal:
    """The principal of a token, or a 401."""
    try:
        data = _serializer().loads(token)
        role, room = data["r"], data["m"]
    except (BadSignature, KeyError, TypeError, ValueError):
        raise unauthorized("the access token is not valid") from None
    if role not in ROLES or not isinstance(room, str):
        raise unauthorized("the access token is not valid")
    return Principal(role, room)


def token_of_request() -> tuple[str | None, bool]:
    """(token, from_cookie) of the current request: the Bearer header, else the cookie."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("use 'Authorization: Bearer <token>'")
        return token.strip(), False
    return request.cookies.get(COOKIE), True


def current_principal() -> Principal | None:
    """The principal of the current request, or None when it brings no valid token."""
    token, _ = token_of_request()
    if not token:
        return None
    try:
        return read_token(token)
    except ApiError:
        return None


def require_principal(*roles: str) -> Principal:
    """The principal of the request, or 401; 403 when its role is not among `roles`."""
    token, from_cookie = token_of_request()
    if not token:
        raise unauthorized()
    principal = read_token(token)
    if roles and principal.role not in roles:
        raise forbidden(f"the {principal.role} role may not do this")
    if from_cookie and request.method not in ("GET", "HEAD", "OPTIONS"):
        check_origin()
    return principal


def own_origins(environ: dict[str, Any]) -> list[str]:
    """The origins the service is reached at, as the request says."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    origins = [f"{scheme}://{host}"] if host else []
    forwarded = environ.get("HTTP_X_FORWARDED_HOST")
    if forwarded:
        proto = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        origins.append(f"{proto}://{forwarded.split(',')[0].strip()}")
    return origins


OriginPolicy = Callable[[str | None, dict[str, Any]], bool]


def origin_policy(extra: list[str]) -> OriginPolicy:
    """Browser origins allowed: the service's own, plus an explicit configured list."""
    configured = frozenset(extra)

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return False
        return origin in configured or origin in own_origins(environ)

    return allowed


def check_origin() -> None:
    """Refuse a cookie-authenticated change sent from another site (CSRF)."""
    allowed: OriginPolicy = current_app.config["PLENARY_ORIGIN_POLICY"]
    if not allowed(request.headers.get("Origin"), request.environ):
        raise ApiError(403, "cross_site", "requests from another site are refused")


def landing(principal: Principal) -> str:
    """The page a role lands on after opening its link."""
    if principal.role == "screen":
        if principal.room == ALL:
            return url_for("pages.overview")
        return url_for("pages.screen", room=principal.room)
    if principal.role == "chair":
        if principal.room == ALL:
            return url_for("pages.chair_index")
        return url_for("pages.chair", room=principal.room)
    return url_for("pages.staff") if principal.role == "staff" else url_for("pages.admin")


@bp.get("/access/<token>")
def open_link(token: str) -> Any:
    """A person opens an access link: sign the browser in and send it to its page."""
    try:
        principal = read_token(token)
    except ApiError:
        return redirect(url_for("pages.index", invalid=1))
    response = redirect(landing(principal))
    response.set_cookie(
        COOKIE, token, max_age=30 * 24 * 3600, httponly=True, samesite="Lax",
        secure=request.is_secure, path="/",
    )
    return response


@bp.post("/access/logout")
def logout() -> Any:
    """Forget this browser's access."""
    response = redirect(url_for("pages.index"))
    response.delete_cookie(COOKIE, path="/")
    return response


def build_links(base_url: str, secret: str, room_ids: list[str]) -> list[dict[str, str]]:
    """Every access link of the meeting: admin, staff, chair and screen per room, overview."""
    base = base_url.rstrip("/")
    grants: list[tuple[str, str]] = [("admin", ALL), ("staff", ALL), ("chair", ALL)]
    for room in room_ids:
        grants += [("chair", room), ("screen", room)]
    grants.append(("screen", ALL))
    links = []
    for role, room in grants:
        token = make_token(role, room, secret)
        links.append({"role": role, "room": room, "token": token, "url": f"{base}/access/{token}"})
    return links


def access_links(base_url: str) -> list[dict[str, str]]:
    """The access links of the running app's meeting."""
    programme = current_app.extensions["plenary"].meeting.programme
    return build_links(base_url, current_app.config["SECRET_KEY"], [r.id for r in programme.rooms])
