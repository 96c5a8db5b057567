"""Small helpers for tests that drive the contract."""

from __future__ import annotations

from typing import Any


def room_with_sitting(programme: Any, kind: str = "plenary") -> tuple[str, str]:
    """(room id, session id) of the first sitting of this kind."""
    for session in programme.sessions:
        if session.kind == kind:
            return session.room, session.id
    raise LookupError(kind)


def other_room(programme: Any, room: str) -> str:
    """Some room that is not `room` and has a sitting."""
    return next(s.room for s in programme.sessions if s.room != room)


def first_sitting(programme: Any, room: str) -> str:
    """The id of the first sitting held in a room."""
    return next(s.id for s in programme.sessions if s.room == room)


def delegation_codes(programme: Any) -> list[str]:
    return [d.code for d in programme.delegations]


class Chair:
    """Sends commands through the HTTP API with a bearer token."""

    def __init__(self, client: Any, token: str, room: str) -> None:
        self.client, self.token, self.room = client, token, room

    def send(self, type_: str, **fields: Any) -> Any:
        body = {"type": type_, "room": self.room, **fields}
        return self.client.post(
            "/api/commands", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    def ok(self, type_: str, **fields: Any) -> dict[str, Any]:
        response = self.send(type_, **fields)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def open(self, programme: Any) -> dict[str, Any]:
        """Open the room's first sitting (speakers are listed during a sitting)."""
        return self.ok("session.open", session_id=first_sitting(programme, self.room))

    def state(self) -> dict[str, Any]:
        response = self.client.get(
            f"/api/rooms/{self.room}", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.get_json()
        return body
