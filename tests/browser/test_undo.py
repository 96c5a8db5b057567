"""Undo on the chair console: after each of the five floor and list actions, Undo names the
change, and two open room screens show the exact list and floor of before."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOM, SITTING = "plenario", "plenaria"
# Guatemala gets the floor; five wait: every one of them fits on a 1920×1080 screen.
QUEUE = ["GTM", "HND", "PAN", "USA", "COL", "MEX"]


def shown(screen: Any) -> dict[str, Any]:
    """What a room screen shows of the list and the floor, and the version it drew."""
    return screen.page.evaluate(
        """() => ({
            version: document.body.dataset.version,
            floor: document.getElementById('floor-name').textContent,
            detail: document.getElementById('floor-detail').textContent,
            queue: [...document.querySelectorAll('#queue li')].map(li => li.textContent),
            more: document.getElementById('queue-more').textContent,
        })"""
    )


def speakers(state: dict[str, Any]) -> tuple[Any, list[str]]:
    current = state["speakers"]["current"]
    return (current and current["entry_id"], [e["entry_id"] for e in state["speakers"]["queue"]])


def row(page: Any, name: str) -> Any:
    return page.locator("#queue li", has_text=name)


def give_out_of_turn(page: Any) -> None:
    row(page, "Colombia").get_by_role("button", name="Give the floor to Colombia (COL)").click()
    page.wait_for_selector("#ask[open]")
    assert "Colombia" in page.locator("#ask-title").inner_text()
    page.click("#ask-ok")


def move_to_first(page: Any) -> None:
    name = "Move United States (USA) to position…"
    row(page, "United States").get_by_role("button", name=name).click()
    page.wait_for_selector("#ask[open]")
    page.fill("#ask-position", "1")
    page.click("#ask-ok")


# (action, what Undo then says, press Undo by its shortcut rather than a click)
ACTIONS: dict[str, tuple[Callable[[Any], None], str, bool]] = {
    "next": (lambda p: p.click("#btn-next"), "Undo: Honduras (HND) given the floor", False),
    "give the floor": (give_out_of_turn, "Undo: Colombia (COL) given the floor", True),
    "end speech": (lambda p: p.click("#btn-stop"),
                   "Undo: end of the speech of Guatemala (GTM)", False),
    "remove": (lambda p: row(p, "Panama").get_by_role(
        "button", name="Remove Panama (PAN) from the list").click(),
               "Undo: Panama (PAN) removed", True),
    "move": (move_to_first, "Undo: United States (USA) moved", False),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_undo_after_each_action_gives_two_screens_the_list_and_floor_of_before(
    open_page: Any, admin: Any, room_state: Any, artifacts: Path, action: str
) -> None:
    act, label, by_shortcut = ACTIONS[action]
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in QUEUE:
        admin("speaker.add", room=ROOM, delegation=code)
    admin("speaker.next", room=ROOM)
    screens = [open_page("screen", ROOM, "", viewport=(1920, 1080)) for _ in range(2)]
    chair = open_page("chair", ROOM, "?lang=en")
    for page in (*screens, chair):
        page.wait_live()
    page = chair.page
    page.wait_for_function("!document.getElementById('btn-next').disabled", timeout=5000)
    before_state = room_state(ROOM)
    for screen in screens:
        screen.page.wait_for_function(
            f"document.body.dataset.version === '{before_state['version']}'", timeout=5000)
    before = [shown(s) for s in screens]
    assert before[0]["queue"] and before[0] == before[1]
    # Undo names the room's newest change, whoever made it (here the admin's Next).
    assert page.locator("#undo-text").inner_text() == "Undo: Guatemala (GTM) given the floor"

    act(page)
    page.wait_for_function(
        f"document.body.dataset.version !== '{before_state['version']}'", timeout=5000)
    changed = room_state(ROOM)
    assert speakers(changed) != speakers(before_state)
    undo = page.locator("#btn-undo")
    assert undo.is_visible() and undo.is_enabled()
    assert page.locator("#undo-text").inner_text() == label
    assert undo.get_attribute("aria-label") == label
    page.screenshot(path=str(artifacts / f"undo-{action.replace(' ', '-')}.png"))
    time.sleep(2)  # the change stands a while: the floor's clock goes back to what it showed
    if by_shortcut:
        page.evaluate("() => document.getElementById('floor-h').focus()")
        page.keyboard.press("Alt+Shift+KeyZ")
    else:
        undo.click()
    page.wait_for_function(
        f"document.body.dataset.version !== '{changed['version']}'", timeout=5000)
    after_state = room_state(ROOM)
    assert speakers(after_state) == speakers(before_state)
    assert after_state["speakers"]["undo"] is None
    for screen in screens:
        screen.page.wait_for_function(
            f"document.body.dataset.version === '{after_state['version']}'", timeout=5000)
    assert [shown(s) | {"version": None} for s in screens] == [
        b | {"version": None} for b in before]
    # The speaker's clock: what it showed before, plus only the time it has the floor.
    was, now = before_state["speakers"]["current"], after_state["speakers"]["current"]
    lived = after_state["server_time"] - before_state["server_time"]
    assert was["elapsed_s"] <= now["elapsed_s"] <= was["elapsed_s"] + lived
    if action in ("next", "give the floor", "end speech"):  # the undone stretch is not spoken
        assert now["elapsed_s"] <= was["elapsed_s"] + lived - 1.5
    assert not now["paused"]
    # Undo is gone; a second undo has nothing to take back.
    page.wait_for_selector("#btn-undo", state="hidden", timeout=5000)
    assert page.is_hidden("#message")
    assert not chair.errors and not any(s.errors for s in screens)
