"""The security headers every response carries, set in one place for the whole app."""

from __future__ import annotations

from flask import Flask, Response

# No inline script or style anywhere: the pages' data travels in a
# <script type="application/json"> block, which is never executed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


def secure(response: Response) -> Response:
    """Add the security headers, and no-store unless the response says how to cache it
    (the static files do: they are the same for everyone)."""
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask) -> None:
    """Set the headers on every response of the app (pages, API, static files, errors)."""
    app.after_request(secure)
