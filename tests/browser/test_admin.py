"""The access links page: a QR code per link, and revoking a link from it."""

from __future__ import annotations

from typing import Any

ROOM = "plenario"


def test_revoking_a_screen_link_from_the_admin_page_signs_that_screen_out(
    open_page: Any, live_server: Any
) -> None:
    screen = open_page("screen", ROOM, "")
    screen.wait_live()
    old_token = live_server.token("screen", ROOM)

    page = open_page("admin", "*", "/admin?lang=en").page
    card = page.locator(".link-card", has=page.locator(f'[data-role="screen"][data-room="{ROOM}"]'))
    assert old_token in card.locator(".link-url").text_content()
    assert card.locator("svg").count() == 1  # its QR code
    card.locator(".link-revoke").click()  # the confirm dialog is accepted by the fixture
    page.wait_for_function(
        f"!document.querySelector('[data-room=\"{ROOM}\"][data-role=\"screen\"]')"
        f".closest('.link-card').textContent.includes({old_token!r})",
        timeout=10_000,
    )
    # The screen opened with the old link loses its access, without a reload.
    screen.page.wait_for_selector("#conn[data-phase='denied']", timeout=5_000)
    new_url = card.locator(".link-url").text_content().strip()
    assert new_url.startswith(live_server.url) and old_token not in new_url
