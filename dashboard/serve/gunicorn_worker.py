"""gunicorn's gevent-websocket worker with the handler that checks origins before the upgrade."""

from __future__ import annotations

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker

from dashboard.serve.server import OriginCheckingHandler


class GunicornWorker(GeventWebSocketWorker):  # type: ignore[misc]
    """The worker class that deploy/gunicorn.conf.py names."""

    wsgi_handler = OriginCheckingHandler
