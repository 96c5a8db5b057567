"""The request class of the app: a chunked body over the size limit is a 413, not a cut body."""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge


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
