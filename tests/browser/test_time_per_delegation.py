"""Time per delegation: the clock of a speaker whose delegation has used up its speaking
time in the sitting says so, on the room's screen, the podium monitor and the console."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import shifted_programme

ROOM, SITTING = "plenario", "plenaria"
BUDGET_S = 30  # each delegation's time in the plenary (the reference programme says 360)
OUT = ("Tiempo de la delegación agotado", "Delegation's time used up")


@pytest.fixture
def programme_path(tmp_path: Path) -> Path:
    return shifted_programme(tmp_path / "programme.yaml", SITTING, time.time() + 3600,
                             sittings={SITTING: {"budget_s": BUDGET_S}})


def test_the_clock_says_when_the_speakers_delegation_has_used_up_its_time(
    open_page: Any, admin: Any, room_state: Any, artifacts: Path
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    first = admin("speaker.add", room=ROOM, delegation="MEX")
    admin("speaker.start", room=ROOM, entry_id=first["entry_id"])
    time.sleep(1.0)
    admin("speaker.stop", room=ROOM)
    # Mexico's second turn (a right of reply, 2 minutes), then Brazil's first.
    second = admin("speaker.add", room=ROOM, delegation="MEX", kind="reply")
    admin("speaker.add", room=ROOM, delegation="BRA")
    admin("speaker.start", room=ROOM, entry_id=second["entry_id"])
    current = room_state(ROOM)["speakers"]["current"]
    assert current["delegation"]["code"] == "MEX" and current["budget_s"] == BUDGET_S
    spoken = current["spoken_before_s"]
    assert 1.0 <= spoken < 10, spoken

    pages = {
        "screen": open_page("screen", ROOM, "", viewport=(1920, 1080)),
        "portrait": open_page("screen", ROOM, "", viewport=(1080, 1920)),
        "podium": open_page("screen", ROOM, f"/podium/{ROOM}", viewport=(1280, 720)),
        "chair": open_page("chair", ROOM, "?lang=en", viewport=(1366, 768)),
    }
    for watched in pages.values():
        watched.page.clock.install()
        watched.page.reload()
        watched.wait_live()
        watched.page.wait_for_function(
            "document.getElementById('clock-box').dataset.level === 'normal'", timeout=10000)
    # Within its time: nothing said (the check is of the label the clock draws itself).
    for name, watched in pages.items():
        label = watched.text("#clock-label")
        assert not any(text in label for text in OUT), (name, label)
        assert watched.page.locator("#clock-box").get_attribute("data-budget-out") == "false"
    assert pages["chair"].page.locator("#desk-budget-out").is_hidden()

    # Each browser's clock BUDGET_S ahead (until its next state re-reads the server's):
    # Mexico's time is used up 1 s into the reply, well within the reply's own limit.
    for name, watched in pages.items():
        page = watched.page
        page.clock.set_system_time(page.evaluate("Date.now()") / 1000 + BUDGET_S)
        page.wait_for_function(
            "document.getElementById('clock-box').dataset.budgetOut === 'true'", timeout=3000)
        label = watched.text("#clock-label")
        if name == "chair":  # the console: its one language
            assert OUT[1] in label and OUT[0] not in label, label
            assert page.locator("#desk-budget-out").is_visible()
        else:
            assert OUT[0] in label and OUT[1] in label, (name, label)
        # The speech itself is not over its time: the clock stays as it was.
        assert page.locator("#clock-box").get_attribute("data-level") == "normal", name
        assert "Overrun" not in label and "Time almost up" not in label, (name, label)
        # The longer label wraps inside the clock's box; nothing sticks out of it.
        page.wait_for_timeout(300)  # a frame for the screen to fit again
        outside = page.evaluate("""() => {
            const box = document.getElementById('clock-box').getBoundingClientRect();
            return ['clock', 'clock-limit', 'clock-label'].filter((id) => {
                const r = document.getElementById(id).getBoundingClientRect();
                return r.left < box.left - 1 || r.right > box.right + 1
                    || r.top < box.top - 1 || r.bottom > box.bottom + 1;
            });
        }""")
        assert outside == [], (name, outside)
        page.screenshot(path=str(artifacts / f"budget-out-{name}.png"))

    # Brazil's turn: its own time, nothing used up (the next state re-reads the clock).
    admin("speaker.next", room=ROOM)
    for name, watched in pages.items():
        watched.page.wait_for_function(
            "document.getElementById('clock-box').dataset.budgetOut === 'false'", timeout=5000)
        assert not any(text in watched.text("#clock-label") for text in OUT), name
        assert not watched.errors, (name, watched.errors)
    assert pages["chair"].page.locator("#desk-budget-out").is_hidden()
