"""Prepared lists, protocol order, agenda items, requests from delegations, time per delegation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from dashboard.domain import (
    Audience,
    Conflict,
    Forbidden,
    NotFound,
    apply,
    decide,
    delegation_view,
    parse_command,
    room_view,
)
from dashboard.domain.commands import Actor
from dashboard.domain.lists import protocol_order
from dashboard.domain.minutes import fold_all, report
from dashboard.domain.snapshot import from_dict, to_dict
from dashboard.domain.state import Entry, SpeechKind
from tests.unit.conftest import REFERENCE, Driver

ROOM = "plenario"


def as_delegation(driver: Driver, code: str, type: str, **fields: Any) -> list[Any]:
    """Run a command as the delegation `code`'s link."""
    events = decide(driver.state, parse_command({"type": type, **fields}), driver.now,
                    sender=Actor("delegation", code))
    stamped = []
    for event in events:
        event = event.with_id(f"{int(driver.now * 1000)}-{len(driver.log)}")
        apply(driver.state, event)
        driver.log.append(event)
        stamped.append(event)
    return stamped


def codes(view: dict[str, Any]) -> list[str]:
    return [e["delegation"]["code"] for e in view["speakers"]["queue"]]


# --- prepared lists ---------------------------------------------------------------------------


def test_a_list_prepared_before_the_sitting_is_shown_and_becomes_its_list(meeting: Driver) -> None:
    meeting.run("speaker.add", room=ROOM, delegation="PAN", session_id="plenaria",
                level="minister", language="es")
    meeting.tick(60)
    meeting.run("speaker.add", room=ROOM, delegation="BRB", session_id="plenaria",
                level="minister", language="en", on_behalf_of="CARICOM")
    view = meeting.view()
    assert view["session"] is None and view["speakers"]["for_session"] == "plenaria"
    assert codes(view) == ["PAN", "BRB"]
    brb = view["speakers"]["queue"][1]
    assert brb["on_behalf_of"] == {"code": "CARICOM", "name": REFERENCE.groups_by_code[
        "CARICOM"].name.as_dict()}
    assert brb["level"]["code"] == "minister" and brb["language"] == "en"
    assert brb["wait_s"] == 240.0 and brb["inscribed_at"] == meeting.now
    meeting.run("session.open", room=ROOM, session_id="plenaria")
    view = meeting.view()
    assert codes(view) == ["PAN", "BRB"] and view["speakers"]["for_session"] == "plenaria"
    meeting.run("speaker.next", room=ROOM)
    assert meeting.view()["speakers"]["current"]["level"]["code"] == "minister"


def test_a_closed_sitting_and_another_rooms_sitting_take_no_prepared_entries(
        meeting: Driver) -> None:
    with pytest.raises(Conflict):
        meeting.decide("speaker.add", room=ROOM, delegation="PAN", session_id="gt-seguridad-1")
    with pytest.raises(NotFound):
        meeting.decide("speaker.add", room=ROOM, delegation="PAN", session_id="nope")
    meeting.run("session.open", room=ROOM, session_id="plenaria")
    meeting.run("session.close", room=ROOM)
    with pytest.raises(Conflict):
        meeting.decide("speaker.add", room=ROOM, delegation="PAN", session_id="plenaria")


def test_a_group_statement_needs_a_member_and_a_known_group(meeting: Driver) -> None:
    with pytest.raises(Conflict) as caught:
        meeting.decide("speaker.add", room=ROOM, delegation="USA", session_id="plenaria",
                       on_behalf_of="CARICOM")
    assert caught.value.field == "on_behalf_of"
    with pytest.raises(NotFound):
        meeting.decide("speaker.add", room=ROOM, delegation="USA", session_id="plenaria",
                       level="emperor")


