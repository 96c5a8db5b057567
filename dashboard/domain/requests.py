"""Requests for the floor from the delegations: decide and apply for request.*.

A delegation's link acts for its own delegation only. A sitting's inscription
mode (programme) says what a request becomes: `direct`, a waiting entry at
once; `approval`, a pending request the chair accepts or declines.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from .commands import (
    CHAIR_OF_ROOM,
    DELEGATION,
    N_,
    Actor,
    AnnouncementText,
    Id,
    RoomCommand,
    SpeakerName,
    command,
)
from .errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from .events import (
    Event,
    RequestAccepted,
    RequestDeclined,
    RequestSubmitted,
    RequestWithdrawn,
    applies,
)
from .limits import Limits
from .roles import Role
from .speakers import (
    Code,
    Language,
    check_inscription,
    entries_of,
    find_any,
    inscription,
    list_sitting,
    next_sitting,
    removal,
    sitting_in_progress,
)
from .state import MAX_DECLINED, MeetingState, Request, RoomState, SessionState, SpeechKind


def acting_for(state: MeetingState, sender: Actor, named: str | None) -> str:
    """The delegation a request is made for: a delegation's own (naming another is
    refused); an admin names one."""
    if sender.role == Role.DELEGATION:
        if named is not None and named != sender.scope:
            raise Forbidden(f"this access is for delegation {sender.scope}", field="delegation")
        code = sender.scope
    elif named is None:
        raise Invalid("delegation: missing field", field="delegation")
    else:
        code = named
    if code not in state.programme.delegations_by_code:
        raise NotFound(f"unknown delegation {code!r}", field="delegation")
    return code


def _sitting_for(state: MeetingState, room: RoomState, session_id: str | None) -> SessionState:
    if session_id is None and sitting_in_progress(state, room) is None:
        upcoming = next_sitting(state, room.id)
        if upcoming is None:
            raise Conflict(f"no sitting in progress or scheduled in room {room.id!r}")
        return upcoming
    return list_sitting(state, room, session_id)


class RequestSubmit(RoomCommand):
    """A delegation asks for the floor in a sitting of the room (in progress, or the next)."""

    type: Literal["request.submit"]
    session_id: Id | None = None
    kind: Literal["speech", "point_of_order", "reply"] = "speech"
    speaker_name: SpeakerName | None = None
    speaker_title: SpeakerName | None = None  # bounded as the name
    level: Code | None = None
    language: Language | None = None
    on_behalf_of: Code | None = None
    delegation: Code | None = None  # an admin's request names it; a delegation's is its own


@command(RequestSubmit, may=DELEGATION, name=N_("Request the floor"))
def decide_submit(state: MeetingState, room: RoomState, cmd: RequestSubmit, now: float,
                  limits: Limits, sender: Actor) -> list[Event]:
    """request.submit → speaker.added (direct) or request.submitted (approval)."""
    limits.check_length("speaker_name", cmd.speaker_name, limits.max_name)
    limits.check_length("speaker_title", cmd.speaker_title, limits.max_name)
    delegation = acting_for(state, sender, cmd.delegation)
    sitting = _sitting_for(state, room, cmd.session_id)
    kind = SpeechKind(cmd.kind)
    entries = check_inscription(state, room, sitting, delegation, kind, cmd.level,
                                cmd.on_behalf_of, limits)
    speaker_name = cmd.speaker_name or None
    speaker_title = cmd.speaker_title or None
    if state.programme.sessions_by_id[sitting.id].inscription == "direct":
        added = inscription(state, room, sitting, entries, delegation=delegation, kind=kind,
                            speaker_name=speaker_name, level=cmd.level, language=cmd.language,
                            on_behalf_of=cmd.on_behalf_of, speaker_title=speaker_title)
        return [Event.of(added, room.id, now)]
    for pending in room.requests:
        if (pending.delegation, pending.session_id, pending.kind) == (delegation, sitting.id, kind):
            raise Conflict(f"{delegation} already asked for a {kind.replace('_', ' ')}",
                           field="kind")
    if len(room.requests) >= limits.max_queue:
        raise TooMany(f"room {room.id!r} already has {limits.max_queue} pending requests")
    data = RequestSubmitted(
        request_id=f"rq{state.request_seq + 1}", delegation=delegation, session_id=sitting.id,
        kind=str(kind), speaker_name=speaker_name, level=cmd.level, language=cmd.language,
        on_behalf_of=cmd.on_behalf_of, speaker_title=speaker_title)
    return [Event.of(data, room.id, now)]


class RequestWithdraw(RoomCommand):
    """A delegation withdraws its pending request or its waiting entry."""

    type: Literal["request.withdraw"]
    request_id: Id | None = None
    entry_id: Id | None = None
    delegation: Code | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RequestWithdraw:
        if (self.request_id is None) == (self.entry_id is None):
            raise ValueError("give exactly one of request_id, entry_id")
        return self


def _pending(room: RoomState, request_id: str) -> Request:
    for request in room.requests:
        if request.request_id == request_id:
            return request
    raise NotFound(f"no pending request {request_id!r} in this room", field="request_id")


@command(RequestWithdraw, may=DELEGATION, name=N_("Withdraw a request for the floor"))
def decide_withdraw(state: MeetingState, room: RoomState, cmd: RequestWithdraw, now: float,
                    sender: Actor) -> list[Event]:
    """request.withdraw → request.withdrawn, or speaker.removed (own only)."""
    delegation = acting_for(state, sender, cmd.delegation)
    if cmd.request_id is not None:
        request = _pending(room, cmd.request_id)
        if request.delegation != delegation:
            raise Forbidden("this request is another delegation's", field="request_id")
        return [Event.of(RequestWithdrawn(request.request_id, delegation), room.id, now)]
    assert cmd.entry_id is not None
    entries, index = find_any(room, cmd.entry_id)
    if entries[index].delegation != delegation:
        raise Forbidden("this entry is another delegation's", field="entry_id")
    return [removal(room, cmd.entry_id, now)]


class RequestAccept(RoomCommand):
    """The chair accepts a pending request: it joins its sitting's list."""

    type: Literal["request.accept"]
    request_id: Id


