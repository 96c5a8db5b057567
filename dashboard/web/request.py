"""The request class of the app: a failed URL match is kept without its traceback."""

from __future__ import annotations

from flask import Request
from werkzeug.exceptions import HTTPException


class AppRequest(Request):
    """Flask's request, without a failed URL match's traceback. (Bodies are read by
    `dashboard.web.request_body`, from the environ, with the same bound everywhere.)"""

    # Flask keeps a failed URL match on the request, as raised: its traceback holds
    # the frame that matched, which holds the request context, which holds the
    # request. Every Socket.IO event runs in a request context of the socket's
    # /socket.io URL, which matches no route, so each event left such a cycle (its
    # environ copy and frames included) for the next full collection. Raising it
    # again later (a real 404) gives it a traceback of its own.
    @property
    def routing_exception(self) -> HTTPException | None:  # type: ignore[override]
        return self.__dict__.get("_routing_exception")

    @routing_exception.setter
    def routing_exception(self, exc: HTTPException | None) -> None:
        if exc is not None:
            exc.__traceback__ = None
            exc.__context__ = None
        self.__dict__["_routing_exception"] = exc