def test_prepared_entries_can_be_moved_and_removed_and_survive_a_snapshot(meeting: Driver) -> None:
    for code in ("PAN", "USA", "MEX"):
        meeting.run("speaker.add", room=ROOM, delegation=code, session_id="plenaria")
    mex = meeting.view()["speakers"]["queue"][2]["entry_id"]
    meeting.run("speaker.move", room=ROOM, entry_id=mex, position=0)
    assert codes(meeting.view()) == ["MEX", "PAN", "USA"]
    meeting.run("speaker.remove", room=ROOM, entry_id=mex)
    assert codes(meeting.view()) == ["PAN", "USA"]
    assert from_dict(REFERENCE, to_dict(meeting.state)) == meeting.state


# --- protocol order ---------------------------------------------------------------------------


def test_list_order_puts_speeches_by_level_then_inscription(meeting: Driver) -> None:
    meeting.run("speaker.add", room=ROOM, delegation="PAN", session_id="plenaria",
                level="head_of_delegation")
    meeting.run("speaker.add", room=ROOM, delegation="USA", session_id="plenaria", kind="reply")
    meeting.run("speaker.add", room=ROOM, delegation="MEX", session_id="plenaria")
    meeting.run("speaker.add", room=ROOM, delegation="BRA", session_id="plenaria",
                level="vice_minister")
    meeting.run("speaker.add", room=ROOM, delegation="COL", session_id="plenaria",
                level="minister")
    meeting.run("speaker.add", room=ROOM, delegation="CAN", session_id="plenaria",
                kind="point_of_order")
    meeting.run("list.order", room=ROOM, by="protocol", session_id="plenaria")
    assert codes(meeting.view()) == ["CAN", "COL", "BRA", "PAN", "MEX", "USA"]
    with pytest.raises(Conflict):
        meeting.decide("list.order", room=ROOM, by="protocol", session_id="plenaria")
    # The chair still moves entries by hand afterwards.
    mex = meeting.view()["speakers"]["queue"][4]["entry_id"]
    meeting.run("speaker.move", room=ROOM, entry_id=mex, position=1)
    assert codes(meeting.view()) == ["CAN", "MEX", "COL", "BRA", "PAN", "USA"]


def test_list_order_of_the_sitting_in_progress_can_be_undone(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.add", room=ROOM, delegation="COL", level="minister")
    plenary.run("list.order", room=ROOM, by="protocol")
    assert codes(plenary.view()) == ["COL", "PAN"]
    assert plenary.view()["speakers"]["undo"]["change"] == "ordered"
    plenary.run("speaker.undo", room=ROOM, expected_version=plenary.state.rooms[ROOM].version)
    assert codes(plenary.view()) == ["PAN", "COL"]


KINDS = st.sampled_from(list(SpeechKind))
LEVELS = st.sampled_from([None, *[lv.code for lv in REFERENCE.levels], "unknown"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KINDS, LEVELS, st.integers(0, 5)), max_size=30))
def test_protocol_order_properties(spec: list[tuple[SpeechKind, str | None, int]]) -> None:
    entries = [Entry(f"sp{i}", f"D{i}", None, kind, float(at), level)
               for i, (kind, level, at) in enumerate(spec)]
    rank = REFERENCE.level_rank
    ordered = protocol_order(entries, rank)
    assert sorted(e.entry_id for e in ordered) == sorted(e.entry_id for e in entries)
    kinds = [e.kind for e in ordered]
    # Points of order first, replies last, each in the order they had.
    n_poo = kinds.count(SpeechKind.POINT_OF_ORDER)
    n_reply = kinds.count(SpeechKind.REPLY)
    assert set(kinds[:n_poo]) <= {SpeechKind.POINT_OF_ORDER}
    assert set(kinds[len(kinds) - n_reply:]) <= {SpeechKind.REPLY}
    for kind in (SpeechKind.POINT_OF_ORDER, SpeechKind.REPLY):
        assert [e for e in ordered if e.kind is kind] == [e for e in entries if e.kind is kind]
    # Speeches by (level, inscription); ties keep their order (stable).
    speeches = [e for e in ordered if e.kind is SpeechKind.SPEECH]
    keys = [(rank.get(e.level or "", len(rank)), e.requested_at,
             entries.index(e)) for e in speeches]
    assert keys == sorted(keys)
    assert protocol_order(ordered, rank) == ordered  # idempotent


