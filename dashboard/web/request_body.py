"""Reading a request's JSON body, the same way on every route."""

from __future__ import annotations

from typing import Any

from flask import Request, request

from dashboard.live import json_fast
from dashboard.web.errors import ApiError


def json_body(req: Request | None = None) -> dict[str, Any]:
    """A request's JSON object (the current request's by default), or a 400 that says
    what is wrong with it."""
    raw = (request if req is None else req).get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    try:
        body = json_fast.loads(raw)
    except json_fast.TooDeep as exc:
        raise ApiError(400, "bad_json", str(exc)) from None
    except ValueError:  # orjson's errors, invalid UTF-8 included
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body
