"""A request's token and body, read from its WSGI environ the same way on every route."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.web.access import COOKIE, token_of
from dashboard.web.errors import ApiError
from dashboard.web.request_body import body_of


class Input(io.BytesIO):
    """A server's input stream that records how much was asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked = 0

    def read(self, size: int | None = -1) -> bytes:
        got = super().read(size)
        self.asked += len(got)
        return got


def environ(data: bytes, length: int | None, chunked: bool = False) -> dict[str, Any]:
    env: dict[str, Any] = {"wsgi.input": Input(data)}
    if length is not None:
        env["CONTENT_LENGTH"] = str(length)
    if chunked:  # the server ends the stream itself (pywsgi and gunicorn do)
        env["wsgi.input_terminated"] = True
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
    return env


def test_a_declared_body_is_read_as_declared_up_to_the_limit() -> None:
    assert body_of(environ(b'{"a":1}', 7), 7) == b'{"a":1}'
    assert body_of(environ(b'{"a":1}next', 7), 100) == b'{"a":1}'  # not past its length
    assert body_of(environ(b"", 0), 100) == b""
    assert body_of(environ(b"ignored", None), 100) == b""  # no length, no chunks: no body


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read() -> None:
    env = environ(b"x" * 101, 101)
    with pytest.raises(RequestEntityTooLarge):
        body_of(env, 100)
    assert env["wsgi.input"].asked == 0


def test_a_chunked_body_is_read_whole_within_the_limit_and_refused_beyond_it() -> None:
    assert body_of(environ(b"x" * 99, None, chunked=True), 100) == b"x" * 99
    assert body_of(environ(b"x" * 100, None, chunked=True), 100) == b"x" * 100
    with pytest.raises(RequestEntityTooLarge):  # not cut at the limit
        body_of(environ(b"x" * 101, None, chunked=True), 100)


@pytest.mark.parametrize(("env", "expected"), [
    ({"HTTP_AUTHORIZATION": "Bearer abc.def"}, ("abc.def", False)),
    ({"HTTP_AUTHORIZATION": "bearer  abc "}, ("abc", False)),
    ({"HTTP_COOKIE": f"lang=es; {COOKIE}=abc.def"}, ("abc.def", True)),
    # the header wins over the cookie
    ({"HTTP_AUTHORIZATION": "Bearer h", "HTTP_COOKIE": f"{COOKIE}=c"}, ("h", False)),
    ({}, (None, True)),
])
def test_a_token_is_the_bearer_header_else_the_cookie(env: dict[str, str],
                                                      expected: tuple[str | None, bool]) -> None:
    assert token_of(env) == expected


@pytest.mark.parametrize("header", ["Basic YTpi", "Bearer", "Bearer   ", "Token abc"])
def test_another_authorization_scheme_is_401(header: str) -> None:
    with pytest.raises(ApiError) as refused:
        token_of({"HTTP_AUTHORIZATION": header})
    assert refused.value.status == 401
