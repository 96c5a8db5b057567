"""Browser fixtures: headless Debian Chromium through Playwright, pages signed in by link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Watched:
    """A page with everything that would betray a script run: dialogs, errors, console."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def wait_live(self, timeout: float = 10_000) -> None:
        self.page.wait_for_function("document.body.dataset.phase === 'live'", timeout=timeout)

    def text(self, selector: str) -> str:
        return str(self.page.locator(selector).inner_text())


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """open_page(role, room, path, viewport=...) -> a Watched page signed in by its access link.

    `path` "" stays where the link lands, "?lang=es" adds a query there, "/x" goes to /x.
    """
    contexts: list[Any] = []

    def open_(role: str, room: str, path: str, viewport: tuple[int, int] = (1280, 900)) -> Watched:
        # bypass_csp: Playwright's polling evaluates strings; it also means the XSS test
        # proves the rendering safe by itself, not only thanks to the page's CSP.
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)

        def on_dialog(dialog: Any) -> None:
            watched.dialogs.append(f"{dialog.type}: {dialog.message}")
            if dialog.type == "confirm":
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: watched.console.append(msg.text) if msg.type == "error" else None,
        )
        page.goto(f"{live_server.url}/access/{live_server.token(role, room)}")
        if path.startswith("?"):  # the landing page, with a query
            page.goto(page.url.split("?")[0] + path)
        elif path:
            page.goto(f"{live_server.url}{path}")
        return watched

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def admin(live_server: LiveServer) -> Any:
    """send(type, **fields) -> the HTTP answer's JSON (asserting 200), as the admin."""
    token = live_server.token("admin")

    def send(type_: str, **fields: Any) -> dict[str, Any]:
        response = live_server.command(token, {"type": type_, **fields})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return send


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def clock_seconds(text: str) -> int:
    """'-1:05' -> -65; '2:30' -> 150."""
    match = re.fullmatch(r"(-?)(?:(\d+):)?(\d+):(\d{2})", text.strip())
    assert match, f"not a clock: {text!r}"
    sign, hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return -total if sign else total


@pytest.fixture
def room_state(live_server: LiveServer) -> Any:
    """room_state(room) -> the RoomState the HTTP API answers now."""
    import requests

    token = live_server.token("admin")

    def read(room: str) -> dict[str, Any]:
        response = requests.get(
            f"{live_server.url}/api/rooms/{room}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return read
