"""A list prepared the evening before shows on the room's screen before the sitting opens,
with each statement's group and language; the chair accepts a delegation's request."""

from __future__ import annotations

from typing import Any

ROOM, SITTING = "plenario", "plenaria"


def test_the_prepared_list_is_on_the_screen_before_the_sitting_opens(
        open_page: Any, admin: Any, live_server: Any) -> None:
    admin("speaker.add", room=ROOM, delegation="PAN", session_id=SITTING,
          level="head_of_delegation")
    admin("speaker.add", room=ROOM, delegation="BRB", session_id=SITTING, level="minister",
          on_behalf_of="CARICOM", language="en")
    admin("speaker.add", room=ROOM, delegation="BRA", session_id=SITTING, level="minister",
          language="pt")
    admin("list.order", room=ROOM, by="protocol", session_id=SITTING)
    screen = open_page("screen", ROOM, "", viewport=(1920, 1080))
    screen.wait_live()
    page = screen.page
    page.wait_for_function("document.querySelectorAll('#queue li').length === 3")
    rows = [li.inner_text() for li in page.locator("#queue li").all()]
    assert "Barbados" in rows[0] and "on behalf of Caribbean Community (CARICOM)" in rows[0]
    assert "en nombre de" in rows[0] and "speaks English" in rows[0]
    assert "Brasil" in rows[1] and "habla en portugués" in rows[1]
    assert "speaks Portuguese" in rows[1]
    assert "Panamá" in rows[2]
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.next", room=ROOM)
    page.wait_for_function("document.getElementById('floor-name').textContent.includes('Barbados')")
    assert "on behalf of" in screen.text("#floor-detail")
    # The chair's console says it too, beside the name with the floor.
    chair = open_page("chair", ROOM, "?lang=en")
    chair.wait_live()
    chair.page.wait_for_function(
        "document.getElementById('floor-name').textContent.includes('Barbados')")
    detail = chair.text("#floor-detail")
    assert "on behalf of Caribbean Community (CARICOM)" in detail and "speaks English" in detail
    assert not screen.errors and not screen.console
    assert not chair.errors and not chair.console


def test_the_chair_accepts_a_request_and_sees_time_and_forecast(
        open_page: Any, admin: Any, live_server: Any, room_state: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("request.submit", room=ROOM, delegation="HTI", language="fr")
    chair = open_page("chair", ROOM, "?lang=en")
    chair.wait_live()
    page = chair.page
    page.wait_for_selector("#desk-requests li")
    assert "Haiti" in chair.text("#desk-requests") and "speaks French" in chair.text(
        "#desk-requests")
    page.get_by_role("button", name="Accept the request of Haiti").click()
    page.wait_for_selector("#desk-requests li", state="detached")
    assert [e["delegation"]["code"] for e in room_state(ROOM)["speakers"]["queue"]] == ["HTI"]
    assert "List ends ≈" in chair.text("#desk-forecast")
    screen = open_page("screen", ROOM, "", viewport=(1920, 1080))
    overview = open_page("screen", "*", "", viewport=(1920, 1080))
    screen.wait_live()
    overview.wait_live()
    page.select_option("#desk-item", "informes")
    # The item the chair moved to, on the room's screen and the lobby overview, both languages.
    screen.page.wait_for_function(
        "document.getElementById('sitting-title').textContent.includes('Informes')")
    overview.page.wait_for_selector(f'.o-card[data-room="{ROOM}"] .o-item')
    for text in (screen.text("#sitting-title"),
                 overview.text(f'.o-card[data-room="{ROOM}"] .o-item')):
        assert "Informes de los grupos de trabajo" in text, text
        assert "Reports of the working groups" in text, text
    admin("speaker.next", room=ROOM)
    page.wait_for_selector("#desk-totals tr")
    assert "Haiti" in chair.text("#desk-totals")
    assert room_state(ROOM)["session"]["item"]["id"] == "informes"
    assert not chair.errors and not chair.console
