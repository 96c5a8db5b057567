"""The chair console drives the screens: one press, one speaker, every screen the same second."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import clock_seconds

ROOM, SITTING = "plenario", "plenaria"
QUEUE = ["PAN", "USA", "COL"]


def open_sitting_with_queue(admin: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in QUEUE:
        admin("speaker.add", room=ROOM, delegation=code)


def live_chair_with_queue(open_page: Any, admin: Any) -> Any:
    """The plenary's sitting open with QUEUE waiting, and its chair console live."""
    open_sitting_with_queue(admin)
    chair = open_page("chair", ROOM, "")
    chair.wait_live()
    return chair


def on_floor(code: str) -> str:
    """The page shows `code` (or a name) as who has the floor (a condition in JS)."""
    return f"document.getElementById('floor-name').textContent.includes('{code}')"


def settled(chair: Any, room_state: Any, shown: str) -> Any:
    """The room's state once the console shows `shown` (a condition in JS) and a second
    command, had one gone out, would have landed."""
    chair.page.wait_for_function(shown, timeout=5000)
    time.sleep(0.8)
    return room_state(ROOM)


def test_next_speaker_changes_two_screens_and_their_clocks_agree(
    open_page: Any, admin: Any
) -> None:
    open_sitting_with_queue(admin)
    screens = [
        open_page("screen", ROOM, "", viewport=(1920, 1080)),
        open_page("screen", ROOM, "?lang=es", viewport=(1280, 720)),
    ]
    chair = open_page("chair", ROOM, "")
    for page in [*screens, chair]:
        page.wait_live()
    assert chair.page.url.endswith(f"/chair/{ROOM}")

    chair.page.click("#btn-next")

    for screen in screens:
        screen.page.wait_for_function(on_floor("Panamá"), timeout=5000)
        assert "Estados Unidos" in screen.text("#queue")
    time.sleep(1.2)  # let the clocks run a little
    for _ in range(3):
        a = clock_seconds(screens[0].text("#clock"))
        b = clock_seconds(screens[1].text("#clock"))
        assert abs(a - b) <= 1, (a, b)
        time.sleep(0.4)
    assert (
        clock_seconds(chair.text("#clock")) == a
        or abs(clock_seconds(chair.text("#clock")) - a) <= 1
    )
    for page in [*screens, chair]:
        assert not page.errors and not page.dialogs, (page.errors, page.dialogs)


