"""A delegation's page on a phone (390×844): request the floor, see its place and the
estimated wait, withdraw, and read the reason the chair gave for declining."""

from __future__ import annotations

from typing import Any

ROOM, SITTING = "plenario", "plenaria"


def test_a_delegation_requests_sees_its_place_withdraws_and_reads_a_decline(
        open_page: Any, admin: Any, room_state: Any, artifacts: Any) -> None:
    admin("session.open", room=ROOM, session_id=SITTING)
    admin("speaker.add", room=ROOM, delegation="PAN")
    admin("speaker.add", room=ROOM, delegation="USA")
    admin("speaker.next", room=ROOM)  # Panama speaks (240 s), the United States waits
    phone = open_page("delegation", "BRB", "?lang=en", viewport=(390, 844))
    page = phone.page
    phone.wait_live()
    page.wait_for_selector("#ask-room option[value='plenario']", state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert "Barbados" in phone.text("#who")
    assert "Panama" in phone.text("#rooms")  # who has the floor
    page.select_option("#ask-room", ROOM)
    page.select_option("#ask-level", "minister")
    page.select_option("#ask-behalf", "CARICOM")
    page.select_option("#ask-language", "en")
    page.fill("#ask-name", "Mia Mottley")
    page.fill("#ask-title", "Prime Minister")
    page.click("#ask-send")
    page.wait_for_selector("#mine li.pending")
    assert "chair" in phone.text("#ask-result")
    request = room_state(ROOM)["speakers"]["requests"][0]
    assert (request["speaker_name"], request["speaker_title"]) == ("Mia Mottley", "Prime Minister")
    request_id = request["request_id"]
    admin("request.accept", room=ROOM, request_id=request_id)
    entry = page.wait_for_selector("#mine li.entry")
    text = entry.inner_text()
    assert "Number 2 on the list" in text, text
    # Behind the rest of Panama's 240 s and the United States' 240 s: about 8 minutes.
    assert "≈ 8 min until your turn" in text or "≈ 7 min until your turn" in text, text
    page.screenshot(path=str(artifacts / "delegation-phone.png"), full_page=True)
    entry_id = entry.get_attribute("data-entry")
    page.get_by_role("button", name="Withdraw: Plenary Hall · Speech").click()
    page.wait_for_selector(f"#mine li[data-entry='{entry_id}']", state="detached")
    assert [e["delegation"]["code"] for e in room_state(ROOM)["speakers"]["queue"]] == ["USA"]
    # Asked again, declined with a reason: the phone shows it.
    page.click("#ask-send")
    page.wait_for_selector("#mine li.pending")
    request_id = room_state(ROOM)["speakers"]["requests"][0]["request_id"]
    admin("request.decline", room=ROOM, request_id=request_id,
          reason={"es": "La lista está completa", "en": "The list is full"})
    page.wait_for_selector("#mine li.declined")
    assert "Reason: The list is full" in phone.text("#mine li.declined")
    assert not phone.errors and not phone.console and not phone.dialogs


def test_a_refusal_and_an_earlier_answer_never_stand_side_by_side(
        open_page: Any, admin: Any) -> None:
    """Asking twice for a speech is refused; a point of order then is taken: each time the
    page says only the newest answer (never "You are on the list" under "Not possible")."""
    admin("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    phone = open_page("delegation", "BRB", "?lang=en", viewport=(390, 844))
    page = phone.page
    phone.wait_live()
    page.wait_for_selector("#ask-room option[value='gt-seguridad']", state="attached")
    page.select_option("#ask-room", "gt-seguridad")
    page.click("#ask-send")
    page.wait_for_selector("#mine li.entry")
    assert "on the list" in phone.text("#ask-result")
    page.click("#ask-send")  # a speech again: refused
    page.wait_for_selector("#message:not([hidden])")
    assert page.locator("#ask-result").is_hidden()
    page.select_option("#ask-kind", "point_of_order")
    page.click("#ask-send")
    page.wait_for_selector("#ask-result:not([hidden])")
    assert "on the list" in phone.text("#ask-result")
    assert page.locator("#message").is_hidden()
    assert not phone.errors and not phone.console and not phone.dialogs


def test_a_withdrawal_is_said_as_done_not_as_an_error(open_page: Any, admin: Any) -> None:
    admin("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    admin("speaker.add", room="gt-seguridad", delegation="BRB")
    phone = open_page("delegation", "BRB", "?lang=en", viewport=(390, 844))
    page = phone.page
    phone.wait_live()
    withdraw = "Withdraw: Working group: Security and justice · Speech"
    page.get_by_role("button", name=withdraw).click()
    page.wait_for_selector("#mine li.entry", state="detached")
    page.wait_for_selector("#message:not([hidden])")
    assert page.get_attribute("#message", "data-kind") == "ok"
    assert "Withdrawn" in phone.text("#message") or "withdrawn" in phone.text("#message")
    assert not phone.errors and not phone.console and not phone.dialogs


def test_a_revoked_link_s_request_says_the_access_is_gone_not_to_wait(
        open_page: Any, live_server: Any) -> None:
    import requests

    admin_token = live_server.token("admin")
    phone = open_page("delegation", "BRB", "?lang=en", viewport=(390, 844))
    page = phone.page
    phone.wait_live()
    answer = requests.post(f"{live_server.url}/api/access/revoke",
                           json={"role": "delegation", "room": "BRB"},
                           headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    page.wait_for_function("document.body.dataset.phase === 'denied'", timeout=10_000)
    page.click("#ask-send")
    page.wait_for_selector("#message:not([hidden])")
    said = phone.text("#message")
    assert "access" in said and "Wait for the connection" not in said, said


def test_a_request_states_no_language_unless_one_is_chosen(
        open_page: Any, admin: Any, room_state: Any) -> None:
    """The minutes record the language of a statement: the form must not put Spanish there
    for a delegation that never said which."""
    admin("session.open", room=ROOM, session_id=SITTING)
    phone = open_page("delegation", "BRA", "?lang=en")
    page = phone.page
    phone.wait_live()
    page.wait_for_selector("#ask-room option[value='plenario']", state="attached")
    page.select_option("#ask-room", ROOM)
    page.click("#ask-send")
    page.wait_for_selector("#mine li")
    request = room_state(ROOM)["speakers"]["requests"][0]
    assert request["language"] is None, request
    page.select_option("#ask-language", "pt")
    page.select_option("#ask-kind", "point_of_order")
    page.click("#ask-send")
    page.wait_for_function(
        "document.querySelectorAll('#mine li').length === 2", timeout=5000)
    languages = {r["kind"]: r["language"] for r in room_state(ROOM)["speakers"]["requests"]}
    assert languages == {"speech": None, "point_of_order": "pt"}, languages
    assert not phone.errors
