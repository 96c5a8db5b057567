"""gunicorn's gevent-websocket worker with the handler that checks origins before the upgrade."""

from __future__ import annotations

from typing import Any

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from gunicorn.glogging import Logger
from gunicorn.workers.ggevent import PyWSGIHandler

from dashboard.serve.server import OriginCheckingHandler, redact


class GunicornHandler(OriginCheckingHandler):
    """The handler's request log goes to gunicorn's access log, as with gunicorn's own
    gevent worker: none unless `--access-logfile` is given (deploy/gunicorn.conf.py)."""

    def log_request(self) -> None:
        # under gunicorn `server.log` is its logger: pywsgi's way wrote each request to
        # the error log at INFO, a formatted line on every command's path
        if self.environ is not None:  # None: no request head came whole (408)
            PyWSGIHandler.log_request(self)

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ["RAW_URI"] = self.path  # what gunicorn's access log reads, as PyWSGIHandler
        return environ


class GunicornWorker(GeventWebSocketWorker):  # type: ignore[misc]
    """The worker class that deploy/gunicorn.conf.py names."""

    wsgi_handler = GunicornHandler


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with access tokens left out of the access log's fields."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in found.items()}
