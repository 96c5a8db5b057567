"""Extensions created unbound here and bound to the app in create_app."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_socketio import SocketIO

LANGUAGES = ("es", "en")

socketio = SocketIO()
babel = Babel()


def select_locale() -> str:
    """?lang=, then the lang cookie, then the browser's preference; Spanish, the host's, last."""
    asked = request.args.get("lang") or request.cookies.get("plenary_lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or "es"
