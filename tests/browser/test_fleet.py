"""The fleet page: every screen listed with its room and version; identify, rename, status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SECRET
from tests.support import LiveServer, free_port

PLENARY, GROUP = "plenario", "gt-seguridad"


@pytest.fixture
def live_server(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose fleet calls a page silent after 7 s (its heartbeat: 5 s) and forgets
    a gone one after 6 s."""
    server = LiveServer(
        port=free_port(), data_dir=tmp_path / "node",
        env={"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
             "PLENARY_FLEET_SILENT_S": "7", "PLENARY_FLEET_GONE_KEEP_S": "6"},
    )
    server.start()
    yield server
    server.stop()


def screens(live_server: LiveServer) -> list[dict[str, Any]]:
    response = requests.get(f"{live_server.url}/api/screens", timeout=10, headers={
        "Authorization": f"Bearer {live_server.token('admin')}"})
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def screen_id(page: Any, kind: str = "screen") -> str:
    return str(page.page.evaluate(f"localStorage.getItem('plenary.screen_id.{kind}')"))


def row(fleet: Any, sid: str) -> Any:
    return fleet.page.locator(f"tr[data-screen='{sid}']")


def version_shown(fleet: Any, sid: str, version: str) -> None:
    """Wait (10 s at most) until the fleet page shows `version` in that screen's row."""
    fleet.page.wait_for_function(
        f"document.querySelector(\"tr[data-screen='{sid}'] .fleet-version\")"
        f".textContent === '{version}'", timeout=10_000)


def test_screens_of_two_rooms_show_on_the_fleet_page_with_their_rooms_and_versions(
        open_page: Any, admin: Any, live_server: LiveServer) -> None:
    admin("session.open", room=GROUP, session_id="gt-seguridad-1")
    version = admin("speaker.add", room=GROUP, delegation="PAN")["version"]
    left = open_page("screen", PLENARY, "", viewport=(1280, 720))
    right = open_page("screen", PLENARY, "", viewport=(1024, 768))
    group = open_page("screen", GROUP, "?lang=en", viewport=(800, 600))
    for page in (left, right, group):
        page.wait_live()
    fleet = open_page("admin", "*", "/admin/screens")
    ids = {name: screen_id(p) for name, p in (("left", left), ("right", right), ("group", group))}
    assert len(set(ids.values())) == 3
    for sid in ids.values():
        fleet.page.wait_for_selector(f"tr[data-screen='{sid}'][data-status='live']", timeout=10_000)
    assert row(fleet, ids["left"]).get_attribute("data-room") == PLENARY
    assert row(fleet, ids["group"]).get_attribute("data-room") == GROUP
    # A row is live from the page's hello; the version it shows comes with its first report
    # of what it drew, which may reach the fleet page a moment later.
    version_shown(fleet, ids["group"], version)
    assert row(fleet, ids["group"]).locator(".fleet-lang-shown").inner_text() == "en"
    assert row(fleet, ids["right"]).locator(".fleet-viewport").inner_text() == "1024×768"
    counts = fleet.text("#counts")
    assert "2" in counts and "1" in counts

    # A change in the group's room: its screen shows the new version, the others keep theirs.
    newer = admin("speaker.add", room=GROUP, delegation="USA")["version"]
    version_shown(fleet, ids["group"], newer)
    listed = {s["screen_id"]: s for s in screens(live_server)}
    assert listed[ids["group"]]["room_version"] == newer
    assert listed[ids["left"]]["room_version"] == listed[ids["left"]]["version_shown"]
    assert {listed[i]["status"] for i in ids.values()} == {"live"}
    assert not (left.errors or right.errors or group.errors or fleet.errors)


