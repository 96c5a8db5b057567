"""What an event is: a typed payload with a schema version, and its form in the stream.

An event type is declared once (`dashboard.domain.events`): a frozen dataclass
decorated with `@event`, naming its type and its schema version. Events live
forever, so a change to a payload bumps its version and comes with an upcaster
from the version before (`@upcaster(type, from_version)`): old entries are upgraded
when read, never rewritten. An entry without a version (every entry of release
0.1.0) is version 1; the stream entry carries `v` only from version 2 on, so
entries stay readable by readers that know nothing of versions.

Payloads are built by the deciders (typed, checked by mypy) and, when read,
from the entry's JSON with the dataclass constructor alone: a cold start
folds up to 100,000 entries, so reading does no validation beyond the
constructor's (a missing or unknown field makes the entry unreadable, and
the readers step over it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar


class Payload:
    """What every payload class has: its type, its schema version, its JSON form."""

    __slots__ = ()
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        """The JSON object stored in the entry's `data` field.

        A field added to a version with a default (optional) is written only when it
        differs from it: an event that uses none of them is stored as before they existed.
        """
        out = {}
        for name, default in _fields_of(type(self)):
            value = getattr(self, name)
            if default is dataclasses.MISSING or value != default:
                out[name] = value
        return out

    @classmethod
    def from_data(cls: type[P], data: dict[str, Any]) -> P:
        """The payload of an entry's (upcast) data."""
        return cls(**data)


P = TypeVar("P", bound=Payload)

# Every event type, by its `type`.
EVENTS: dict[str, type[Payload]] = {}
# type -> the function that folds it into the state: (state, room, payload, at) for a
# room's event, (state, payload, at) for a Broadcast.
APPLIERS: dict[str, Callable[..., None]] = {}
# (type, version) -> the function that turns that version's data into the next version's.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def event(kind: str, version: int = 1) -> Callable[[type[P]], type[P]]:
    """Declare an event type: its payload class, with the schema version it writes."""

    def register(cls: type[P]) -> type[P]:
        if kind in EVENTS:
            raise ValueError(f"event {kind!r} is declared twice")
        cls.TYPE, cls.VERSION = str(kind), version
        EVENTS[str(kind)] = cls
        return cls

    return register


A = TypeVar("A", bound=Callable[..., None])


def applies(cls: type[Payload]) -> Callable[[A], A]:
    """Declare the function that folds events of this payload class into the state."""

    def register(fn: A) -> A:
        if cls.TYPE in APPLIERS:
            raise ValueError(f"event {cls.TYPE!r} has two appliers")
        APPLIERS[cls.TYPE] = fn
        return fn

    return register


U = TypeVar("U", bound=Callable[[dict[str, Any]], dict[str, Any]])


def upcaster(kind: str, from_version: int) -> Callable[[U], U]:
    """Declare how data of `kind` at `from_version` becomes data of the next version."""

    def register(fn: U) -> U:
        UPCASTERS[(kind, from_version)] = fn
        return fn

    return register


def record_data(value: Any) -> dict[str, Any]:
    """A nested record's stored form (its optional fields only when they are set)."""
    return {
        f.name: getattr(value, f.name)
        for f in dataclasses.fields(value)
        if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
    }


@dataclass(frozen=True, slots=True)
class Opaque(Payload):
    """The data of an entry no declared type reads (a newer release's, or not an event)."""

    raw: dict[str, Any]

    def to_data(self) -> dict[str, Any]:
        """The data as it was read."""
        return self.raw


def read_payload(kind: str, version: int, data: dict[str, Any]) -> Payload:
    """The typed payload of stored data, upcast to its type's current version.

    Raises ValueError (or TypeError, KeyError) when the data does not fit:
    a version newer than this release knows, or fields that do not match.
    """
    cls = EVENTS.get(kind)
    if cls is None:
        return Opaque(data)
    while version < cls.VERSION:
        data = UPCASTERS[(kind, version)](data)
        version += 1
    if version != cls.VERSION:
        raise ValueError(f"{kind} version {version} is newer than this release reads")
    return cls.from_data(data)


_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _fields_of(cls: type) -> tuple[tuple[str, Any], ...]:
    """Each field of a payload class and its default (MISSING when required)."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple((f.name, f.default) for f in dataclasses.fields(cls))
    return fields


# The events' JSON, as every release wrote it: compact, keys sorted, UTF-8 as is.
# Kept, not made again for each event as `json.dumps` with these options does.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class Event:
    """One fact: `id` is the stream id once appended (None while only decided)."""

    type: str
    room: str | None
    data: Payload
    at: float
    id: str | None = None

    @classmethod
    def of(cls, payload: Payload, room: str | None, at: float) -> Event:
        """A decided event of the payload's type."""
        return cls(payload.TYPE, room, payload, at)

    def with_id(self, id: str | bytes) -> Event:
        """The same event stamped with its stream id."""
        return Event(self.type, self.room, self.data, self.at, _text(id))

    @property
    def version(self) -> int:
        """The schema version of the payload (as written, after upcasting when read)."""
        return self.data.VERSION

    def to_fields(self) -> dict[str, str]:
        """The stream entry's fields: `type`, `room` ("" when none), `data` (JSON), `at`;
        `v` only from version 2 on."""
        fields = {
            "type": self.type,
            "room": self.room or "",
            "data": _ENCODE(self.data.to_data()),
            "at": repr(float(self.at)),
        }
        if self.data.VERSION > 1:
            fields["v"] = str(self.data.VERSION)
        return fields

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, Any] | Mapping[bytes, Any], id: str | bytes | None = None
    ) -> Event:
        """Rebuild an event from a stream entry (str or bytes keys and values), upcast."""
        plain = {_text(k): _text(v) for k, v in fields.items()}
        kind = plain["type"]
        return cls(
            type=kind,
            room=plain.get("room") or None,
            data=read_payload(kind, int(plain.get("v") or 1), json.loads(plain["data"])),
            at=float(plain["at"]),
            id=_text(id) if id is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by `GET /api/events` and command answers."""
        return {
            "id": self.id,
            "type": self.type,
            "room": self.room,
            "data": self.data.to_data(),
            "at": self.at,
        }
