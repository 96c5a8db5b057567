"""The app factory: the one place an app is built and its extensions bound.

Importing this module imports Flask, redis and the rest: an entry point
monkey-patches (gevent) before it does (`dashboard.serve.patching`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.domain import load_programme, prepare_commands
from dashboard.domain.programme import default_programme_path
from dashboard.live import json_fast, seams
from dashboard.live.relay import Relay
from dashboard.serve import collector
from dashboard.serve.datadir import recorded_address
from dashboard.serve.server import ServerLimits, default_max_connections
from dashboard.settings import Settings, load_settings
from dashboard.store.admission import Admission
from dashboard.store.eventlog import EventLog, connect
from dashboard.store.fleet import Fleet, FleetTimes
from dashboard.store.meeting import Meeting
from dashboard.store.snapshots import load_snapshot
from dashboard.web import access, api, errors, headers, metrics, pages, sockets
from dashboard.web.extensions import babel, select_locale, socketio
from dashboard.web.minutes import bp as minutes_bp
from dashboard.web.request import AppRequest
from dashboard.web.services import KEY, Services, services

PREPARE_AFTER_S = 1.0  # after start, the commands' validators are built (see start_node)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app: settings, programme, Redis, the meeting folded from its stream."""
    settings = settings or load_settings(**overrides)
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (`plenary run` starts an embedded Valkey)")
    secret_key = settings.resolved_secret_key()  # SettingsError when empty or short
    programme = load_programme(settings.programme or default_programme_path())
    app = Flask(__name__, static_folder=str(static_folder()))
    app.request_class = AppRequest
    app.config.update(
        SECRET_KEY=secret_key,
        PLENARY_DEPLOYMENT=access.deployment_for(settings.generated_key, settings.key_prefix,
                                                 programme.meeting.id),
        PLENARY_PUBLIC_URL=(settings.base_url or recorded_address(settings.data_dir)
                            or "http://127.0.0.1:5000").rstrip("/"),
        PLENARY_PROXY_FIX=proxy_fix(settings.proxy_count),
        PLENARY_SERVER_LIMITS=server_limits(settings),
        MAX_CONTENT_LENGTH=settings.max_message_bytes,
        PLENARY_ORIGIN_POLICY=access.origin_policy(settings.origins),
        BABEL_DEFAULT_LOCALE="es",
        JSON_SORT_KEYS=False,
    )
    client = connect(settings.redis_url, timeout=settings.redis_timeout_s)
    log = EventLog(client, programme.meeting.id, settings.key_prefix,
                   min_replicas=settings.min_replicas,
                   replica_timeout_ms=settings.replica_timeout_ms)
    admission = Admission(client, log.key("access"), log.key("rate"), settings.command_rate,
                          settings.system_command_rate)
    meeting = Meeting(programme, log, admission, settings.limits)
    app.config["BABEL_DEFAULT_TIMEZONE"] = programme.meeting.timezone

    babel.init_app(app, locale_selector=select_locale)
    socketio.init_app(
        app,
        async_mode="gevent",
        cors_allowed_origins=app.config["PLENARY_ORIGIN_POLICY"],
        max_http_buffer_size=settings.max_message_bytes,
        async_handlers=False,
        # engine.io's defaults: a screen under a burst is not dropped for a late
        # pong; dead links show sooner anyway (closed sockets, the screens' probe).
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        json=json_fast,
        serializer=json_fast.BoundedPacket,
    )
    sockets.bind_commands(app)
    app.wsgi_app = api.command_route(app, app.wsgi_app)  # type: ignore[method-assign,assignment]
    if settings.websocket_only:
        app.wsgi_app = sockets.websocket_only(app.wsgi_app)  # type: ignore[method-assign]
    else:
        app.wsgi_app = sockets.bounded_polling(  # type: ignore[method-assign]
            app.wsgi_app, settings.max_message_bytes, max(10.0, 2 * settings.redis_timeout_s))
    if settings.proxy_count:  # outermost: every route, the command route included, sees it
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    direct = seams.probe(socketio.server, disabled=settings.disabled_seams)
    seams.timed_pings(socketio.server, disabled=settings.disabled_seams)
    seams.on_demand_writer(socketio.server, disabled=settings.disabled_seams)
    app.extensions[KEY] = Services(
        settings, client, log, meeting, Relay(
            socketio, meeting, settings.redis_url, direct,
            settings.max_queued_frames, settings.max_queued_bytes,
            settings.peer_hold_ms / 1000),
        access.Generations(client, log.key("access")),
        Fleet(client, log.tag, node_name(settings), FleetTimes(
            settings.fleet_behind_s, settings.fleet_silent_s, settings.fleet_gone_keep_s)),
        metrics.Metrics())
    parts = services(app)
    parts.metrics.bind(parts)
    meeting.on_append = parts.metrics.note_append
    parts.relay.on_broadcast = parts.metrics.observe_broadcast
    metrics.configure_logging(settings.log_format)
    errors.register(app, refusal_page=pages.no_access)
    headers.register(app)
    for blueprint in (api.bp, api.health, access.bp, pages.bp, minutes_bp, metrics.bp):
        app.register_blueprint(blueprint)
    meeting.event_listeners.append(sockets.directive_listener(app))
    meeting.checks.append(sockets.directive_check(app))
    meeting.load(load_snapshot(log, programme))  # None (unusable or absent): replay it all
    services(app).access.refresh()
    return app


