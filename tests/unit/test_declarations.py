"""Every command and every event is declared completely: a gap is a failing test, not a 500."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from dashboard.domain import (
    COMMAND_TYPES,
    COMMANDS,
    Event,
    EventType,
    Role,
    may_send,
    refusal,
)
from dashboard.domain.commands import BaseCommand
from dashboard.domain.events import APPLIERS, EVENTS, UPCASTERS, Payload, event, upcaster
from dashboard.domain.minutes import FOLDS, IGNORED
from dashboard.domain.snapshot import from_dict, to_dict
from tests.unit.conftest import REFERENCE, Driver

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "dashboard" / "translations"


def test_the_union_and_the_type_list_are_the_declared_commands() -> None:
    assert COMMAND_TYPES == set(COMMANDS)
    assert len(COMMANDS) == 33, "a command added or removed: count it here"


def _models(cls: type[BaseCommand]) -> Iterator[type[BaseCommand]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)


def test_every_command_model_is_declared_with_a_decider() -> None:
    """A model whose `type` is one Literal is a command: a decider must declare it."""
    declared = {spec.model for spec in COMMANDS.values()}
    literal = [m for m in _models(BaseCommand)
               if len(getattr(m.model_fields["type"].annotation, "__args__", ())) == 1]
    undeclared = sorted(m.__name__ for m in literal if m not in declared)
    assert not undeclared, f"command models without a @command decider: {undeclared}"
    assert set(literal) == declared


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_every_command_has_a_model_a_decider_a_permission_and_a_name(kind: str) -> None:
    spec = COMMANDS[kind]
    assert spec.command == kind
    assert spec.model.model_fields["type"].annotation == Literal[kind]  # type: ignore[valid-type]
    params = list(inspect.signature(spec.decider).parameters)
    expected = ["state", "room", "cmd", "now"] if spec.room_scoped else ["state", "cmd", "now"]
    # A decider bounded by the live state's limits declares them last.
    assert params == expected + (["limits"] if spec.takes_limits else []) + (
        ["sender"] if spec.takes_sender else [])
    assert spec.may.roles and spec.may.roles <= set(Role)
    assert Role.SCREEN not in spec.may.roles
    assert Role.ADMIN in spec.may.roles  # the contract: an admin may send every command
    assert spec.may.room_bound == (Role.CHAIR in spec.may.roles)
    # A delegation's link acts for itself only: its deciders are told who sent them.
    assert spec.takes_sender == (Role.DELEGATION in spec.may.roles)
    assert spec.name.strip()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_command_name_is_translated_in_both_catalogues(lang: str) -> None:
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalogue = read_po(f, locale=lang)
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    for spec in COMMANDS.values():
        message = catalogue.get(spec.name)
        assert message is not None, f"{spec.command}: {spec.name!r} not in the {lang} catalogue"
        assert message.string and not message.fuzzy, f"{spec.name!r} untranslated ({lang})"
        shown = compiled.get(spec.name)
        assert shown is not None and shown.string == message.string, (
            f"{spec.name!r} not compiled into the {lang} .mo (run scripts/i18n.sh compile)")


def test_who_may_send_what() -> None:
    assert may_send("chair", "plenario", "speaker.next", "plenario")
    assert may_send("chair", "*", "speaker.next", "plenario")
    assert not may_send("chair", "gt-seguridad", "speaker.next", "plenario")
    assert not may_send("chair", "plenario", "announcement.post", None)
    assert may_send("staff", "*", "announcement.retract", None)
    assert not may_send("staff", "*", "speaker.next", "plenario")
    assert not may_send("screen", "plenario", "speaker.next", "plenario")
    assert not may_send("chair", "*", "announcement.expire", None)
    assert may_send("system", "*", "announcement.expire", None)
    assert may_send("admin", "*", "speaker.record_overrun", "plenario")
    assert not may_send("admin", "*", "speaker.fly", "plenario")  # nobody declared it


def test_a_refusal_says_which_room_the_access_is_for_or_which_command_it_was() -> None:
    assert refusal("chair", "gt-seguridad", "speaker.next", "plenario") == (
        "this access is for room gt-seguridad")
    assert refusal("staff", "*", "speaker.next", "plenario") == (
        "the staff role may not send speaker.next (Next speaker)")
    assert refusal("screen", "plenario", "speaker.fly", "plenario") == (
        "the screen role may not send commands")
    assert refusal("chair", "plenario", "speaker.fly", "plenario") is None  # 422 follows


def test_every_event_type_is_declared_applied_and_upcast_to_its_version() -> None:
    assert set(EVENTS) == set(EventType), (
        f"EventType members without a payload class: {sorted(set(EventType) - set(EVENTS))}")
    assert set(APPLIERS) == set(EVENTS), (
        f"event types without an @applies applier: {sorted(set(EVENTS) - set(APPLIERS))}")
    for kind, cls in EVENTS.items():
        assert dataclasses.is_dataclass(cls) and cls.TYPE == kind
        for version in range(1, cls.VERSION):
            assert (kind, version) in UPCASTERS, f"{kind}: no upcaster from v{version}"


def test_the_minutes_fold_handles_or_ignores_every_event_type() -> None:
    missing = sorted(set(EVENTS) - set(FOLDS) - IGNORED)
    assert not missing, f"event types neither in minutes.FOLDS nor in minutes.IGNORED: {missing}"
    assert set(FOLDS) | IGNORED == set(EVENTS)
    assert not set(FOLDS) & IGNORED
    # The minutes keep their own copy of each speech in progress (its limit, its
    # pauses): an event that changes the speech with the floor or its clock must be
    # folded, and ignoring one must be a choice, not a way to make this test pass.
    assert len(IGNORED) == 17, (
        "an event type added to or taken from minutes.IGNORED: if it changes the speech "
        "with the floor or its clock, fold it (minutes.FOLDS); else count it here")


def test_the_contract_lists_every_command_and_event_type() -> None:
    contract = (ROOT / "docs" / "contract.md").read_text()
    rows = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", contract, re.MULTILINE))
    missing = sorted(set(COMMANDS) - rows)
    assert not missing, f"commands without a row in docs/contract.md's table: {missing}"
    assert not rows - set(COMMANDS), f"rows for no command: {sorted(rows - set(COMMANDS))}"
    # The list of events, not the whole page: a command's row, or prose, naming an event
    # type (or a command spelled like one) does not list it.
    listed = contract.split("\nEvents (past tense)", 1)[1].split("Optional payload fields", 1)[0]
    named = set()
    for group in re.findall(r"`([a-z_]+)\.([a-z_|]+)`", listed):
        named |= {f"{group[0]}.{name}" for name in group[1].split("|")}
    missing = sorted(set(EVENTS) - named)
    assert not missing, f"event types docs/contract.md's list of events lacks: {missing}"
    assert not named - set(EVENTS), f"listed but not event types: {sorted(named - set(EVENTS))}"


def _every_event(driver: Driver) -> Iterator[Event]:
    """A meeting that makes every event type at least once."""
    room, run, tick = "plenario", driver.run, driver.tick
    steps: list[tuple[str, dict[str, Any]]] = [
        ("session.signal_start_due", {"room": room, "session_id": "plenaria"}),
        ("session.open", {"room": room, "session_id": "plenaria"}),
        ("speaker.add", {"room": room, "delegation": "PAN"}),
        ("speaker.add", {"room": room, "delegation": "USA"}),
        ("speaker.add", {"room": room, "delegation": "MEX", "kind": "reply"}),
        ("speaker.add", {"room": room, "delegation": "BRA"}),
        ("speaker.move", {"room": room, "entry_id": "sp2", "position": 0}),
        ("speaker.remove", {"room": room, "entry_id": "sp4"}),
        ("speaker.add", {"room": room, "delegation": "BRB", "session_id": "clausura",
                         "level": "minister", "on_behalf_of": "CARICOM", "language": "en"}),
        ("item.start", {"room": room, "item_id": "informes"}),
        ("request.submit", {"room": room, "delegation": "COL", "level": "minister"}),
        ("request.submit", {"room": room, "delegation": "ECU"}),
        ("request.submit", {"room": room, "delegation": "PER"}),
        ("request.accept", {"room": room, "request_id": "rq1"}),
        ("request.decline", {"room": room, "request_id": "rq2",
                             "reason": {"es": "Ya habló", "en": "Has spoken"}}),
        ("request.withdraw", {"room": room, "delegation": "PER", "request_id": "rq3"}),
        ("list.order", {"room": room, "by": "protocol"}),
        ("speaker.next", {"room": room}),
        ("speaker.undo", {"room": room}),
        ("speaker.next", {"room": room}),
        ("timer.pause", {"room": room}),
        ("timer.resume", {"room": room}),
        ("timer.extend", {"room": room, "seconds": 5}),
        ("list.close", {"room": room}),
        ("list.reopen", {"room": room}),
        ("announcement.post", {"text": {"es": "Hola", "en": "Hi"}, "expires_at": 10.0}),
        ("announcement.post", {"text": {"es": "Otro", "en": "Another"}, "rooms": "hotel"}),
        ("announcement.retract", {"id": "an2"}),
        ("speaker.start", {"room": room, "entry_id": "sp1"}),
        ("session.suspend", {"room": room}),
        ("session.resume", {"room": room}),
        ("speaker.stop", {"room": room}),
        ("speaker.next", {"room": room}),
        ("podium.message", {"room": room, "preset": "conclude", "blink": True}),
        ("podium.clear", {"room": room}),
        ("podium.message", {"room": room, "text": {"es": "Hola", "en": "Hi"}}),
        ("screen.rename", {"screen_id": "left-1", "name": "Plenario izquierda"}),
        ("screen.identify", {"screen_id": "left-1"}),
        ("screen.reload", {"screen_id": "left-1"}),
        ("screen.set", {"screen_id": "left-1", "lang": "en", "room": "plenario"}),
    ]
    for kind, fields in steps:
        if kind == "announcement.post" and "expires_at" in fields:
            fields = {**fields, "expires_at": driver.now + 10}
        if kind == "speaker.undo":
            fields = {**fields, "expected_version": driver.state.rooms[room].version}
        yield from run(kind, **fields)
        tick(3)
    tick(600)
    current = driver.state.rooms[room].current
    assert current is not None
    yield from run("speaker.record_overrun", room=room, entry_id=current.entry_id)
    yield from run("announcement.expire", id="an1")
    yield from run("session.close", room=room)


def test_the_meeting_of_every_event_sends_every_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's events are read back and snapshotted as that command makes them
    (screen.set's and screen.rename's screen.directed carry different fields)."""
    driver, sent = Driver(REFERENCE), set()
    run = driver.run

    def counted(command: str, /, **fields: Any) -> list[Event]:
        sent.add(command)
        return run(command, **fields)

    monkeypatch.setattr(driver, "run", counted)
    for _ in _every_event(driver):
        pass
    missing = sorted(set(COMMANDS) - sent)
    assert not missing, f"commands _every_event never sends (add a step): {missing}"


