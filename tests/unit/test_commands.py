"""Command validation: every refused body names its field with the `invalid` code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from dashboard.domain import COMMAND_TYPES, Invalid, parse_command
from dashboard.store.meeting import hash_of

VALID: dict[str, dict[str, Any]] = {
    "session.open": {"room": "plenario", "session_id": "plenaria"},
    "session.suspend": {"room": "plenario", "until": 1650490000.5},
    "session.resume": {"room": "plenario"},
    "session.close": {"room": "plenario"},
    "session.signal_start_due": {"room": "plenario", "session_id": "plenaria"},
    "speaker.add": {"room": "plenario", "delegation": "PAN", "kind": "reply"},
    "speaker.remove": {"room": "plenario", "entry_id": "sp1"},
    "speaker.move": {"room": "plenario", "entry_id": "sp1", "position": 0},
    "speaker.next": {"room": "plenario"},
    "speaker.start": {"room": "plenario", "entry_id": "sp1"},
    "speaker.stop": {"room": "plenario"},
    "speaker.record_overrun": {"room": "plenario", "entry_id": "sp1"},
    "speaker.undo": {"room": "plenario", "expected_version": "12-0"},
    "timer.pause": {"room": "plenario"},
    "timer.resume": {"room": "plenario"},
    "timer.extend": {"room": "plenario", "seconds": 30},
    "list.close": {"room": "plenario"},
    "list.reopen": {"room": "plenario"},
    "announcement.post": {"text": {"es": "Hola", "en": "Hello"}, "rooms": ["*"]},
    "announcement.retract": {"id": "an1"},
    "announcement.expire": {"id": "an1"},
    "podium.message": {"room": "plenario", "preset": "conclude", "blink": True},
    "podium.clear": {"room": "plenario"},
    "screen.identify": {"screen_id": "left-1"},
    "screen.reload": {"screen_id": "left-1"},
    "screen.rename": {"screen_id": "left-1", "name": "Plenario izquierda"},
    "screen.set": {"screen_id": "left-1", "lang": "en", "room": "plenario"},
    "list.order": {"room": "plenario", "by": "protocol", "session_id": "plenaria"},
    "item.start": {"room": "plenario", "item_id": None},
    "request.submit": {"room": "plenario", "level": "minister", "language": "pt",
                       "on_behalf_of": "MERCOSUR"},
    "request.withdraw": {"room": "plenario", "request_id": "rq1"},
    "request.accept": {"room": "plenario", "request_id": "rq1"},
    "request.decline": {"room": "plenario", "request_id": "rq1",
                        "reason": {"es": "Lista cerrada", "en": "List closed"}},
}


def invalid_field(body: Any) -> str | None:
    with pytest.raises(Invalid) as caught:
        parse_command(body)
    assert caught.value.code == "invalid"
    assert caught.value.status == 422
    return caught.value.field


def test_every_command_type_has_a_valid_example() -> None:
    missing = sorted(COMMAND_TYPES - set(VALID))
    assert not missing, f"commands without a valid body in VALID (add one): {missing}"
    assert set(VALID) == COMMAND_TYPES, "VALID has a body for a type that is not a command"


def test_an_undo_must_say_which_version_it_undoes() -> None:
    assert invalid_field({"type": "speaker.undo", "room": "plenario"}) == "expected_version"
    assert invalid_field({"type": "speaker.undo", "room": "plenario",
                          "expected_version": None}) == "expected_version"


@pytest.mark.parametrize("kind", ["speaker.next", "speaker.undo", "announcement.post"])
def test_an_expected_version_is_a_stream_id_and_no_longer(kind: str) -> None:
    # A stream id is two 64-bit numbers (at most 20 digits each): a longer one can
    # match no room's version, and it would be echoed back in the `stale` answer.
    body = {"type": kind, **VALID[kind]}
    assert parse_command({**body, "expected_version": f"{'9' * 20}-{'9' * 20}"})
    assert invalid_field({**body, "expected_version": "1" * 21 + "-0"}) == "expected_version"
    assert invalid_field({**body, "expected_version": "0-" + "1" * 5000}) == "expected_version"


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_commands_parse_with_their_type(kind: str) -> None:
    command = parse_command({"type": kind, **VALID[kind]})
    assert command.type == kind
    assert command.expected_version == VALID[kind].get("expected_version")
    assert command.command_id is None


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_command_takes_expected_version_and_command_id(kind: str) -> None:
    body = {"type": kind, **VALID[kind], "expected_version": "12-0", "command_id": "c:1_a.b-2"}
    command = parse_command(body)
    assert command.expected_version == "12-0"
    assert command.command_id == "c:1_a.b-2"


@pytest.mark.parametrize("kind", sorted(VALID))
def test_unknown_extra_fields_are_refused(kind: str) -> None:
    assert invalid_field({"type": kind, **VALID[kind], "colour": "red"}) == "colour"


@pytest.mark.parametrize("kind", sorted(
    k for k in VALID if not k.startswith(("announcement.", "screen."))))
def test_room_commands_require_a_room(kind: str) -> None:
    body = {"type": kind, **VALID[kind]}
    del body["room"]
    assert invalid_field(body) == "room"


@pytest.mark.parametrize("kind", sorted(k for k in VALID if k.startswith("screen.")))
def test_screen_commands_name_their_screen(kind: str) -> None:
    body = {"type": kind, **VALID[kind]}
    assert invalid_field({**body, "screen_id": "a b"}) == "screen_id"
    del body["screen_id"]
    assert invalid_field(body) == "screen_id"


def test_a_podium_message_is_a_text_or_a_preset_not_both() -> None:
    body = {"type": "podium.message", "room": "plenario", "preset": "conclude",
            "text": {"es": "Concluya ya", "en": "Conclude now"}}
    assert invalid_field(body) == "preset"
    with pytest.raises(Invalid, match="preset: give text or preset, not both"):
        parse_command(body)
    for one in ("text", "preset"):
        parse_command({k: v for k, v in body.items() if k != one})


def test_a_screen_name_is_bounded() -> None:
    body = {"type": "screen.rename", "screen_id": "s1", "name": "x" * 81}
    assert invalid_field(body) == "name"


def test_a_screen_name_of_invisible_characters_is_refused_naming_it() -> None:
    """Zero-width and direction characters alone show nothing: refused as any text is
    (422 naming the field), not a failure of the decider."""
    body = {"type": "screen.rename", "screen_id": "s1", "name": "\u200b\u202e"}
    assert invalid_field(body) == "name"


def test_announcement_commands_accept_an_optional_room() -> None:
    command = parse_command({"type": "announcement.retract", "id": "an1", "room": "plenario"})
    assert command.room == "plenario"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": "speaker.shout", "room": "plenario"}, "type"),
        ({"type": 7}, "type"),
        ({"type": "session.open", "room": "plenario"}, "session_id"),
        ({"type": "session.open", "room": 3, "session_id": "plenaria"}, "room"),
        ({"type": "speaker.add", "room": "plenario"}, "delegation"),
        ({"type": "speaker.add", "room": "plenario", "delegation": "PAN", "kind": "rant"}, "kind"),
        (
            {"type": "speaker.add", "room": "plenario", "delegation": "PAN", "speaker_name": 5},
            "speaker_name",
        ),
        (
            {
                "type": "speaker.add",
                "room": "plenario",
                "delegation": "PAN",
                "speaker_name": "x" * 121,
            },
            "speaker_name",
        ),
        ({"type": "speaker.move", "room": "plenario", "entry_id": "sp1"}, "position"),
        (
            {"type": "speaker.move", "room": "plenario", "entry_id": "sp1", "position": "2"},
            "position",
        ),
        (
            {"type": "speaker.move", "room": "plenario", "entry_id": "sp1", "position": -1},
            "position",
        ),
        ({"type": "timer.extend", "room": "plenario", "seconds": 0}, "seconds"),
        ({"type": "timer.extend", "room": "plenario", "seconds": 3601}, "seconds"),
        ({"type": "timer.extend", "room": "plenario", "seconds": 1.5}, "seconds"),
        ({"type": "timer.extend", "room": "plenario", "seconds": True}, "seconds"),
        ({"type": "session.suspend", "room": "plenario", "until": "soon"}, "until"),
        (
            {"type": "speaker.next", "room": "plenario", "expected_version": "abc"},
            "expected_version",
        ),
        ({"type": "speaker.next", "room": "plenario", "command_id": "has space"}, "command_id"),
        ({"type": "speaker.next", "room": "plenario", "command_id": "x" * 65}, "command_id"),
        ({"type": "speaker.next", "room": "plenario", "command_id": ""}, "command_id"),
        ({"type": "announcement.post", "rooms": ["*"]}, "text"),
        ({"type": "announcement.post", "text": {"es": "Hola"}}, "text.en"),
        ({"type": "announcement.post", "text": {"es": "x" * 501, "en": "ok"}}, "text.es"),
        ({"type": "announcement.post", "text": {"es": "ok", "en": "x" * 501}}, "text.en"),
        ({"type": "announcement.post", "text": {"es": "  ", "en": ""}}, "text"),
        ({"type": "announcement.post", "text": {"es": "a", "en": "b", "fr": "c"}}, "text.fr"),
        ({"type": "announcement.post", "text": "hola"}, "text"),
        ({"type": "announcement.post", "text": {"es": "a", "en": "b"}, "level": "loud"}, "level"),
        ({"type": "announcement.post", "text": {"es": "a", "en": "b"}, "rooms": []}, "rooms"),
        ({"type": "announcement.post", "text": {"es": "a", "en": "b"}, "rooms": 4}, "rooms"),
        ({"type": "announcement.post", "text": {"es": "a", "en": "b"}, "rooms": [4]}, "rooms[0]"),
        (
            {"type": "announcement.post", "text": {"es": "a", "en": "b"}, "expires_at": "later"},
            "expires_at",
        ),
        ({"type": "announcement.retract"}, "id"),
    ],
)
def test_bad_fields_are_named(body: dict[str, Any], field: str) -> None:
    assert invalid_field(body) == field


@pytest.mark.parametrize("body", [None, [], "speaker.next", 3])
def test_a_body_that_is_not_an_object_is_invalid(body: Any) -> None:
    invalid_field(body)


def test_texts_are_trimmed_and_one_language_may_be_blank() -> None:
    command = parse_command(
        {"type": "announcement.post", "text": {"es": "  Hola  ", "en": " "}, "rooms": "hotel"}
    )
    assert command.text.es == "Hola" and command.text.en == ""
    assert command.rooms == "hotel"
    assert command.level == "info"


def test_a_blank_speaker_name_means_none_and_kind_defaults_to_speech() -> None:
    command = parse_command(
        {"type": "speaker.add", "room": "plenario", "delegation": "PAN", "speaker_name": "  "}
    )
    assert command.speaker_name is None
    assert command.kind == "speech"


def test_integers_are_accepted_for_instants() -> None:
    command = parse_command({"type": "session.suspend", "room": "plenario", "until": 1650490000})
    assert command.until == 1650490000.0


def test_control_characters_are_taken_out_of_typed_texts() -> None:
    """A NUL, a bell or an escape shows nothing on a screen and can upset whatever reads
    the record: taken out as the invisible characters are; alone, refused."""
    command = parse_command({"type": "speaker.add", "room": "plenario", "delegation": "PAN",
                             "speaker_name": "Ana\x00 P\x07\x1b[31mérez\x7f\x85"})
    assert command.speaker_name == "Ana P[31mérez"
    body = {"type": "screen.rename", "screen_id": "s1", "name": "\x00\x07\x9f"}
    assert invalid_field(body) == "name"
    post = parse_command({**VALID["announcement.post"], "type": "announcement.post",
                          "text": {"es": "Uno\ndos\tfin\r", "en": "One\x0btwo"}})
    assert post.text.es == "Uno\ndos\tfin" and post.text.en == "Onetwo"


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_commands_hash_is_the_one_earlier_releases_kept(kind: str) -> None:
    """The answer kept for a command id holds a hash of its body: a retry sent to this
    release must hash as it did when an earlier one kept that answer."""
    body = {"type": kind, **VALID[kind], "command_id": "c1"}
    if kind == "announcement.post":
        body["text"] = {"es": "Sesión «Año» \u2028 ñ", "en": 'say "hi"\n\t</script>'}
    command = parse_command(body)
    earlier = json.dumps(command.model_dump(mode="json", exclude={"command_id"}),
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hash_of(command) == hashlib.sha256(earlier.encode()).hexdigest()
    assert hash_of(parse_command({**body, "command_id": "c2"})) == hash_of(command)
