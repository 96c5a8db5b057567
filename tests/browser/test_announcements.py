"""The staff desk reaches exactly the screens it targets; user text is only ever text."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOM, OTHER = "plenario", "gt-seguridad"
XSS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'onerror'; alert('onerror')\">",
    "<a href=\"javascript:window.__pwned = 'href'\">javascript: link</a>",
    "\"><svg onload=alert('svg')>",
    "<iframe srcdoc=\"<script>parent.__pwned = 'iframe'</script>\"></iframe>",
]
PAYLOAD = " ".join(XSS)


def post_from_desk(staff: Any, es: str, en: str, *, urgent: bool = False, rooms: list[str]) -> None:
    page = staff.page
    page.fill("#text-es", es)
    page.fill("#text-en", en)
    page.check(
        'input[name="level"][value="urgent"]' if urgent else 'input[name="level"][value="info"]'
    )
    page.check('input[name="target"][value="rooms"]')
    for box in page.query_selector_all('input[name="room"]'):
        box.set_checked(box.get_attribute("value") in rooms)
    page.click("#btn-post")
    if urgent:  # asked first, and confirmed
        page.click("#confirm-urgent[open] #urgent-ok")
    page.wait_for_function(
        f"document.getElementById('active').textContent.includes({en!r})", timeout=5000
    )


def test_a_targeted_announcement_shows_on_its_room_only_urgent_takes_over_retract_removes(
    open_page: Any,
) -> None:
    here = open_page("screen", ROOM, "", viewport=(1920, 1080))
    there = open_page("screen", OTHER, "", viewport=(1920, 1080))
    staff = open_page("staff", "*", "")
    for page in (here, there, staff):
        page.wait_live()

    post_from_desk(staff, "Café en el vestíbulo", "Coffee in the lobby", rooms=[ROOM])
    here.page.wait_for_function(
        "document.getElementById('info-band').textContent.includes('Coffee in the lobby')",
        timeout=5000,
    )
    assert "Café en el vestíbulo" in here.text("#info-band")
    assert here.page.is_hidden("#urgent")

    post_from_desk(
        staff,
        "Evacúen la sala por la salida norte",
        "Leave the room by the north exit",
        urgent=True,
        rooms=[ROOM],
    )
    here.page.wait_for_selector("#urgent:not([hidden])", timeout=5000)
    takeover = here.page.locator("#urgent")
    assert "Leave the room by the north exit" in takeover.inner_text()
    box = takeover.bounding_box()
    assert box and box["width"] >= 1900 and box["height"] >= 1000  # the whole screen

    time.sleep(0.5)  # the other room's screen had every chance to show them
    assert there.page.is_hidden("#urgent")
    assert "Coffee" not in there.page.locator("body").inner_text()

    staff.page.click("#active li:has-text('Leave the room by the north exit') button[data-retract]")
    here.page.wait_for_selector("#urgent", state="hidden", timeout=5000)
    assert "Coffee in the lobby" in here.text("#info-band")
    assert [d for d in staff.dialogs if d.startswith("confirm:")], staff.dialogs
    for page in (here, there, staff):
        assert not page.errors


def test_the_desk_targets_nothing_by_default_asks_before_urgent_and_resets_to_info(
    open_page: Any, admin: Any, artifacts: Path
) -> None:
    admin("session.open", room=ROOM, session_id="plenaria")
    staff = open_page("staff", "*", "?lang=es", viewport=(1366, 900))
    staff.wait_live()
    page = staff.page
    page.wait_for_selector('input[name="room"]')
    page.wait_for_function("!document.getElementById('btn-post').disabled", timeout=5000)
    # Nothing targeted until the desk chooses; info is the level.
    assert page.evaluate("document.querySelector('input[name=\"target\"]:checked')") is None
    assert page.is_checked('input[name="level"][value="info"]')
    page.screenshot(path=str(artifacts / "staff-1366x900-es.png"), full_page=True)

    # A template fills both texts; its [brackets] must be replaced before posting.
    page.select_option("#template", "resumes")
    assert "[hora]" in page.input_value("#text-es") and "[time]" in page.input_value("#text-en")
    page.check('input[name="target"][value="venue"]')
    page.select_option("#target-venue", "palacio-bolivar")
    page.click("#btn-post")
    page.wait_for_selector("#message:not([hidden])")
    assert "[" in staff.text("#message")  # says what to fix
    page.fill("#text-es", "La sesión se reanuda a las 16:30.")
    page.fill("#text-en", "The sitting resumes at 16:30.")
    page.check('input[name="level"][value="urgent"]')
    page.check('input[name="expiry"][value="1h"]')
    assert "Se oculta" in staff.text("#expiry-says"), staff.text("#expiry-says")

    # Urgent: a confirmation that summarises it, with a screen showing it.
    page.click("#btn-post")
    page.wait_for_selector("#confirm-urgent[open]")
    summary = staff.text("#urgent-summary")
    assert summary.startswith("URGENTE") and "2 salas" in summary, summary
    assert "Salón Plenario" in summary and "Cancillerías" in summary, summary
    assert "16:30" in staff.text("#urgent-preview")
    page.screenshot(path=str(artifacts / "staff-urgent-confirm-1366x900-es.png"))
    page.click("#urgent-cancel")  # going back posts nothing and keeps the form
    assert page.is_checked('input[name="level"][value="urgent"]')
    page.click("#btn-post")
    page.click("#confirm-urgent[open] #urgent-ok")

    # Posted: the form is back to info with nothing targeted; the word is next to the button.
    page.wait_for_selector("#post-result:not([hidden])", timeout=5000)
    assert "2 salas" in staff.text("#post-result")
    assert page.is_checked('input[name="level"][value="info"]')
    assert page.evaluate("document.querySelector('input[name=\"target\"]:checked')") is None
    assert page.input_value("#text-es") == ""
    result = page.locator("#post-result").bounding_box()
    button = page.locator("#btn-post").bounding_box()
    assert result and button and abs(result["y"] - button["y"]) < 60  # beside it, not at the top
    page.wait_for_function(
        "document.getElementById('active').textContent.includes('16:30')", timeout=5000
    )
    assert not staff.errors


def test_xss_payloads_show_as_literal_text_and_run_nothing(open_page: Any, admin: Any) -> None:
    admin("session.open", room=ROOM, session_id="plenaria")
    admin("speaker.add", room=ROOM, delegation="PAN", speaker_name=XSS[1])
    admin("speaker.add", room=ROOM, delegation="USA", speaker_name=XSS[0][:120])
    admin("speaker.next", room=ROOM)
    pages = [
        open_page("screen", ROOM, "", viewport=(1920, 1080)),
        open_page("screen", "*", ""),
        open_page("chair", ROOM, ""),
        open_page("staff", "*", ""),
    ]
    for page in pages:
        page.wait_live()
    admin("announcement.post", text={"es": PAYLOAD, "en": PAYLOAD}, level="info", rooms=["*"])
    admin("announcement.post", text={"es": XSS[1], "en": XSS[3]}, level="urgent", rooms=[ROOM])
    screen, overview, chair, staff = pages
    screen.page.wait_for_selector("#urgent:not([hidden])", timeout=5000)
    assert XSS[1] in screen.text("#urgent")
    overview.page.wait_for_function(
        "document.getElementById('announcements').textContent.includes('onerror')", timeout=5000
    )
    staff.page.wait_for_function(
        "document.getElementById('active').textContent.includes('<script>')", timeout=5000
    )
    assert PAYLOAD in staff.text("#active")
    assert XSS[1] in chair.text("#floor-detail")  # the speaker's name, as typed
    assert XSS[0][:120] in chair.text("#queue")
    time.sleep(0.5)

    for page in pages:
        injected = page.page.evaluate(
            """() => ({
                pwned: window.__pwned ?? null,
                nodes: document.querySelectorAll(
                    'main img, main iframe, main svg, main a[href^="javascript"], '
                    + '#urgent img, #urgent svg, #announcements img, '
                    + 'body script:not([src]):not([type])'
                ).length,
            })"""
        )
        assert injected == {"pwned": None, "nodes": 0}, (page.page.url, injected)
        assert page.dialogs == [], page.dialogs
        assert page.errors == [], page.errors


def test_one_chosen_room_is_said_in_the_singular_in_both_languages(open_page: Any) -> None:
    for lang, one, urgent_one in (("es", "1 sala:", "1 sala:"), ("en", "1 room:", "1 room:")):
        staff = open_page("staff", "*", f"?lang={lang}", viewport=(1366, 900))
        staff.wait_live()
        page = staff.page
        page.wait_for_selector('input[name="room"]')
        page.fill("#text-es", f"Almuerzo {lang}")
        page.fill("#text-en", f"Lunch {lang}")
        page.check('input[name="level"][value="urgent"]')
        page.check('input[name="target"][value="rooms"]')
        page.check(f'input[name="room"][value="{OTHER}"]')
        page.click("#btn-post")
        page.wait_for_selector("#confirm-urgent[open]")
        assert urgent_one in staff.text("#urgent-summary"), staff.text("#urgent-summary")
        page.click("#confirm-urgent[open] #urgent-ok")
        page.wait_for_selector("#post-result:not([hidden])", timeout=5000)
        said = staff.text("#post-result")
        assert one in said and "1 salas" not in said and "1 rooms" not in said, said
        assert not staff.errors


def test_the_overview_says_where_a_targeted_announcement_applies(
        open_page: Any, admin: Any) -> None:
    """The lobby's overview shows every room's announcements, but one meant for some rooms
    only is named with them and never takes the overview over as if it were for all."""
    overview = open_page("screen", "*", "?lang=en", viewport=(1920, 1080))
    overview.wait_live()
    admin("announcement.post", text={"es": "Para todos", "en": "For everyone"},
          level="info", rooms=["*"])
    admin("announcement.post", text={"es": "Solo el plenario", "en": "Plenary only"},
          level="urgent", rooms=[ROOM])
    overview.page.wait_for_function(
        "document.getElementById('announcements').textContent.includes('Plenary only')",
        timeout=5000)
    box = overview.page.locator("#announcements")
    assert box.locator(".o-urgent").count() == 0, overview.text("#announcements")
    targeted = box.locator(".i-item", has_text="Plenary only")
    assert "Plenary" in targeted.locator(".a-where").inner_text()
    assert box.locator(".i-item", has_text="For everyone").locator(".a-where").count() == 0

    admin("announcement.post", text={"es": "Alerta general", "en": "General alert"},
          level="urgent", rooms=["*"])
    overview.page.wait_for_selector("#announcements .o-urgent", timeout=5000)
    assert "General alert" in overview.text("#announcements .o-urgent")
    assert "Plenary only" not in overview.text("#announcements .o-urgent")
    assert not overview.errors
