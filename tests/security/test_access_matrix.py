"""Promise 6: every command type x every kind of caller; only the allowed cells change
the state (a table over all cells), and refused ones are 401 or 403 with a stable code."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from dashboard.domain import COMMAND_TYPES
from tests.conftest import SECRET

ROOM_COMMANDS = sorted(t for t in COMMAND_TYPES if not t.startswith("announcement."))
SYSTEM = {"announcement.expire", "speaker.record_overrun", "session.signal_start_due"}
STAFF = {"announcement.post", "announcement.retract"}
# The control room's requests to one screen: the admin's alone.
ADMIN = {"screen.identify", "screen.reload", "screen.rename", "screen.set"}
# Sent by a delegation's link (for itself) or an admin.
DELEGATION = {"request.submit", "request.withdraw"}
CALLERS = ["none", "bad_signature", "expired", "revoked", "screen", "staff",
           "chair_other_room", "chair", "delegation", "admin"]


def allowed(caller: str, command: str) -> bool:
    """The rule of the contract's access table."""
    if caller == "admin":
        return True
    if command in SYSTEM or command in ADMIN:
        return False
    if command in DELEGATION:
        return caller == "delegation"
    if command in STAFF:
        return caller == "staff"
    return caller == "chair"


def refusal(caller: str) -> tuple[int, str]:
    return {
        "none": (401, "unauthorized"), "bad_signature": (401, "unauthorized"),
        "expired": (401, "token_expired"), "revoked": (401, "token_revoked"),
    }.get(caller, (403, "forbidden"))


@contextmanager
def clock_back(seconds: float):  # type: ignore[no-untyped-def]
    """Decide the commands inside as if they were sent `seconds` ago."""
    real = time.time
    with mock.patch("dashboard.store.meeting.time.time", lambda: real() - seconds):
        yield