def test_identify_shows_the_name_on_that_screen_only_and_a_name_survives_a_reload(
        open_page: Any, live_server: LiveServer) -> None:
    left = open_page("screen", PLENARY, "")
    right = open_page("screen", PLENARY, "")
    left.wait_live()
    right.wait_live()
    fleet = open_page("admin", "*", "/admin/screens")
    sid = screen_id(left)
    target = row(fleet, sid)
    target.wait_for(timeout=10_000)
    # opened with the plenary's screen link: its move menu offers that room only
    options = target.locator(".fleet-room option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["", PLENARY]
    target.locator("input[name=name]").fill("Plenario — pantalla izquierda")
    target.locator(".fleet-do-rename").click()
    fleet.page.wait_for_function(
        f"document.querySelector(\"tr[data-screen='{sid}'] .fleet-name\")?.textContent"
        " === 'Plenario — pantalla izquierda'", timeout=10_000)
    row(fleet, sid).locator(".fleet-identify").click()
    left.page.wait_for_selector("#identify .identify-name", timeout=5000)
    assert left.text("#identify .identify-name") == "Plenario — pantalla izquierda"
    number = left.text("#identify .identify-number")
    assert number == row(fleet, sid).locator(".fleet-number").inner_text()
    assert int(number) >= 10
    right.page.wait_for_timeout(500)
    assert right.page.locator("#identify").count() == 0

    left.page.reload()
    left.wait_live()
    assert screen_id(left) == sid  # the same screen, by its stable id
    listed = {s["screen_id"]: s for s in screens(live_server)}
    assert listed[sid]["name"] == "Plenario — pantalla izquierda"
    assert left.page.evaluate(f"localStorage.getItem('plenary.screen_name.{sid}')") == (
        "Plenario — pantalla izquierda")


def test_reload_reloads_that_screen_only(open_page: Any) -> None:
    left = open_page("screen", PLENARY, "")
    right = open_page("screen", PLENARY, "")
    left.wait_live()
    right.wait_live()
    for page in (left, right):
        page.page.evaluate("window.__sameDocument = true")
    fleet = open_page("admin", "*", "/admin/screens")
    sid = screen_id(left)
    row(fleet, sid).wait_for(timeout=10_000)
    row(fleet, sid).locator(".fleet-reload").click()
    left.page.wait_for_function("window.__sameDocument !== true", timeout=10_000)
    left.wait_live()
    assert right.page.evaluate("window.__sameDocument") is True


def test_a_screen_whose_socket_is_cut_turns_silent_then_gone(
        open_page: Any, live_server: LiveServer) -> None:
    cut = open_page("screen", PLENARY, "")
    cut.wait_live()
    sid = screen_id(cut)
    fleet = open_page("admin", "*", "/admin/screens")
    fleet.page.wait_for_selector(f"tr[data-screen='{sid}'][data-status='live']", timeout=10_000)
    # Frozen: the page's scripts stop (no heartbeat), its socket still open.
    client = cut.page.context.new_cdp_session(cut.page)
    client.send("Debugger.enable")
    client.send("Debugger.pause")
    fleet.page.wait_for_selector(f"tr[data-screen='{sid}'][data-status='silent']", timeout=15_000)
    cut.page.close()  # the socket closes
    fleet.page.wait_for_selector(f"tr[data-screen='{sid}'][data-status='gone']", timeout=60_000)
    fleet.page.wait_for_selector(f"tr[data-screen='{sid}']", state="detached", timeout=20_000)


def test_two_displays_of_one_computer_are_two_screens(
        open_page: Any, live_server: LiveServer) -> None:
    """One browser (one localStorage) driving two displays: each window opened with its
    `display` slot through the access link is a screen of its own, and stays so on reload."""
    left = open_page("screen", PLENARY, "")
    link = f"{live_server.url}/access/{live_server.token('screen', PLENARY)}"
    left.page.goto(f"{link}?display=1&lang=es")
    assert left.page.url.endswith(f"/screen/{PLENARY}?lang=es&display=1")
    right_page = left.page.context.new_page()  # the same browser profile
    right_page.goto(f"{link}?display=2")
    right = type(left)(right_page)
    left.wait_live()
    right.wait_live()
    ids = right_page.evaluate(
        "[localStorage.getItem('plenary.screen_id.screen.1'),"
        " localStorage.getItem('plenary.screen_id.screen.2')]")
    assert all(ids) and ids[0] != ids[1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = {s["screen_id"] for s in screens(live_server)}
        if set(ids) <= listed:
            break
        time.sleep(0.3)
    assert set(ids) <= listed
    right_page.reload()
    right.wait_live()
    assert right_page.evaluate("localStorage.getItem('plenary.screen_id.screen.2')") == ids[1]
    left.page.goto(f"{link}?display=..%2F")  # a slot that is not one: the plain screen id
    left.wait_live()
    assert "display" not in left.page.url


def test_the_fleet_page_keeps_the_keyboard_focus_across_its_refreshes(
        open_page: Any) -> None:
    """The page reads the fleet every 2 s: a control reached by Tab keeps the focus (and an
    open menu stays open), so Enter then acts on that screen."""
    screen = open_page("screen", PLENARY, "")
    screen.wait_live()
    sid = screen_id(screen)
    fleet = open_page("admin", "*", "/admin/screens")
    row(fleet, sid).wait_for(timeout=10_000)
    row(fleet, sid).locator(".fleet-reload").focus()
    fleet.page.keyboard.press("Shift+Tab")  # to Identify, by the keyboard
    focused = "document.activeElement?.closest('tr')?.dataset.screen + ' ' +" \
              " document.activeElement?.className"
    assert fleet.page.evaluate(focused) == f"{sid} fleet-identify"
    fleet.page.wait_for_timeout(4500)  # two refreshes
    assert fleet.page.evaluate(focused) == f"{sid} fleet-identify"
    fleet.page.keyboard.press("Enter")
    screen.page.wait_for_selector("#identify .identify-number", timeout=5000)
    assert not (fleet.errors or screen.errors)


def test_the_fleet_table_breaks_no_number_time_or_version_at_a_laptop_width(
        open_page: Any, admin: Any) -> None:
    """At 1366×768 with an 80-character name, the short cells (number, kind, viewport,
    times, versions, status) each stay on one line, and the page does not scroll sideways."""
    admin("session.open", room=PLENARY, session_id="plenaria")
    admin("speaker.add", room=PLENARY, delegation="PAN")
    screen = open_page("screen", PLENARY, "")
    screen.wait_live()
    sid = screen_id(screen)
    fleet = open_page("admin", "*", "/admin/screens", viewport=(1366, 768))
    row(fleet, sid).wait_for(timeout=10_000)
    row(fleet, sid).locator("input[name=name]").fill("Ｗ" * 80)
    row(fleet, sid).locator(".fleet-do-rename").click()
    fleet.page.wait_for_function(
        f"document.querySelector(\"tr[data-screen='{sid}'] .fleet-name\")"
        f".textContent === '{'Ｗ' * 80}'", timeout=10_000)
    lines = row(fleet, sid).locator("td:not(.fleet-name, .fleet-room-name, .fleet-actions)"
                                    ).evaluate_all("""cells => cells.map((td) => {
        const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        const tops = new Set();
        for (let text = walker.nextNode(); text; text = walker.nextNode()) {
          const range = document.createRange();
          range.selectNodeContents(text);
          for (const r of range.getClientRects()) tops.add(Math.round(r.top));
        }
        return [td.textContent, tops.size];
    })""")
    assert all(n == 1 for _, n in lines), [c for c in lines if c[1] != 1]
    assert fleet.page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"), "scrolls sideways"
    assert not fleet.errors


def test_with_no_screen_the_fleet_page_says_so_and_counts_only_displays(
        open_page: Any) -> None:
    """The operator's own page and consoles are listed, but the counts at the top are of
    the displays in the rooms; with none, the page says how one is added."""
    fleet = open_page("admin", "*", "/admin/screens")
    chair = open_page("chair", PLENARY, "")
    fleet.page.wait_for_selector("tr[data-kind='chair']", timeout=10_000)
    fleet.page.wait_for_selector("#empty:not([hidden])", timeout=5_000)
    assert fleet.text("#counts") == ""
    assert "screen link" in fleet.text("#empty")

    screen = open_page("screen", PLENARY, "")
    screen.wait_live()
    fleet.page.wait_for_selector(f"#counts [data-room='{PLENARY}']", timeout=10_000)
    assert fleet.page.locator("#empty").is_hidden()
    assert fleet.page.locator("#counts li").count() == 1
    assert fleet.page.locator(f"#counts [data-room='{PLENARY}']").inner_text().endswith("1")
    # Its language menu names the languages, not their codes.
    menu = row(fleet, screen_id(screen)).locator("select.fleet-lang option")
    assert menu.all_inner_texts()[1:] == ["Both languages", "Español", "English"]
    assert not (fleet.errors or chair.errors or screen.errors)


def test_the_kind_of_each_page_is_named_in_the_page_s_language(open_page: Any) -> None:
    """The Kind column says what a page is in words, Spanish or English, not its code."""
    screen = open_page("screen", PLENARY, "")
    podium = open_page("screen", PLENARY, f"/podium/{PLENARY}")
    for page in (screen, podium):
        page.wait_live()
    fleet = open_page("admin", "*", "/admin/screens?lang=es")
    kind = row(fleet, screen_id(screen)).locator(".fleet-kind")
    kind.wait_for(timeout=10_000)
    assert kind.inner_text() == "Pantalla"
    assert row(fleet, screen_id(podium, "podium")).locator(".fleet-kind").inner_text() \
        == "Atril"
    own = fleet.page.locator("tr[data-kind='fleet'] .fleet-kind")
    own.first.wait_for(timeout=10_000)
    assert own.first.inner_text() == "Esta página"
    fleet.page.goto(fleet.page.url.replace("lang=es", "lang=en"))
    kind = row(fleet, screen_id(screen)).locator(".fleet-kind")
    kind.wait_for(timeout=10_000)
    assert kind.inner_text() == "Screen"
    assert not (fleet.errors or screen.errors or podium.errors)


def test_an_overview_s_first_report_is_the_newest_of_its_rooms(
        open_page: Any, admin: Any, live_server: LiveServer) -> None:
    """An overview gets every room's state in one answer: its first report says the newest
    of them, not its first room's, so a lobby just plugged in is not listed behind."""
    room_version = admin("podium.message", room="gt-desarrollo", preset="conclude")["version"]
    time.sleep(5.5)  # past the 5 s after which a page showing an older version is behind
    overview = open_page("screen", "*", "/overview")
    sid = screen_id(overview, "overview")
    first = None
    deadline = time.time() + 3.5  # before its second report (4-5 s)
    while first is None and time.time() < deadline:
        listed = {s["screen_id"]: s for s in screens(live_server)}
        if listed.get(sid, {}).get("version_shown"):
            first = listed[sid]
        time.sleep(0.2)
    assert first is not None
    assert first["version_shown"] == first["room_version"] == room_version
    assert first["status"] == "live"
    assert not overview.errors