# --- agenda items -----------------------------------------------------------------------------


def test_item_start_sets_the_current_item_and_the_minutes_group_by_it(plenary: Driver) -> None:
    with pytest.raises(NotFound):
        plenary.decide("item.start", room=ROOM, item_id="weather")
    plenary.run("item.start", room=ROOM, item_id="informes")
    assert plenary.view()["session"]["item"]["id"] == "informes"
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(100)
    plenary.run("item.start", room=ROOM, item_id="corrupcion-redes")
    plenary.run("speaker.add", room=ROOM, delegation="USA")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(50)
    plenary.run("speaker.stop", room=ROOM)
    with pytest.raises(Conflict):
        plenary.decide("item.start", room=ROOM, item_id="corrupcion-redes")
    minutes = report(fold_all(plenary.log), REFERENCE)
    items = minutes["totals"]["items"]
    assert [(i["item_id"], i["speeches"]) for i in items] == [
        ("informes", 1), ("corrupcion-redes", 1)]
    assert minutes["speeches"][1]["item_title"]["en"].startswith("The fight against corruption")
    plenary.run("item.start", room=ROOM, item_id=None)
    assert plenary.view()["session"]["item"] is None


# --- requests ---------------------------------------------------------------------------------


def test_a_direct_request_joins_the_list_at_once(meeting: Driver) -> None:
    meeting.run("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    (added,) = as_delegation(meeting, "COL", "request.submit", room="gt-seguridad",
                             language="es", level="minister")
    assert added.type == "speaker.added"
    assert codes(meeting.view("gt-seguridad")) == ["COL"]
    assert "requests" not in meeting.view("gt-seguridad")["speakers"]


def test_an_approval_request_waits_for_the_chair_then_is_accepted(plenary: Driver) -> None:
    (sub,) = as_delegation(plenary, "BRB", "request.submit", room=ROOM, level="minister",
                           on_behalf_of="CARICOM", language="en")
    assert sub.type == "request.submitted"
    assert codes(plenary.view()) == []
    desk = room_view(plenary.state, ROOM, plenary.now, Audience.DESK)
    assert [r["request_id"] for r in desk["speakers"]["requests"]] == [sub.data.request_id]
    with pytest.raises(Conflict):  # the same again while it waits
        as_delegation(plenary, "BRB", "request.submit", room=ROOM)
    plenary.tick(30)
    plenary.run("request.accept", room=ROOM, request_id=sub.data.request_id)
    entry = plenary.view()["speakers"]["queue"][0]
    assert entry["delegation"]["code"] == "BRB" and entry["inscribed_at"] == sub.at
    assert room_view(plenary.state, ROOM, plenary.now, Audience.DESK)["speakers"]["requests"] == []


def test_a_declined_request_keeps_the_reason_for_its_delegation(plenary: Driver) -> None:
    (sub,) = as_delegation(plenary, "HTI", "request.submit", room=ROOM)
    plenary.run("request.decline", room=ROOM, request_id=sub.data.request_id,
                reason={"es": "Lista cerrada", "en": "List closed"})
    mine = delegation_view(plenary.state, "HTI", plenary.now)
    assert mine["requests"] == [] and mine["declined"][0]["reason"]["en"] == "List closed"
    assert delegation_view(plenary.state, "PAN", plenary.now)["declined"] == []