def test_the_snapshot_keeps_what_every_event_type_changes() -> None:
    driver = Driver(REFERENCE)
    seen = set()
    for made in _every_event(driver):
        seen.add(made.type)
        assert from_dict(REFERENCE, to_dict(driver.state)) == driver.state, made.type
    missing = sorted(set(EVENTS) - seen)
    assert not missing, f"event types _every_event never makes (add a step): {missing}"


def test_each_event_read_back_from_its_stored_form_is_the_same() -> None:
    driver = Driver(REFERENCE)
    for made in _every_event(driver):
        assert Event.from_fields(made.to_fields(), made.id) == made


@pytest.fixture
def versioned() -> Iterator[type[Payload]]:
    """A payload of a test-only type at version 3, renamed and extended since version 1."""

    @event("test.renamed", version=3)  # type: ignore[arg-type]
    @dataclasses.dataclass(frozen=True, slots=True)
    class Renamed(Payload):
        who: str
        seconds: int

    @upcaster("test.renamed", 1)
    def v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"who": data["name"]}

    @upcaster("test.renamed", 2)
    def v2_v3(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "seconds": 0}

    yield Renamed
    del EVENTS["test.renamed"], UPCASTERS[("test.renamed", 1)], UPCASTERS[("test.renamed", 2)]


def test_old_versions_are_upcast_when_read_and_new_ones_carry_their_version(versioned) -> None:
    v1 = {"type": "test.renamed", "room": "", "data": '{"name":"PAN"}', "at": "1.0"}
    assert Event.from_fields(v1).data == versioned("PAN", 0)
    v2 = {**v1, "data": '{"who":"PAN"}', "v": "2"}
    assert Event.from_fields(v2).data == versioned("PAN", 0)
    fresh = Event.of(versioned("USA", 7), None, 2.0)
    assert fresh.to_fields()["v"] == "3"
    assert Event.from_fields(fresh.to_fields()) == fresh
    with pytest.raises(ValueError, match="newer"):
        Event.from_fields({**v1, "data": '{"who":"PAN","seconds":1}', "v": "4"})