def node_name(settings: Settings) -> str:
    """This web node's name: PLENARY_NODE_NAME, else host:pid (unique while it runs)."""
    return settings.node_name or f"{socket.gethostname()[:40]}:{os.getpid()}"


def proxy_fix(count: int) -> Any:
    """environ -> a copy as the app sees it behind `count` trusted proxies (the origin
    check before a websocket upgrade runs ahead of the app's ProxyFix)."""
    if not count:
        return lambda environ: environ
    fix = ProxyFix(lambda environ, start_response: [], x_for=count, x_proto=count,
                   x_host=count, x_port=count, x_prefix=count)

    def apply(environ: dict[str, Any]) -> dict[str, Any]:
        copy = dict(environ)
        fix(copy, lambda *a: None)  # type: ignore[arg-type]
        return copy

    return apply


def server_limits(settings: Settings) -> ServerLimits:
    """The HTTP server's time and connection bounds from the settings."""
    return ServerLimits(
        header_timeout_s=settings.header_timeout_s,
        idle_timeout_s=settings.idle_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_connections=settings.max_connections or default_max_connections(),
        max_per_address=settings.max_connections_per_address,
        cap_per_address=settings.proxy_count == 0,
    )


def static_folder() -> Path:
    """The browser assets: `static/` beside the package in a checkout (or an editable
    install), else the copy a wheel puts inside the package."""
    here = Path(__file__).resolve().parent
    beside = here.parent / "static"
    return beside if (beside / "js").is_dir() else here / "static"


def start_node(app: Flask) -> None:
    """Start a web node's background tasks (`plenary run` and the gunicorn entry point):
    the relay (tail and sends), the access refresher, the fleet's heartbeat writer and the
    collector's full passes."""
    parts = services(app)
    parts.relay.start()
    socketio.start_background_task(parts.fleet.run_flusher, socketio.sleep)
    socketio.start_background_task(access.run_access_refresher, app, socketio)
    socketio.start_background_task(collector.run, socketio.sleep, parts.settings.gc_full_every_s)
    socketio.start_background_task(_prepare_commands)
    if parts.metrics.shared_dir:  # one process of several on a port (docs/deploy.md)
        socketio.start_background_task(parts.metrics.run_sharer, socketio.sleep)


def _prepare_commands() -> None:
    # Once the node serves (a start need not wait for them), not on a chair's first click.
    socketio.sleep(PREPARE_AFTER_S)
    prepare_commands()
