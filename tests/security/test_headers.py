"""Every response carries the security headers: pages, API, static files, errors, the
command route ahead of Flask, refusals."""

from __future__ import annotations

import pytest

from dashboard.web.headers import SECURITY_HEADERS

EXPECTED = dict(SECURITY_HEADERS)


def assert_secured(response, what: str) -> None:
    response.close()  # a static file's is open until then
    for name, value in EXPECTED.items():
        got = response.headers.get(name)
        assert got == value, f"{what}: {name} is {got!r}"


def test_every_route_of_the_app_carries_the_headers(app, client, token):
    admin = {"Authorization": f"Bearer {token('admin')}"}
    room = next(iter(app.extensions["plenary"].meeting.state.rooms))
    seen = 0
    for rule in app.url_map.iter_rules():
        args = {name: {"room": room, "room_id": room, "token": token("screen", room),
                       "filename": "js/screen.js"}.get(name, "x") for name in rule.arguments}
        path = rule.rule
        for name, value in args.items():
            path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, headers=admin, json={})
            assert_secured(response, f"{method} {path} ({response.status_code})")
            seen += 1
    assert seen >= 20


@pytest.mark.parametrize("path,headers,status", [
    ("/screen/plenario", {}, 401),                       # a page refused: no access
    ("/api/rooms", {}, 401),                             # the API refused
    ("/no/such/page", {}, 404),                          # errors
    ("/api/no/such", {}, 404),
    ("/static/js/screen.js", {}, 200),                   # a static file
    ("/static/no-such.js", {}, 404),
    ("/healthz", {}, 200),
])
def test_refusals_errors_and_static_files_carry_the_headers(client, path, headers, status):
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert_secured(response, path)


def test_the_command_route_and_its_refusals_carry_the_headers(client, token):
    chair = {"Authorization": f"Bearer {token('chair', 'plenario')}"}
    for headers, body in (({}, {}), (chair, {"type": "nope"}), (chair, {"type": "list.close"})):
        response = client.post("/api/commands", headers=headers, json=body)
        assert_secured(response, f"POST /api/commands -> {response.status_code}")
    assert_secured(client.get("/api/commands"), "GET /api/commands")


def test_the_minutes_page_carries_every_header_too(client, token):
    response = client.get("/admin/minutes", headers={"Authorization": f"Bearer {token('staff')}"})
    assert response.status_code == 200
    assert_secured(response, "/admin/minutes")
    assert response.headers["Cache-Control"] == "no-store"
