"""The list of speakers as a whole: decide and apply for list.close, list.reopen,
list.order, and item.start (the agenda item the sitting is at)."""

from __future__ import annotations

from typing import Literal

from .commands import CHAIR_OF_ROOM, N_, Id, RoomCommand, command
from .errors import Conflict, NotFound
from .events import Event, ItemStarted, ListClosed, ListOrdered, ListReopened, applies
from .speakers import entries_of, list_sitting, reorder, require_sitting
from .state import Entry, MeetingState, RoomState, SpeechKind, Undoable

# --- decide -----------------------------------------------------------------------------------


class ListClose(RoomCommand):
    """Close the list: no new speeches (points of order and replies still taken)."""

    type: Literal["list.close"]


@command(ListClose, may=CHAIR_OF_ROOM, name=N_("Close list"))
def decide_list_close(
    state: MeetingState, room: RoomState, cmd: ListClose, now: float
) -> list[Event]:
    """list.close → list.closed."""
    require_sitting(state, room)
    if room.list_closed:
        raise Conflict("the list is already closed")
    return [Event.of(ListClosed(room.session_id), room.id, now)]


class ListReopen(RoomCommand):
    """Reopen a closed list."""

    type: Literal["list.reopen"]


@command(ListReopen, may=CHAIR_OF_ROOM, name=N_("Reopen list"))
def decide_list_reopen(
    state: MeetingState, room: RoomState, cmd: ListReopen, now: float
) -> list[Event]:
    """list.reopen → list.reopened."""
    require_sitting(state, room)
    if not room.list_closed:
        raise Conflict("the list is not closed")
    return [Event.of(ListReopened(room.session_id), room.id, now)]


def protocol_order(entries: list[Entry], rank: dict[str, int]) -> list[Entry]:
    """Points of order first and replies last (each in their own order); speeches between,
    by protocol level (unknown or none: after every level), then time of inscription; a
    tie keeps the order it had (the sort is stable)."""
    lowest = len(rank)
    speeches = sorted(
        (e for e in entries if e.kind is SpeechKind.SPEECH),
        key=lambda e: (rank.get(e.level, lowest) if e.level else lowest, e.requested_at),
    )
    return ([e for e in entries if e.kind is SpeechKind.POINT_OF_ORDER] + speeches
            + [e for e in entries if e.kind is SpeechKind.REPLY])


class ListOrder(RoomCommand):
    """Put the waiting speeches in protocol order (the list in progress, or a prepared one)."""

    type: Literal["list.order"]
    by: Literal["protocol"]
    session_id: Id | None = None


@command(ListOrder, may=CHAIR_OF_ROOM, name=N_("Put the list in protocol order"))
def decide_list_order(state: MeetingState, room: RoomState, cmd: ListOrder,
                      now: float) -> list[Event]:
    """list.order → list.ordered (409 when the list is already in that order)."""
    sitting = list_sitting(state, room, cmd.session_id)
    entries = entries_of(room, sitting.id)
    ordered = protocol_order(entries, state.programme.level_rank)
    previous = [e.entry_id for e in entries]
    order = [e.entry_id for e in ordered]
    if order == previous:
        raise Conflict("the list is already in protocol order")
    session_id = None if sitting.id == room.session_id else sitting.id
    return [Event.of(ListOrdered(cmd.by, session_id, order, previous), room.id, now)]


class ItemStart(RoomCommand):
    """Move the sitting in progress to an agenda item (null: none)."""

    type: Literal["item.start"]
    item_id: Id | None


@command(ItemStart, may=CHAIR_OF_ROOM, name=N_("Move to an agenda item"))
def decide_item_start(state: MeetingState, room: RoomState, cmd: ItemStart,
                      now: float) -> list[Event]:
    """item.start → item.started (an item of the sitting in progress)."""
    sitting = require_sitting(state, room)
    spec = state.programme.sessions_by_id[sitting.id]
    if cmd.item_id is not None and cmd.item_id not in spec.items_by_id:
        raise NotFound(f"sitting {sitting.id!r} has no item {cmd.item_id!r}", field="item_id")
    if cmd.item_id == room.item_id:
        raise Conflict("that is already the current item", field="item_id")
    return [Event.of(ItemStarted(sitting.id, cmd.item_id), room.id, now)]


# --- apply ------------------------------------------------------------------------------------


@applies(ListClosed)
def apply_list_closed(state: MeetingState, room: RoomState, data: ListClosed, at: float) -> None:
    """Close the list."""
    room.list_closed = True


@applies(ListReopened)
def apply_list_reopened(
    state: MeetingState, room: RoomState, data: ListReopened, at: float
) -> None:
    """Reopen the list."""
    room.list_closed = False


@applies(ListOrdered)
def apply_ordered(state: MeetingState, room: RoomState, data: ListOrdered, at: float) -> None:
    """Put the list in its new order (the queue's, remembered for an undo)."""
    if data.session_id is not None and data.session_id != room.session_id:
        if data.session_id in room.prepared:
            room.prepared[data.session_id] = reorder(room.prepared[data.session_id], data.order)
        return
    if room.queue:
        first = room.queue[0]
        room.undo = Undoable("list.order", at, first.entry_id, first.delegation,
                             order=[e.entry_id for e in room.queue])
    room.queue = reorder(room.queue, data.order)


@applies(ItemStarted)
def apply_item_started(state: MeetingState, room: RoomState, data: ItemStarted,
                       at: float) -> None:
    """The sitting's current agenda item."""
    if data.session_id == room.session_id:
        room.item_id = data.item_id