class Room:
    """Drives one fresh app as its admin to put a room in the state a command needs."""

    def __init__(self, app: Any) -> None:
        from tests.integration.helpers import first_sitting, other_room, room_with_sitting

        self.app, self.client = app, app.test_client()
        programme = app.extensions["plenary"].meeting.programme
        self.room, self.session = room_with_sitting(programme)
        self.other = other_room(programme, self.room)
        self.other_session = first_sitting(programme, self.other)
        self.admin = self.token("admin")
        self.entries: list[str] = []
        self.announcement: str | None = None

    def token(self, role: str, room: str = "*", **kw: Any) -> str:
        from dashboard.web.access import make_token

        return make_token(role, room, SECRET, deployment=self.app.config["PLENARY_DEPLOYMENT"],
                          **kw)

    def send(self, token: str | None, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post("/api/commands", json=body, headers=headers)

    def admin_ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        r = self.send(self.admin, {"type": type_, "room": self.room, **fields})
        assert r.status_code == 200, (type_, r.get_json())
        return r.get_json()  # type: ignore[no-any-return]

    def version(self) -> str:
        return str(self.app.extensions["plenary"].meeting.version)

    def prepare(self, command: str) -> dict[str, Any]:
        """Bring the room to where `command` is valid; the command's body."""
        c = command
        body: dict[str, Any] = {"type": c, "room": self.room}
        if c in ("session.open", "session.signal_start_due"):
            return {**body, "session_id": self.session}
        if c in ADMIN:
            extra = {"screen.rename": {"name": "Left"}, "screen.set": {"lang": "en"}}
            return {"type": c, "screen_id": "left-1", **extra.get(c, {})}
        if c == "podium.message":
            return {**body, "preset": "conclude"}
        if c.startswith("announcement."):
            if c == "announcement.post":
                return {"type": c, "text": {"es": "Hola", "en": "Hello"}, "rooms": ["*"]}
            expires = time.time() + 0.5 if c == "announcement.expire" else None
            posted = self.send(self.admin, {"type": "announcement.post", "text": {
                "es": "a", "en": "a"}, "expires_at": expires}).get_json()
            if expires:
                time.sleep(0.6)
            return {"type": c, "id": posted["id"]}
        self.admin_ok("session.open", session_id=self.session)
        if c in ("session.resume",):
            self.admin_ok("session.suspend")
        if c == "list.reopen":
            self.admin_ok("list.close")
        if c == "list.order":
            self.admin_ok("speaker.add", delegation="PAN")
            self.admin_ok("speaker.add", delegation="COL", level="minister")
        request_id = ""
        if c in ("request.accept", "request.decline", "request.withdraw"):
            request_id = self.admin_ok("request.submit", delegation="BRB")["request_id"]
        if c.startswith(("speaker.", "timer.")) and c != "speaker.add":
            for code in ("PAN", "USA"):
                self.entries.append(self.admin_ok("speaker.add", delegation=code)["entry_id"])
        if c in ("speaker.stop", "timer.pause", "timer.resume", "timer.extend",
                 "speaker.record_overrun"):
            with clock_back(3600 if c == "speaker.record_overrun" else 0):
                self.admin_ok("speaker.next")
        if c == "timer.resume":
            self.admin_ok("timer.pause")
        fields: dict[str, Any] = {
            "speaker.add": {"delegation": "MEX"},
            "speaker.remove": {"entry_id": self.entries[0] if self.entries else ""},
            "speaker.move": {"entry_id": self.entries[-1] if self.entries else "",
                             "position": 0},
            "speaker.start": {"entry_id": self.entries[-1] if self.entries else ""},
            "speaker.record_overrun": {"entry_id": self.entries[0] if self.entries else ""},
            "timer.extend": {"seconds": 30},
            "speaker.undo": {"expected_version": self.version()},
            "list.order": {"by": "protocol"},
            "item.start": {"item_id": "informes"},
            "request.submit": {"delegation": "BRB"},
            "request.withdraw": {"delegation": "BRB", "request_id": request_id},
            "request.accept": {"request_id": request_id},
            "request.decline": {"request_id": request_id},
        }.get(c, {})
        return {**body, **fields}


def caller_tokens(room: Room) -> dict[str, str | None]:
    admin_now = room.token("admin", generation=1)
    good = room.token("admin")
    payload, _, _ = good.rpartition(".")
    return {
        "none": None,
        "bad_signature": payload + "." + room.token("screen", room.room).rpartition(".")[2],
        "expired": room.token("admin", expires_at=time.time() - 1),
        "revoked": good,  # generation 0 of admin, revoked below
        "screen": room.token("screen", room.room),
        "staff": room.token("staff"),
        "chair_other_room": room.token("chair", room.other),
        "chair": room.token("chair", room.room),
        "delegation": room.token("delegation", "BRB"),
        "admin": admin_now,
    }


def revoke_admin_links(room: Room) -> None:
    r = room.client.post("/api/access/revoke", json={"role": "admin", "room": "*"},
                         headers={"Authorization": f"Bearer {room.admin}"})
    assert r.status_code == 200, r.get_json()
    room.admin = r.get_json()["token"]


@pytest.mark.parametrize("command", sorted(COMMAND_TYPES))
def test_only_the_allowed_callers_change_the_state(command: str,
                                                   fresh_app: Callable[[], Any]) -> None:
    table: dict[str, str] = {}
    # the refused cells, all on one prepared room: none may change anything
    room = Room(fresh_app())
    body = room.prepare(command)
    tokens = caller_tokens(room)
    revoke_admin_links(room)
    for caller in CALLERS:
        if allowed(caller, command):
            continue
        before = room.version()
        r = room.send(tokens[caller], body)
        status, code = refusal(caller)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), (caller, body)
        assert room.version() == before, f"{caller} changed the state with {command}"
        table[caller] = str(r.status_code)
    # each allowed cell on a room of its own, prepared the same way
    for caller in CALLERS:
        if not allowed(caller, command):
            continue
        room = Room(fresh_app())
        body = room.prepare(command)
        tokens = caller_tokens(room)
        revoke_admin_links(room)
        before = room.version()
        r = room.send(tokens[caller], body)
        assert r.status_code == 200, (caller, body, r.get_json())
        assert room.version() != before
        table[caller] = "200"
    assert set(table) == set(CALLERS)
