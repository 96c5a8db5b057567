"""gunicorn's gevent-websocket worker with the handler that checks origins before the upgrade."""

from __future__ import annotations

from typing import Any

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from gunicorn.glogging import Logger

from dashboard.serve.server import OriginCheckingHandler, redact


class GunicornWorker(GeventWebSocketWorker):  # type: ignore[misc]
    """The worker class that deploy/gunicorn.conf.py names."""

    wsgi_handler = OriginCheckingHandler


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with access tokens left out of the access log's fields."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in found.items()}
