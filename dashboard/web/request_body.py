"""Reading a request's JSON body, the same way on every route: from its WSGI environ.

The command route has no request object (docs/performance.md, "Commands outside
Flask's request context"); every other route reads its body from `request.environ`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from dashboard.live import json_fast
from dashboard.web.errors import ApiError


def body_of(environ: dict[str, Any], limit: int | None) -> bytes:
    """A request's body, or a 413 when it is longer than `limit` bytes.

    A declared length over the limit is refused before anything is read, and one
    within it is read as declared (the server's input stops there, PEP 3333). A body
    without one (chunked) is read up to the limit; one that still has data behind it
    is refused too, not cut (Werkzeug's stream stops at the limit and says nothing).
    """
    length = get_content_length(environ)
    if length is not None:
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        declared: bytes = environ["wsgi.input"].read(length) if length else b""
        return declared
    data: bytes = get_input_stream(environ, max_content_length=limit).read()
    if limit is not None and len(data) >= limit and environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data


def json_body(environ: dict[str, Any] | None = None, app: Flask | None = None
              ) -> dict[str, Any]:
    """A request's JSON object (of its environ; the current request's by default), at
    most its app's MAX_CONTENT_LENGTH long, or a 400 that says what is wrong with it."""
    raw = body_of(request.environ if environ is None else environ,
                  (app or current_app).config["MAX_CONTENT_LENGTH"])
    try:
        body = json_fast.loads(raw)
    except json_fast.TooDeep as exc:
        raise ApiError(400, "bad_json", str(exc)) from None
    except ValueError:  # orjson's errors, invalid UTF-8 included
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body
