"""gunicorn settings of the web service (compose `web`): `gunicorn -c deploy/gunicorn.conf.py`.

One gevent-websocket worker per container: every connection of the node is
a greenlet, and each web node tails the stream itself, so more capacity is
more containers (`docker compose up --scale web=N`), not more workers.

The worker's handler (dashboard/serve/server.py) bounds slow clients and
counts connections as `plenary run` does, from the same settings
(PLENARY_HEADER_TIMEOUT_S, PLENARY_IDLE_TIMEOUT_S, PLENARY_BODY_TIMEOUT_S,
PLENARY_MAX_CONNECTIONS, PLENARY_MAX_CONNECTIONS_PER_ADDRESS).
"""

import os
import sys

from dashboard.serve.refusals import refusal
from dashboard.serve.server import (
    PAST_CAP_HANDLERS,
    default_max_connections,
    raise_open_file_limit,
)
from dashboard.settings import SettingsError, load_settings

raise_open_file_limit()  # every screen is an open socket
try:
    _settings = load_settings()
except SettingsError as exc:  # one line naming the variable, as `plenary run` says it
    sys.exit(refusal(exc))

_port = os.environ.get("PORT", "8000")
if not (_port.isdigit() and 1 <= int(_port) <= 65535):  # 99999 was a traceback, 0 any port
    sys.exit(f"plenary: configuration: PORT: must be a number from 1 to 65535, not {_port!r}")
bind = f"0.0.0.0:{_port}"
wsgi_app = "dashboard.serve.wsgi:app"
# gevent-websocket, with a handler that refuses foreign origins before the upgrade.
worker_class = "dashboard.serve.gunicorn_worker.GunicornWorker"
workers = 1
# No control socket: its default path ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl) is
# one per user, so each node started on a host took it from the one before, and its
# `worker add` would add web nodes behind the supervisor's back. Signals stop a node.
control_socket_disable = True
# The handler caps connections (closing those still waiting for a request head
# first); gunicorn's pool is larger by the handlers that refuse or close past the
# cap, and bounds the sockets open at once as `plenary run`'s pool does.
worker_connections = (_settings.max_connections or default_max_connections()) + PAST_CAP_HANDLERS
# Bounds of a request's head (gunicorn's defaults, stated).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Websockets are long-lived: the worker heartbeat is what gunicorn watches, not requests.
timeout = 60
graceful_timeout = 20
keepalive = int(_settings.idle_timeout_s)
# Requests are not logged one by one (the proxy's log has them). An access log
# turned on (--access-logfile) never shows a token: /access/<token> is logged as
# /access/….
accesslog = None
logger_class = "dashboard.serve.gunicorn_worker.RedactingLogger"
errorlog = "-"
# X-Forwarded-Proto is believed only from these addresses (the proxy's); the
# app trusts X-Forwarded-* only with PLENARY_PROXY_COUNT set.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