def test_double_click_on_next_advances_exactly_one_speaker(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    chair = live_chair_with_queue(open_page, admin)

    # A double click as a hand makes it: each press held 150 ms, so the first click's
    # command is answered, and its state shown, before the second click comes.
    chair.page.dblclick("#btn-next", delay=150)
    state = settled(chair, room_state, on_floor("PAN"))
    assert state["speakers"]["current"]["delegation"]["code"] == "PAN"
    assert [e["delegation"]["code"] for e in state["speakers"]["queue"]] == ["USA", "COL"]

    # Two clicks in the same tick, and the keyboard shortcut pressed twice: still one step.
    chair.page.eval_on_selector("#btn-next", "b => { b.click(); b.click(); }")
    chair.page.wait_for_function(on_floor("USA"), timeout=5000)
    # The console takes a key again once the command's answer is in (the state may
    # show a moment before it): as a chair sees the Next button enabled again.
    chair.page.wait_for_function("!document.body.classList.contains('busy')", timeout=5000)
    # The shortcut pressed twice before any answer can come back (two key presses
    # in one tick; separate presses after the answer are two deliberate commands).
    chair.page.evaluate(
        "() => { for (let i = 0; i < 2; i++) document.dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'N', code: 'KeyN', altKey: true, shiftKey: true,"
        " bubbles: true})); }"
    )
    state = settled(chair, room_state, on_floor("COL"))
    assert state["speakers"]["current"]["delegation"]["code"] == "COL"
    assert state["speakers"]["queue"] == []
    assert not chair.errors


def test_double_click_on_remove_takes_off_one_speaker(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    # The list is drawn again after the first click: the second click of a double
    # click would land on the next speaker's button.
    chair = live_chair_with_queue(open_page, admin)

    chair.page.dblclick('#queue li:first-child button[data-action="remove"]', delay=150)
    state = settled(chair, room_state,
                    "!document.getElementById('queue').textContent.includes('PAN')")
    codes = [e["delegation"]["code"] for e in state["speakers"]["queue"]]
    assert codes == ["USA", "COL"]
    assert "USA" in chair.text("#queue")
    assert not chair.errors


def test_chair_adds_with_the_picker_and_a_refusal_is_explained(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    chair = open_page("chair", ROOM, "?lang=es")
    chair.wait_live()
    chair.page.click(".add-more summary")  # the speaker's name and title go with the next add
    chair.page.fill("#speaker-name", "Ilan Goldfajn")
    chair.page.fill("#speaker-title", "Presidente")

    # English name, accent-free Spanish name, and code all find their delegation.
    chair.page.fill("#picker-input", "saint vinc")
    assert "San Vicente y las Granadinas" in chair.text("#picker-list")
    chair.page.fill("#picker-input", "peru")
    assert "Perú (PER)" in chair.text("#picker-list")
    chair.page.fill("#picker-input", "idb")
    chair.page.keyboard.press("Enter")
    chair.page.wait_for_function(
        "document.getElementById('queue').textContent.includes('BID')", timeout=5000
    )
    assert "Ilan Goldfajn, Presidente" in chair.text("#queue")
    (added,) = room_state(ROOM)["speakers"]["queue"]
    assert (added["speaker_name"], added["speaker_title"]) == ("Ilan Goldfajn", "Presidente")
    assert chair.page.input_value("#speaker-title") == ""  # cleared for the next one
    chair.page.fill("#picker-input", "Banco Inter")
    chair.page.keyboard.press("Enter")  # already waiting with a speech: refused
    chair.page.wait_for_selector("#message:not([hidden])", timeout=5000)
    message = chair.text("#message")
    assert "ya espera" in message, message  # the reason, in the chair's language
    assert [e["delegation"]["code"] for e in room_state(ROOM)["speakers"]["queue"]] == ["IDB"]
    assert not chair.errors


def test_a_refusal_while_the_sitting_is_suspended_says_why(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    """A suspended sitting is still in progress: a delegation already waiting is refused
    for that reason, and giving the floor for the suspension, never "no sitting"."""
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="IDB")
    admin("session.suspend", room=ROOM)
    chair = open_page("chair", ROOM, "?lang=es")
    chair.wait_live()
    chair.page.fill("#picker-input", "idb")
    chair.page.keyboard.press("Enter")  # already waiting with a speech: refused
    chair.page.wait_for_selector("#message:not([hidden])", timeout=5000)
    message = chair.text("#message")
    assert "ya espera" in message and "no hay" not in message.lower(), message

    chair.page.click("#btn-next")  # the floor waits for the sitting to resume
    chair.page.wait_for_function(
        "!document.getElementById('message').textContent.includes('ya espera')", timeout=5000)
    message = chair.text("#message")
    assert "suspendida" in message, message
    assert room_state(ROOM)["speakers"]["current"] is None
    assert not chair.errors


def test_closing_a_sitting_says_how_many_are_still_on_the_list(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    open_sitting_with_queue(admin)
    waiting = len(room_state(ROOM)["speakers"]["queue"])
    assert waiting > 1
    chair = open_page("chair", ROOM, "")
    chair.wait_live()
    chair.page.click("#btn-close")
    chair.page.wait_for_selector("#ask[open]")
    assert f": {waiting}" in chair.text("#ask-text"), chair.text("#ask-text")
    chair.page.click("#ask-cancel")
    assert room_state(ROOM)["session"]["status"] == "open"
    chair.page.click("#btn-close")
    chair.page.wait_for_selector("#ask[open]")
    chair.page.click("#ask-ok")
    deadline = time.monotonic() + 5
    while (room_state(ROOM)["session"] or {}).get("status") == "open":
        assert time.monotonic() < deadline, "the sitting was not closed"
        time.sleep(0.1)
    assert not chair.errors
