"""The meeting programme: venues, rooms, sittings, delegations, speaking limits, timed notices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import NotFound, ProgrammeError

__all__ = [
    "ALL_ROOMS",
    "Bilingual",
    "DEFAULT_LEVELS",
    "Delegation",
    "DelegationKind",
    "Group",
    "Item",
    "ProtocolLevel",
    "WarnSeconds",
    "MeetingInfo",
    "Notice",
    "Programme",
    "Room",
    "Session",
    "SpeakingLimits",
    "Venue",
    "default_programme_path",
    "load_programme",
]

ALL_ROOMS = "*"

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
DelegationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9-]{1,15}$")]
Seconds = Annotated[int, Field(ge=1, le=3600)]


class DelegationKind(StrEnum):
    """What a delegation is; screens may group or style by it."""

    STATE = "state"
    INTERNATIONAL_ORGANISATION = "international_organisation"
    DEVELOPMENT_BANK = "development_bank"
    NGO = "ngo"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bilingual(_Model):
    """A text in Spanish and English."""

    es: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=500)]

    def as_dict(self) -> dict[str, str]:
        """The JSON form `{"es", "en"}`."""
        return {"es": self.es, "en": self.en}


class MeetingInfo(_Model):
    """The meeting itself; local times in the file are read in `timezone`."""

    id: Slug
    title: Bilingual
    timezone: str
    start_date: date
    end_date: date

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Venue(_Model):
    """A building; announcements can target every room of a venue."""

    id: Slug
    name: Bilingual
    description: Bilingual | None = None


class Room(_Model):
    """A room with a screen and (usually) a chair."""

    id: Slug
    name: Bilingual
    venue: Slug


class ProtocolLevel(_Model):
    """A protocol level of speakers (minister, vice-minister, ...); earlier levels speak first."""

    code: Slug
    name: Bilingual

    def public_dict(self) -> dict[str, Any]:
        """The JSON form `{code, name}`."""
        return {"code": self.code, "name": self.name.as_dict()}


def _level(code: str, es: str, en: str) -> ProtocolLevel:
    return ProtocolLevel(code=code, name=Bilingual(es=es, en=en))


# The levels a programme that lists none has, highest first.
DEFAULT_LEVELS: tuple[ProtocolLevel, ...] = (
    _level("head_of_state", "Jefe/a de Estado", "Head of State"),
    _level("head_of_government", "Jefe/a de Gobierno", "Head of Government"),
    _level("minister", "Ministro/a", "Minister"),
    _level("vice_minister", "Viceministro/a", "Vice-Minister"),
    _level("head_of_delegation", "Jefe/a de delegación", "Head of Delegation"),
    _level("representative", "Representante", "Representative"),
    _level("observer", "Observador/a", "Observer"),
)


class Group(_Model):
    """A group of delegations (CARICOM, SICA, ...); a member may speak on its behalf."""

    code: DelegationCode
    name: Bilingual
    members: Annotated[list[DelegationCode], Field(min_length=1, max_length=200)]

    def public_dict(self) -> dict[str, Any]:
        """The JSON form `{code, name, members}`."""
        return {"code": self.code, "name": self.name.as_dict(), "members": list(self.members)}


class Item(_Model):
    """An agenda item of a sitting."""

    id: Slug
    title: Bilingual


class WarnSeconds(_Model):
    """Seconds before the limit at which a speaker's clock warns, per speech kind."""

    speech: Seconds = 30
    point_of_order: Seconds = 15
    reply: Seconds = 15


class Session(_Model):
    """A sitting scheduled in one room; `kind` selects the speaking limits.

    `inscription`: how a delegation's request for the floor is taken (`direct`: it
    joins the list at once; `approval`: it waits for the chair). `budget_s`: speaking
    time each delegation has in the sitting. `items`: its agenda, in order.
    """

    id: Slug
    room: Slug
    title: Bilingual
    kind: Slug
    start: datetime
    end: datetime
    inscription: Literal["direct", "approval"] = "direct"
    budget_s: Annotated[int, Field(ge=1, le=86_400)] | None = None
    items: Annotated[list[Item], Field(max_length=100)] = Field(default_factory=list)
    warn_s: WarnSeconds = Field(default_factory=WarnSeconds)

    @cached_property
    def items_by_id(self) -> dict[str, Item]:
        """Agenda items keyed by id."""
        return {i.id: i for i in self.items}


