"""The request class of the app: a chunked body over the size limit is a 413, not a cut body,
and a failed URL match is kept without its traceback."""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge


class BoundedRequest(Request):
    """Werkzeug stops reading a body without Content-Length (chunked) at the size limit
    and returns what it read, so an oversized body looked like broken JSON (400).
    Here a body that reaches the limit and still has data behind it is a 413."""

    def get_data(self, cache: bool = True, as_text: bool = False,  # type: ignore[override]
                 parse_form_data: bool = False) -> Any:
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        if (self.content_length is None and limit is not None and len(data) >= limit
                and self.environ["wsgi.input"].read(1)):
            raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data

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
