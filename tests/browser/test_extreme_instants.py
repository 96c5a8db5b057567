"""The screens render on with the farthest instants the server accepts (and never throw on
an instant out of range)."""

from __future__ import annotations

import time
from typing import Any

from tests.support import LiveServer

ROOM, SITTING = "plenario", "plenaria"


def test_screens_render_on_with_the_farthest_instants_accepted(
    open_page: Any, admin: Any, live_server: LiveServer
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("session.suspend", room=ROOM, until=time.time() + 24 * 3600 - 5)
    admin("announcement.post", text={"es": "Aviso lejano", "en": "Far notice"},
          expires_at=time.time() + 7 * 24 * 3600 - 5)
    screen = open_page("screen", ROOM, "", viewport=(1920, 1080))
    overview = open_page("screen", "*", "", viewport=(1920, 1080))
    for page in (screen, overview):
        page.wait_live()
    screen.page.wait_for_function(
        "document.body.textContent.includes('Aviso lejano')", timeout=10_000)
    admin("speaker.add", room=ROOM, delegation="PAN")
    screen.page.wait_for_function(
        "document.getElementById('queue').textContent.includes('Panamá')", timeout=10_000)
    overview.page.wait_for_function("document.body.textContent.includes('Panamá')",
                                    timeout=10_000)
    # The formatting itself leaves out what is not a plausible instant, never throws.
    shown = screen.page.evaluate("""async () => {
        const i18n = await import(document.querySelector('script[type=module]').src
                                  .replace('screen.js', 'i18n.js'));
        return [1e13, 1e308, -1e308, NaN, Infinity, '1e13', null].map((v) =>
            [i18n.formatTime(v), i18n.formatDayTime(v), i18n.epochToZoned(v)].join(''));
    }""")
    assert shown == [""] * 7
    assert not screen.errors and not overview.errors, (screen.errors, overview.errors)