@command(RequestAccept, may=CHAIR_OF_ROOM, name=N_("Accept a request for the floor"))
def decide_accept(state: MeetingState, room: RoomState, cmd: RequestAccept, now: float,
                  limits: Limits) -> list[Event]:
    """request.accept → request.accepted + speaker.added (inscribed at the request's time)."""
    request = _pending(room, cmd.request_id)
    sitting = list_sitting(state, room, request.session_id)
    check_inscription(state, room, sitting, request.delegation, request.kind, request.level,
                      request.on_behalf_of, limits)
    added = inscription(state, room, sitting, entries_of(room, sitting.id),
                        delegation=request.delegation, kind=request.kind,
                        speaker_name=request.speaker_name, level=request.level,
                        language=request.language, on_behalf_of=request.on_behalf_of,
                        request_id=request.request_id, inscribed_at=request.requested_at,
                        speaker_title=request.speaker_title)
    accepted = RequestAccepted(request.request_id, request.delegation, added.entry_id)
    return [Event.of(accepted, room.id, now), Event.of(added, room.id, now)]


class RequestDecline(RoomCommand):
    """The chair declines a pending request, maybe saying why (shown to the delegation)."""

    type: Literal["request.decline"]
    request_id: Id
    reason: AnnouncementText | None = None


@command(RequestDecline, may=CHAIR_OF_ROOM, name=N_("Decline a request for the floor"))
def decide_decline(state: MeetingState, room: RoomState, cmd: RequestDecline,
                   now: float) -> list[Event]:
    """request.decline → request.declined."""
    request = _pending(room, cmd.request_id)
    reason = cmd.reason.model_dump() if cmd.reason is not None else None
    data = RequestDeclined(request.request_id, request.delegation, reason)
    return [Event.of(data, room.id, now)]


# --- apply ------------------------------------------------------------------------------------


@applies(RequestSubmitted)
def apply_submitted(state: MeetingState, room: RoomState, data: RequestSubmitted,
                    at: float) -> None:
    """The request waits for the chair."""
    state.request_seq += 1
    room.requests.append(Request(
        request_id=data.request_id, delegation=data.delegation, session_id=data.session_id,
        kind=SpeechKind(data.kind), speaker_name=data.speaker_name, level=data.level,
        language=data.language, on_behalf_of=data.on_behalf_of, requested_at=at,
        speaker_title=data.speaker_title))


def _take(room: RoomState, request_id: str) -> Request | None:
    for index, request in enumerate(room.requests):
        if request.request_id == request_id:
            return room.requests.pop(index)
    return None


@applies(RequestAccepted)
def apply_accepted(state: MeetingState, room: RoomState, data: RequestAccepted,
                   at: float) -> None:
    """The request leaves the pending ones (the speaker.added that follows inscribes it)."""
    _take(room, data.request_id)


@applies(RequestDeclined)
def apply_declined(state: MeetingState, room: RoomState, data: RequestDeclined,
                   at: float) -> None:
    """The request is declined: kept (the newest MAX_DECLINED) so its delegation sees why."""
    request = _take(room, data.request_id)
    if request is not None:
        request.declined_at, request.reason = at, data.reason
        room.declined = [*room.declined, request][-MAX_DECLINED:]


@applies(RequestWithdrawn)
def apply_withdrawn(state: MeetingState, room: RoomState, data: RequestWithdrawn,
                    at: float) -> None:
    """The request is gone."""
    _take(room, data.request_id)