def test_a_delegation_acts_only_for_itself(plenary: Driver) -> None:
    (sub,) = as_delegation(plenary, "BRB", "request.submit", room=ROOM)
    plenary.run("speaker.add", room=ROOM, delegation="BRB", kind="reply")
    entry = plenary.entry("BRB")
    for other in REFERENCE.delegations_by_code:
        if other == "BRB":
            continue
        with pytest.raises(Forbidden):
            as_delegation(plenary, other, "request.submit", room=ROOM, delegation="BRB")
        with pytest.raises(Forbidden):
            as_delegation(plenary, other, "request.withdraw", room=ROOM,
                          request_id=sub.data.request_id)
        with pytest.raises(Forbidden):
            as_delegation(plenary, other, "request.withdraw", room=ROOM, entry_id=entry)
        with pytest.raises(Conflict):  # a group it is not a member of
            if other not in REFERENCE.groups_by_code["CARICOM"].members:
                as_delegation(plenary, other, "request.submit", room=ROOM,
                              on_behalf_of="CARICOM")
            else:
                raise Conflict("member")
    as_delegation(plenary, "BRB", "request.withdraw", room=ROOM, request_id=sub.data.request_id)
    as_delegation(plenary, "BRB", "request.withdraw", room=ROOM, entry_id=entry)
    assert codes(plenary.view()) == []


def test_a_closed_list_refuses_delegations_as_it_refuses_chairs(meeting: Driver) -> None:
    meeting.run("session.open", room="gt-seguridad", session_id="gt-seguridad-1")
    meeting.run("list.close", room="gt-seguridad")
    with pytest.raises(Conflict):
        as_delegation(meeting, "COL", "request.submit", room="gt-seguridad")
    as_delegation(meeting, "COL", "request.submit", room="gt-seguridad", kind="reply")


def test_a_request_for_the_next_sitting_joins_its_prepared_list(meeting: Driver) -> None:
    (sub,) = as_delegation(meeting, "BRA", "request.submit", room=ROOM, language="pt")
    assert sub.data.session_id == "plenaria"
    meeting.run("request.accept", room=ROOM, request_id=sub.data.request_id)
    assert codes(meeting.view()) == ["BRA"] and meeting.view()["session"] is None
    assert meeting.view()["speakers"]["queue"][0]["language"] == "pt"


def test_pending_requests_lapse_when_their_sitting_closes(plenary: Driver) -> None:
    as_delegation(plenary, "BRB", "request.submit", room=ROOM)
    plenary.run("session.close", room=ROOM)
    assert plenary.state.rooms[ROOM].requests == []


# --- time per delegation ----------------------------------------------------------------------


def test_totals_count_each_delegations_speeches_and_an_undo_takes_one_back(
        plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.add", room=ROOM, delegation="USA")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(100)
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(40)
    view = plenary.view()
    totals = {t["delegation"]["code"]: t for t in view["totals"]}
    assert totals["PAN"]["speeches"] == 1 and totals["PAN"]["spoken_s"] == 100
    assert totals["USA"]["spoken_s"] == 40 and totals["USA"]["budget_s"] == 360
    assert view["speakers"]["current"]["spoken_before_s"] == 0.0
    plenary.run("speaker.undo", room=ROOM, expected_version=plenary.state.rooms[ROOM].version)
    totals = {t["delegation"]["code"]: t for t in plenary.view()["totals"]}
    assert totals["PAN"]["speeches"] == 0 and totals["PAN"]["spoken_s"] == 100  # live again
    assert from_dict(REFERENCE, to_dict(plenary.state)) == plenary.state


def test_the_forecast_is_the_time_left_plus_the_limits_ahead(plenary: Driver) -> None:
    plenary.run("speaker.add", room=ROOM, delegation="PAN")
    plenary.run("speaker.add", room=ROOM, delegation="USA")
    plenary.run("speaker.add", room=ROOM, delegation="MEX", kind="reply")
    plenary.run("speaker.next", room=ROOM)
    plenary.tick(40)
    speakers = plenary.view()["speakers"]
    assert [e["wait_s"] for e in speakers["queue"]] == [200.0, 440.0]
    assert speakers["forecast_end"] == plenary.now + 200 + 240 + 120