class Delegation(_Model):
    """A country or organisation that can ask for the floor."""

    code: DelegationCode
    name: Bilingual
    kind: DelegationKind
    host: bool = False

    def public_dict(self) -> dict[str, Any]:
        """The contract's delegation object `{code, name, kind}`."""
        return {"code": self.code, "name": self.name.as_dict(), "kind": str(self.kind)}


class SpeakingLimits(_Model):
    """Seconds allowed per speech kind."""

    speech: Seconds
    point_of_order: Seconds
    reply: Seconds


class Notice(_Model):
    """An announcement the scheduler posts at a given local time."""

    id: Slug | None = None
    at: datetime
    text: Bilingual
    level: Literal["info", "urgent"] = "info"
    rooms: list[str] | str = Field(default_factory=lambda: [ALL_ROOMS])
    expires_at: datetime | None = None


class Programme(_Model):
    """A whole programme file, validated (references, unique ids, times)."""

    meeting: MeetingInfo
    venues: Annotated[list[Venue], Field(min_length=1)]
    rooms: Annotated[list[Room], Field(min_length=1)]
    sessions: list[Session] = Field(default_factory=list)
    delegations: list[Delegation] = Field(default_factory=list)
    speaking_limits: dict[str, SpeakingLimits] = Field(default_factory=dict)
    notices: list[Notice] = Field(default_factory=list)
    levels: Annotated[list[ProtocolLevel], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: list(DEFAULT_LEVELS))
    groups: Annotated[list[Group], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        for place, reason in self._problems():
            raise ProgrammeError("<programme>", place, reason)
        return self

    def _problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.meeting.end_date < self.meeting.start_date:
            problems.append(("meeting.end_date", "the meeting ends before it starts"))
        problems += _duplicates("venues", "id", [v.id for v in self.venues])
        problems += _duplicates("rooms", "id", [r.id for r in self.rooms])
        problems += _duplicates("sessions", "id", [s.id for s in self.sessions])
        problems += _duplicates("delegations", "code", [d.code for d in self.delegations])
        venues = {v.id for v in self.venues}
        for i, room in enumerate(self.rooms):
            if room.venue not in venues:
                problems.append((f"rooms[{i}].venue", f"unknown venue {room.venue!r}"))
        rooms = {r.id for r in self.rooms}
        for i, sitting in enumerate(self.sessions):
            if sitting.room not in rooms:
                problems.append((f"sessions[{i}].room", f"unknown room {sitting.room!r}"))
            if sitting.kind not in self.speaking_limits:
                problems.append(
                    (f"sessions[{i}].kind", f"no speaking_limits for kind {sitting.kind!r}")
                )
            start, end = self.instant(sitting.start), self.instant(sitting.end)
            if end <= start:
                problems.append((f"sessions[{i}].end", "the sitting ends before it starts"))
            if not self._within_dates(sitting.start):
                problems.append((f"sessions[{i}].start", "outside the meeting's dates"))
        problems += _duplicates("levels", "code", [lv.code for lv in self.levels])
        problems += _duplicates("groups", "code", [g.code for g in self.groups])
        delegations = {d.code for d in self.delegations}
        for i, group in enumerate(self.groups):
            if group.code in delegations:
                problems.append((f"groups[{i}].code", f"{group.code!r} is a delegation's code"))
            problems += _duplicates(f"groups[{i}]", "members", group.members)
            for j, member in enumerate(group.members):
                if member not in delegations:
                    problems.append((f"groups[{i}].members[{j}]", f"unknown delegation {member!r}"))
        for i, sitting in enumerate(self.sessions):
            problems += _duplicates(f"sessions[{i}].items", "id", [it.id for it in sitting.items])
        problems += _duplicates("notices", "id", [n.id for n in self.notices if n.id])
        for i, notice in enumerate(self.notices):
            try:
                self.resolve_rooms(notice.rooms)
            except NotFound as exc:
                problems.append((f"notices[{i}].{exc.field or 'rooms'}", exc.message))
            if notice.expires_at is not None and (
                self.instant(notice.expires_at) <= self.instant(notice.at)
            ):
                problems.append((f"notices[{i}].expires_at", "expires before it is posted"))
        return problems

    def _within_dates(self, value: datetime) -> bool:
        local = datetime.fromtimestamp(self.instant(value), self.tz).date()
        return self.meeting.start_date <= local <= self.meeting.end_date

    @cached_property
    def tz(self) -> ZoneInfo:
        """The meeting's time zone."""
        return ZoneInfo(self.meeting.timezone)

    def instant(self, value: datetime) -> float:
        """Epoch seconds of a programme time (naive times are local to the meeting)."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.timestamp()

    @cached_property
    def venues_by_id(self) -> dict[str, Venue]:
        """Venues keyed by id."""
        return {v.id: v for v in self.venues}

    @cached_property
    def rooms_by_id(self) -> dict[str, Room]:
        """Rooms keyed by id, in programme order."""
        return {r.id: r for r in self.rooms}

    @cached_property
    def sessions_by_id(self) -> dict[str, Session]:
        """Sittings keyed by id."""
        return {s.id: s for s in self.sessions}

    @cached_property
    def delegations_by_code(self) -> dict[str, Delegation]:
        """Delegations keyed by code."""
        return {d.code: d for d in self.delegations}

    @cached_property
    def delegation_dicts(self) -> dict[str, dict[str, Any]]:
        """Each delegation's contract object, keyed by code: built once, as every room's
        view holds it many times over (entries, totals) on every change. Shared by every
        view: read, never changed."""
        return {d.code: d.public_dict() for d in self.delegations}

    @cached_property
    def session_instants(self) -> dict[str, tuple[float, float]]:
        """Epoch seconds of each sitting's scheduled start and end, keyed by id."""
        return {s.id: (self.instant(s.start), self.instant(s.end)) for s in self.sessions}

    @cached_property
    def levels_by_code(self) -> dict[str, ProtocolLevel]:
        """Protocol levels keyed by code."""
        return {lv.code: lv for lv in self.levels}

    @cached_property
    def level_rank(self) -> dict[str, int]:
        """A level's place in protocol order (0 speaks first)."""
        return {lv.code: i for i, lv in enumerate(self.levels)}

    @cached_property
    def groups_by_code(self) -> dict[str, Group]:
        """Groups keyed by code."""
        return {g.code: g for g in self.groups}

    def limit_for(self, session_kind: str, speech_kind: str) -> int:
        """Seconds allowed for a speech kind in a sitting kind."""
        limits = self.speaking_limits[session_kind]
        return int(getattr(limits, speech_kind))

    def resolve_rooms(self, target: str | Sequence[str]) -> list[str]:
        """Room ids for a target: `"*"`/`["*"]` (all), a venue id, or a list of room ids."""
        if isinstance(target, str):
            if target == ALL_ROOMS:
                return list(self.rooms_by_id)
            if target not in self.venues_by_id:
                raise NotFound(f"unknown venue {target!r}", field="rooms")
            return [r.id for r in self.rooms if r.venue == target]
        if list(target) == [ALL_ROOMS]:
            return list(self.rooms_by_id)
        resolved: list[str] = []
        for i, room_id in enumerate(target):
            if room_id not in self.rooms_by_id:
                raise NotFound(f"unknown room {room_id!r}", field=f"rooms[{i}]")
            if room_id not in resolved:
                resolved.append(room_id)
        return resolved

    def session_dict(self, sitting: Session) -> dict[str, Any]:
        """The public form of one sitting (instants as epoch seconds)."""
        return {
            "id": sitting.id,
            "room": sitting.room,
            "title": sitting.title.as_dict(),
            "kind": sitting.kind,
            "scheduled_start": self.instant(sitting.start),
            "scheduled_end": self.instant(sitting.end),
            "inscription": sitting.inscription,
            "budget_s": sitting.budget_s,
            "items": [{"id": i.id, "title": i.title.as_dict()} for i in sitting.items],
            "warn_s": sitting.warn_s.model_dump(),
        }

    def public_dict(self) -> dict[str, Any]:
        """The body of `GET /api/programme` (JSON-ready, instants as epoch seconds)."""
        meeting = self.meeting
        return {
            "meeting": {
                "id": meeting.id,
                "title": meeting.title.as_dict(),
                "timezone": meeting.timezone,
                "start_date": meeting.start_date.isoformat(),
                "end_date": meeting.end_date.isoformat(),
            },
            "venues": [
                {
                    "id": v.id,
                    "name": v.name.as_dict(),
                    "description": v.description.as_dict() if v.description else None,
                }
                for v in self.venues
            ],
            "rooms": [{"id": r.id, "name": r.name.as_dict(), "venue": r.venue} for r in self.rooms],
            "sessions": [self.session_dict(s) for s in self.sessions],
            "delegations": [d.public_dict() for d in self.delegations],
            "levels": [lv.public_dict() for lv in self.levels],
            "groups": [g.public_dict() for g in self.groups],
        }

    def timed_notices(self) -> list[dict[str, Any]]:
        """Timed notices for the scheduler, in time order, with ids and epoch instants."""
        notices = [
            {
                "id": n.id or f"notice-{i}",
                "at": self.instant(n.at),
                "text": n.text.as_dict(),
                "level": n.level,
                "rooms": n.rooms,
                "expires_at": self.instant(n.expires_at) if n.expires_at else None,
            }
            for i, n in enumerate(self.notices)
        ]
        return sorted(notices, key=lambda n: n["at"])


def _duplicates(section: str, key: str, values: Sequence[str | None]) -> list[tuple[str, str]]:
    seen: set[str | None] = set()
    found = []
    for i, value in enumerate(values):
        if value in seen:
            found.append((f"{section}[{i}].{key}", f"duplicate {key} {value!r}"))
        seen.add(value)
    return found


def default_programme_path() -> Path:
    """The bundled reference programme (the Panama 2022 ministerial meeting)."""
    return Path(__file__).resolve().parent.parent / "programmes" / "reference.yaml"


def load_programme(path: str | Path) -> Programme:
    """Read and validate a YAML or JSON programme; ProgrammeError names file, place, reason.

    The file is read every time; the same text again gives the Programme already
    validated (immutable), since one start reads the programme in several places.
    """
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgrammeError(shown, "file", f"cannot be read ({exc})") from exc
    return _validated(shown, text, shown.lower().endswith(".json"))


@lru_cache(maxsize=8)
def _validated(shown: str, text: str, json_file: bool) -> Programme:
    raw = _parse(shown, text, json_file=json_file)
    if not isinstance(raw, dict):
        raise ProgrammeError(shown, "(top)", "expected a mapping of sections")
    try:
        return Programme.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, ProgrammeError):
            raise ProgrammeError(shown, inner.place, inner.reason) from None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        place = _dotted(error["loc"]) or "(top)"
        raise ProgrammeError(shown, place, _reason(error) + more) from None


# libyaml's safe loader when PyYAML was built with it: the same values, parsed much
# faster at every start; a file it refuses is parsed again by the Python loader,
# whose error messages the programme errors quote.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _parse(shown: str, text: str, *, json_file: bool) -> Any:
    if json_file:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProgrammeError(
                shown, f"line {exc.lineno}, column {exc.colno}", f"JSON syntax: {exc.msg}"
            ) from None
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass  # the Python parser below says where and why, in its own words
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ProgrammeError(shown, place, f"YAML syntax: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ProgrammeError(shown, "(file)", f"YAML: {exc}") from None


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(error: Any) -> str:
    kind = error.get("type")
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        return "unknown field"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
