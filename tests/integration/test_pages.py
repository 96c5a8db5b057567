"""The HTML pages: who may open which, what a browser without access sees, languages, headers."""

from __future__ import annotations

import re
from typing import Any

import pytest

PAGES = ["/screen/plenario", "/overview", "/chair/", "/chair/plenario", "/staff", "/admin"]


def signed_in(client: Any, token: str) -> Any:
    client.set_cookie("plenary_session", token)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_a_page_opened_without_access_explains_what_to_do_in_both_languages(
    client: Any, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "access link" in html and "enlace de acceso" in html
    assert "secretariat" in html and "secretaría" in html


@pytest.mark.parametrize(
    ("role", "room", "path", "status"),
    [
        ("screen", "plenario", "/screen/plenario", 200),
        ("screen", "plenario", "/screen/gt-seguridad", 403),
        ("screen", "plenario", "/overview", 403),
        ("screen", "*", "/overview", 200),
        ("chair", "plenario", "/chair/plenario", 200),
        ("chair", "plenario", "/chair/gt-seguridad", 403),
        ("chair", "*", "/chair/", 200),
        ("chair", "plenario", "/staff", 403),
        ("staff", "*", "/staff", 200),
        ("staff", "*", "/admin", 403),
        ("admin", "*", "/admin", 200),
        ("admin", "*", "/chair/gt-seguridad", 200),
    ],
)
def test_each_role_opens_its_pages_only(
    client: Any, token: Any, role: str, room: str, path: str, status: int
) -> None:
    assert signed_in(client, token(role, room)).get(path).status_code == status


@pytest.mark.parametrize("path", ["/screen/nope", "/podium/nope", "/chyron/nope",
                                  "/chair/nope", "/screen/PLENARIO"])
def test_a_page_of_a_room_the_meeting_does_not_have_says_so(
    client: Any, token: Any, path: str
) -> None:
    """A mistyped address, with a link for every room: a 404 saying so in both languages,
    not a page that waits for a state that never comes; the API says it the same way."""
    for role in ("admin", "screen", "chair"):
        response = signed_in(client, token(role, "*")).get(path)
        if role == "screen" and path.startswith("/chair/"):
            assert response.status_code == 403
            continue
        assert response.status_code == 404, (role, path)
        html = response.get_data(as_text=True)
        assert "no room at this address" in html and "ninguna sala en esta dirección" in html
    admin = {"Authorization": f"Bearer {token('admin', '*')}"}
    answer = client.get("/api/rooms/nope", headers=admin)
    assert answer.status_code == 404
    assert answer.json["error"] == {
        "code": "not_found", "message": "no room 'nope' in this meeting", "field": "room"}


def test_pages_forbid_inline_script_and_framing(client: Any, token: Any) -> None:
    response = signed_in(client, token("screen", "plenario")).get("/screen/plenario")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert inline == []


def test_the_admin_page_has_a_qr_code_for_every_access_link(client: Any, token: Any) -> None:
    from dashboard.web.access import access_links

    html = signed_in(client, token("admin")).get("/admin").get_data(as_text=True)
    with client.application.test_request_context("/"):
        links = access_links()  # from PLENARY_BASE_URL or the address served
    assert len(re.findall(r'<svg [^>]*class="qr"', html)) == len(links) > 8
    for link in links:
        assert link["url"] in html


def test_interface_language_follows_the_browser_then_the_choice(client: Any, token: Any) -> None:
    signed_in(client, token("chair", "plenario"))
    spanish = client.get("/chair/plenario", headers={"Accept-Language": "es-PA,es;q=0.9"})
    assert "Siguiente orador" in spanish.get_data(as_text=True)
    english = client.get("/chair/plenario?lang=en", headers={"Accept-Language": "es"})
    assert "Next speaker" in english.get_data(as_text=True)
    kept = client.get("/chair/plenario", headers={"Accept-Language": "es"})
    assert "Next speaker" in kept.get_data(as_text=True)  # the choice is remembered
