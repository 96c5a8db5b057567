"""The chair console forgives: typing never acts, the floor is always in view, the link's
state is honest, giving the floor out of turn asks first, every control names its target."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from tests.support import LiveServer

ROOM, SITTING = "plenario", "plenaria"
PROGRAMME = Path(__file__).resolve().parents[2] / "dashboard" / "programmes" / "reference.yaml"
CONSOLE_SIZES = [(1366, 768), (820, 1180), (390, 844)]
# Eleven requests, the longest names among them, as in a busy plenary.
BUSY_QUEUE = ["GTM", "VCT", "IDB", "DOM", "TTO", "ATG", "USA", "COL", "MEX", "CAN", "PAN"]


def delegation_names() -> list[str]:
    """Every delegation's name in both languages, as the bundled programme spells them."""
    programme = yaml.safe_load(PROGRAMME.read_text(encoding="utf-8"))
    names: list[str] = []
    for delegation in programme["delegations"]:
        names += [delegation["name"]["es"], delegation["name"]["en"]]
    return names


def busy_plenary(admin: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    for code in BUSY_QUEUE:
        admin("speaker.add", room=ROOM, delegation=code)
    admin("speaker.next", room=ROOM)  # Guatemala has the floor


def test_typing_every_delegation_name_anywhere_never_changes_the_room(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    busy_plenary(admin)
    chair = open_page("chair", ROOM, "")
    chair.wait_live()
    page = chair.page
    page.wait_for_function("!document.getElementById('btn-next').disabled", timeout=5000)
    before = room_state(ROOM)["version"]
    names = delegation_names()
    assert len(names) >= 40 and "Canada" in names

    targets = {
        "body": "() => { document.activeElement?.blur(); document.body.focus(); }",
        "heading": "() => document.getElementById('floor-h').focus()",
        "Next button": "() => document.getElementById('btn-next').focus()",
        "Give the floor button": (
            "() => document.querySelector('#queue button[data-action=\"start\"]').focus()"
        ),
        "Remove button": (
            "() => document.querySelector('#queue button[data-action=\"remove\"]').focus()"
        ),
    }
    for where, focus in targets.items():
        for name in names:
            page.evaluate(focus)
            page.keyboard.type(name)
            # The dialog a stray press would open is closed again, so the next name meets
            # the same console (a test that could only pass if nothing opened it).
            assert not page.evaluate("document.getElementById('ask').open"), (where, name)
        assert room_state(ROOM)["version"] == before, where
    time.sleep(0.8)  # a command sent at the last key would have landed by now
    assert room_state(ROOM)["version"] == before
    assert chair.page.is_hidden("#message")
    assert not chair.errors

    # The shortcut with its modifiers does act (and only once for one press).
    page.evaluate("() => document.getElementById('floor-h').focus()")
    page.keyboard.press("Alt+Shift+KeyN")
    page.wait_for_function(
        "document.getElementById('floor-name').textContent.includes('(VCT)')",
        timeout=5000,
    )
    assert room_state(ROOM)["speakers"]["current"]["delegation"]["code"] == "VCT"


def floor_report(page: Any) -> dict[str, Any]:
    """Where the floor's parts, Add and the list stand, seen without scrolling."""
    return page.evaluate(
        """() => {
            const h = window.innerHeight, w = window.innerWidth;
            const box = (sel) => {
                const el = document.querySelector(sel);
                if (!el) return null;
                const r = el.getBoundingClientRect();
                return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
            };
            const parts = ['#floor-name', '#clock-box', '#btn-next', '#undo-slot',
                           '#btn-stop', '#picker-input', '#btn-add'];
            const out = parts.filter(sel => {
                const r = box(sel);
                return !r || r.top < 0 || r.bottom > h + 1 || r.left < 0 || r.right > w + 1;
            });
            const pane = document.getElementById('queue-pane');
            return {
                out, scrollY: window.scrollY,
                overflowX: document.documentElement.scrollWidth - w,
                paneScrolls: pane.scrollHeight > pane.clientHeight,
                paneOverflowY: getComputedStyle(pane).overflowY,
                addAbovePane: box('#btn-add').bottom <= box('#queue-pane').top,
                sittingBelowFloor: box('#btn-close').top >= box('#floor-block').bottom
                    || box('#btn-close').left >= box('#floor-block').right,
                nextText: document.getElementById('btn-next').textContent,
                header: document.querySelector('header').textContent,
            };
        }"""
    )


def test_the_floor_stands_whole_on_the_first_screen_at_three_console_sizes(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    busy_plenary(admin)
    admin(
        "announcement.post",
        text={"es": "Evacúen la sala por la salida norte", "en": "Leave by the north exit"},
        level="urgent",
        rooms=[ROOM],
    )
    for width, height in CONSOLE_SIZES:
        for lang in ("es", "en"):
            chair = open_page("chair", ROOM, f"?lang={lang}", viewport=(width, height))
            chair.wait_live()
            chair.page.wait_for_function(
                "document.getElementById('queue').children.length === 10", timeout=5000
            )
            time.sleep(0.3)
            chair.page.screenshot(path=str(artifacts / f"chair-{width}x{height}-{lang}.png"))
            chair.page.screenshot(
                path=str(artifacts / f"chair-{width}x{height}-{lang}-full.png"), full_page=True
            )
            report = floor_report(chair.page)
            where = f"{width}x{height} {lang}: {report}"
            assert report["out"] == [] and report["scrollY"] == 0, where
            assert report["overflowX"] <= 0, where
            # The list scrolls in its own pane; Add is above it; the sitting apart.
            assert report["paneOverflowY"] == "auto" and report["paneScrolls"], where
            assert report["addAbovePane"] and report["sittingBelowFloor"], where
            # Next names who is next and what they will do; no raw version id anywhere.
            expected = "Siguiente: San Vicente" if lang == "es" else "Next: Saint Vincent"
            assert expected in report["nextText"], where
            assert "Intervención" in report["nextText"] or "Speech" in report["nextText"], where
            assert "-0" not in report["header"] and "Version" not in report["header"], where
            # The chair sees that the room's screen is taken over by an urgent notice.
            assert "north exit" in chair.text("#preview") or "salida norte" in chair.text(
                "#preview"
            )
            assert chair.page.is_visible("#screen-alert")
            assert not chair.errors


def test_out_of_turn_asks_naming_the_delegation_and_controls_name_their_target(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    busy_plenary(admin)
    chair = open_page("chair", ROOM, "?lang=en")
    chair.wait_live()
    page = chair.page
    panama = page.locator("#queue li", has_text="Panama")
    page.wait_for_function("!document.getElementById('btn-next').disabled", timeout=5000)

    # Accessible names say what each control acts on.
    assert panama.get_by_role("button", name="Remove Panama (PAN) from the list").count() == 1
    assert panama.get_by_role("button", name="Give the floor to Panama (PAN)").count() == 1
    assert page.get_by_role("button", name="End the speech of Guatemala (GTM)").count() == 1
    # Remove is not next to Give the floor.
    actions = panama.locator("button").evaluate_all("bs => bs.map(b => b.dataset.action)")
    assert abs(actions.index("remove") - actions.index("start")) > 1, actions
    # Tab order starts at the floor.
    page.evaluate("() => document.activeElement?.blur()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "btn-next"

    before = room_state(ROOM)["version"]
    panama.get_by_role("button", name="Give the floor to Panama (PAN)").click()
    page.wait_for_selector("#ask[open]")
    assert "Panama" in chair.text("#ask-title"), chair.text("#ask")
    assert "Guatemala" in chair.text("#ask-text")  # whose speech it ends
    page.click("#ask-cancel")
    time.sleep(0.6)
    assert room_state(ROOM)["version"] == before  # cancelled: nothing happened

    panama.get_by_role("button", name="Give the floor to Panama (PAN)").click()
    page.click("#ask-ok")
    page.wait_for_function(
        "document.getElementById('floor-name').textContent.includes('Panama')", timeout=5000
    )
    assert room_state(ROOM)["speakers"]["current"]["delegation"]["code"] == "PAN"
    # A polite live region said who has the floor.
    assert page.get_attribute("#announcer", "aria-live") == "polite"
    assert "Panama (PAN) has the floor" in page.text_content("#announcer")

    # Move to a position by the keyboard.
    canada = page.locator("#queue li", has_text="Canada")
    canada.get_by_role("button", name="Move Canada (CAN) to position…").click()
    page.fill("#ask-position", "1")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#queue li').textContent.includes('Canada')", timeout=5000
    )
    assert room_state(ROOM)["speakers"]["queue"][0]["delegation"]["code"] == "CAN"

    # Drag and drop: the third entry dropped on the first.
    page.drag_and_drop("#queue li:nth-child(3) .drag-handle", "#queue li:first-child")
    page.wait_for_function(
        "document.querySelector('#queue li').textContent.includes('(IDB)')", timeout=5000
    )
    assert room_state(ROOM)["speakers"]["queue"][0]["delegation"]["code"] == "IDB"
    assert not chair.errors


def test_while_disconnected_commands_are_disabled_and_the_reason_clears_on_reconnect(
    open_page: Any, admin: Any, live_server: LiveServer
) -> None:
    busy_plenary(admin)
    chair = open_page("chair", ROOM, "?lang=en")
    chair.wait_live()
    page = chair.page
    page.wait_for_function("!document.getElementById('btn-next').disabled", timeout=5000)

    live_server.stop()
    page.wait_for_selector("#offline:not([hidden])", timeout=8000)
    assert "commands are disabled" in chair.text("#offline")
    assert page.is_disabled("#btn-next") and page.is_disabled("#btn-stop")
    assert page.is_disabled("#queue button[data-action='remove']")

    live_server.start()
    page.wait_for_selector("#offline", state="hidden", timeout=20000)
    page.wait_for_function("!document.getElementById('btn-next').disabled", timeout=5000)
    assert page.is_hidden("#message")
    assert not chair.errors


def test_a_dialog_confirmed_after_another_chairs_change_is_refused_as_stale(
    open_page: Any, admin: Any, room_state: Any
) -> None:
    """Two chairs of one room: what the first confirms in a dialog was asked against the
    list it showed; the second's Next meanwhile makes it stale, never silently applied."""
    busy_plenary(admin)  # Guatemala has the floor, Saint Vincent… next
    first = open_page("chair", ROOM, "?lang=en")
    second = open_page("chair", ROOM, "?lang=en")
    for chair in (first, second):
        chair.wait_live()
        chair.page.wait_for_function(
            "!document.getElementById('btn-next').disabled", timeout=5000
        )
    page = first.page
    panama = page.locator("#queue li", has_text="Panama")
    panama.get_by_role("button", name="Give the floor to Panama (PAN)").click()
    page.wait_for_selector("#ask[open]")
    assert "Guatemala" in first.text("#ask-text")  # the speech it says it ends

    second.page.click("#btn-next")  # meanwhile: Guatemala's speech ends, the next speaks
    after = room_state(ROOM)
    assert after["speakers"]["current"]["delegation"]["code"] == "VCT"
    page.wait_for_function(f"document.body.dataset.version === {after['version']!r}")

    page.click("#ask-ok")
    page.wait_for_function(
        "document.getElementById('message').textContent.includes('changed meanwhile')",
        timeout=5000,
    )
    state = room_state(ROOM)
    assert state["version"] == after["version"]  # nothing done: not the speech it named
    assert state["speakers"]["current"]["delegation"]["code"] == "VCT"

    # The same for a move to a position chosen on the list as it was.
    page.evaluate("document.getElementById('message').hidden = true")
    canada = page.locator("#queue li", has_text="Canada")
    canada.get_by_role("button", name="Move Canada (CAN) to position…").click()
    page.wait_for_selector("#ask[open]")
    page.fill("#ask-position", "1")
    second.page.locator("#queue li", has_text="Mexico").get_by_role(
        "button", name="Remove Mexico (MEX) from the list").click()
    after = room_state(ROOM)
    assert "MEX" not in [e["delegation"]["code"] for e in after["speakers"]["queue"]]
    page.wait_for_function(f"document.body.dataset.version === {after['version']!r}")
    page.click("#ask-ok")
    page.wait_for_function(
        "!document.getElementById('message').hidden"
        " && document.getElementById('message').textContent.includes('changed meanwhile')",
        timeout=5000,
    )
    assert room_state(ROOM)["version"] == after["version"]
    assert not first.errors and not second.errors
