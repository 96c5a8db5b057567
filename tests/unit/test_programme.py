"""Programme files: the bundled reference meeting, and every kind of bad file."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from dashboard.domain import ProgrammeError, default_programme_path, load_programme

PANAMA = ZoneInfo("America/Panama")

MINIMAL: dict[str, Any] = {
    "meeting": {
        "id": "demo",
        "title": {"es": "Reunión", "en": "Meeting"},
        "timezone": "America/Panama",
        "start_date": "2022-04-20",
        "end_date": "2022-04-20",
    },
    "venues": [{"id": "v1", "name": {"es": "Sede", "en": "Venue"}}],
    "rooms": [
        {"id": "r1", "name": {"es": "Sala 1", "en": "Room 1"}, "venue": "v1"},
        {"id": "r2", "name": {"es": "Sala 2", "en": "Room 2"}, "venue": "v1"},
    ],
    "sessions": [
        {
            "id": "s1",
            "room": "r1",
            "kind": "plenary",
            "title": {"es": "Pleno", "en": "Plenary"},
            "start": "2022-04-20T15:00",
            "end": "2022-04-20T17:00",
        }
    ],
    "delegations": [{"code": "PAN", "kind": "state", "name": {"es": "Panamá", "en": "Panama"}}],
    "speaking_limits": {"plenary": {"speech": 240, "point_of_order": 60, "reply": 120}},
    "notices": [{"at": "2022-04-20T14:45", "text": {"es": "Pronto", "en": "Soon"}, "rooms": ["*"]}],
}


def write(tmp_path: Path, content: Any, name: str = "programme.yaml") -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def changed(edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    edit(data)
    return data


def refused(path: Path) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


# --- the bundled reference meeting --------------------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    return load_programme(default_programme_path())


def test_the_bundled_file_is_shipped_with_the_package() -> None:
    path = default_programme_path()
    assert path.name == "reference.yaml" and path.is_file()
    assert path.parent.name == "programmes"


def test_reference_meeting_facts(reference) -> None:
    meeting = reference.meeting
    assert meeting.id == "mmm-panama-2022"
    assert meeting.timezone == "America/Panama"
    assert (meeting.start_date.isoformat(), meeting.end_date.isoformat()) == (
        "2022-04-19",
        "2022-04-20",
    )
    assert meeting.title.es and meeting.title.en


def test_reference_venues_and_rooms(reference) -> None:
    assert {v.id for v in reference.venues} == {"palacio-bolivar", "hotel"}
    assert reference.venues_by_id["palacio-bolivar"].name.es == "Palacio Bolívar"
    plenary_rooms = {s.room for s in reference.sessions if s.kind == "plenary"}
    assert {reference.rooms_by_id[r].venue for r in plenary_rooms} == {"palacio-bolivar"}
    wg_rooms = {s.room for s in reference.sessions if s.kind == "working_group"}
    assert len(wg_rooms) >= 3
    assert {r.venue for r in reference.rooms} == {"palacio-bolivar", "hotel"}


def local(reference, value: datetime) -> datetime:
    return datetime.fromtimestamp(reference.instant(value), PANAMA)


def test_reference_20_april_morning_groups_afternoon_plenary_then_closing(reference) -> None:
    by_kind: dict[str, list] = {}
    for sitting in reference.sessions:
        by_kind.setdefault(sitting.kind, []).append(sitting)
    groups, plenaries, closings = by_kind["working_group"], by_kind["plenary"], by_kind["closing"]
    assert len(groups) >= 3 and len({g.room for g in groups}) == len(groups)
    for group in groups:
        start = local(reference, group.start)
        assert start.date().isoformat() == "2022-04-20" and start.hour < 12
    (plenary,) = plenaries
    (closing,) = closings
    assert local(reference, plenary.start).hour >= 13
    assert local(reference, plenary.start).date().isoformat() == "2022-04-20"
    assert reference.instant(closing.start) >= reference.instant(plenary.end)
    assert "conclusi" in closing.title.es.lower() and "conclusion" in closing.title.en.lower()


def test_reference_times_are_read_in_panama_time(reference) -> None:
    plenary = reference.sessions_by_id["plenaria"]
    assert (
        reference.instant(plenary.start)
        == datetime(2022, 4, 20, 20, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    )


def test_reference_delegations(reference) -> None:
    codes = {d.code for d in reference.delegations}
    assert len(codes) >= 22
    named = {"BRA", "CAN", "COL", "CRI", "CHL", "ECU", "USA", "MEX", "PER", "PAN"}
    caribbean = {"ATG", "BHS", "BRB", "BLZ", "DOM", "GUY", "HTI", "JAM", "VCT", "TTO"}
    assert named | caribbean <= codes
    kinds = {d.code: d.kind for d in reference.delegations}
    assert kinds["OAS"] == kinds["IOM"] == kinds["UNHCR"] == "international_organisation"
    assert kinds["IDB"] == "development_bank"
    assert "ngo" in kinds.values()
    assert reference.delegations_by_code["PAN"].host is True
    assert reference.delegations_by_code["VCT"].name.es == "San Vicente y las Granadinas"
    assert "Banco Interamericano de Desarrollo" in reference.delegations_by_code["IDB"].name.es


def test_reference_limits_and_notices(reference) -> None:
    assert set(reference.speaking_limits) >= {"working_group", "plenary", "closing"}
    notices = reference.timed_notices()
    assert notices and all(n["text"]["es"] and n["text"]["en"] for n in notices)
    plenary_start = reference.instant(reference.sessions_by_id["plenaria"].start)
    assert any(n["at"] == plenary_start - 15 * 60 and n["rooms"] == ["*"] for n in notices)
    for notice in notices:
        assert reference.resolve_rooms(notice["rooms"])


def test_public_dict_shape(reference) -> None:
    public = reference.public_dict()
    assert set(public) == {"meeting", "rooms", "sessions", "delegations", "venues", "levels",
                           "groups"}
    json.dumps(public, allow_nan=False)
    assert public["delegations"][0] == {
        "code": "PAN",
        "name": {"es": "Panamá", "en": "Panama"},
        "kind": "state",
    }
    session = public["sessions"][0]
    assert set(session) == {"id", "room", "title", "kind", "scheduled_start", "scheduled_end",
                            "inscription", "budget_s", "items", "warn_s"}
    assert isinstance(session["scheduled_start"], float)
    assert public["rooms"][0].keys() == {"id", "name", "venue"}


# --- loading other files ------------------------------------------------------------------------


def test_a_minimal_yaml_file_loads(tmp_path: Path) -> None:
    programme = load_programme(write(tmp_path, MINIMAL))
    assert programme.timed_notices()[0]["id"] == "notice-0"
    assert programme.instant(programme.sessions[0].start) == programme.instant(
        datetime(2022, 4, 20, 15, 0, tzinfo=PANAMA)
    )


def test_json_files_load_too(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(MINIMAL), "programme.json")
    assert load_programme(str(path)).meeting.id == "demo"


def test_explicit_offsets_are_kept(tmp_path: Path) -> None:
    def edit(d: dict) -> None:
        d["sessions"][0]["start"] = "2022-04-20T20:00:00+00:00"

    programme = load_programme(write(tmp_path, changed(edit)))
    assert programme.instant(programme.sessions[0].start) == programme.instant(
        datetime(2022, 4, 20, 15, 0, tzinfo=PANAMA)
    )


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "meeting:\n  id: demo\n  title: {es: [unclosed\n")
    error = refused(path)
    assert "line " in error.place and "column " in error.place
    assert "YAML" in error.reason


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, '{"meeting": \n  oops}', "p.json"))
    assert error.place == "line 2, column 3"


def test_a_missing_file_is_a_programme_error(tmp_path: Path) -> None:
    error = refused(tmp_path / "absent.yaml")
    assert error.place == "file"


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert refused(write(tmp_path, "- just\n- a list\n")).place == "(top)"


@pytest.mark.parametrize(
    ("edit", "place", "reason"),
    [
        (lambda d: d["rooms"][1].update(venue="moon"), "rooms[1].venue", "unknown venue"),
        (lambda d: d["sessions"][0].update(room="attic"), "sessions[0].room", "unknown room"),
        (
            lambda d: d["rooms"].append(dict(d["rooms"][0])),
            "rooms[2].id",
            "duplicate id",
        ),
        (lambda d: d["venues"].append(dict(d["venues"][0])), "venues[1].id", "duplicate id"),
        (
            lambda d: d["sessions"].append(dict(d["sessions"][0])),
            "sessions[1].id",
            "duplicate id",
        ),
        (
            lambda d: d["delegations"].append(dict(d["delegations"][0])),
            "delegations[1].code",
            "duplicate code",
        ),
        (
            lambda d: d["sessions"][0].update(end="2022-04-20T14:00"),
            "sessions[0].end",
            "ends before it starts",
        ),
        (
            lambda d: d["sessions"][0].update(start="2022-05-01T09:00", end="2022-05-01T10:00"),
            "sessions[0].start",
            "outside the meeting",
        ),
        (
            lambda d: d["meeting"].update(timezone="Mars/Olympus_Mons"),
            "meeting.timezone",
            "unknown time zone",
        ),
        (
            lambda d: d["meeting"].update(end_date="2022-04-01"),
            "meeting.end_date",
            "ends before it starts",
        ),
        (lambda d: d["rooms"][0].pop("name"), "rooms[0].name", "missing required field"),
        (lambda d: d.pop("meeting"), "meeting", "missing required field"),
        (lambda d: d["rooms"][0].update(colour="red"), "rooms[0].colour", "unknown field"),
        (lambda d: d["rooms"][0]["name"].pop("en"), "rooms[0].name.en", "missing"),
        (
            lambda d: d["delegations"][0].update(kind="club"),
            "delegations[0].kind",
            "Input should be",
        ),
        (
            lambda d: d["sessions"][0].update(kind="debate"),
            "sessions[0].kind",
            "no speaking_limits",
        ),
        (
            lambda d: d["speaking_limits"]["plenary"].update(speech=0),
            "speaking_limits.plenary.speech",
            "greater than or equal to 1",
        ),
        (
            lambda d: d["sessions"][0].update(start="tea time"),
            "sessions[0].start",
            "datetime",
        ),
        (lambda d: d["notices"][0].update(rooms="moon"), "notices[0].rooms", "unknown venue"),
        (
            lambda d: d["notices"][0].update(rooms=["r1", "attic"]),
            "notices[0].rooms[1]",
            "unknown room",
        ),
        (lambda d: d.update(rooms=[]), "rooms", "at least 1"),
    ],
)
def test_bad_files_name_the_place_and_the_reason(
    tmp_path: Path, edit: Any, place: str, reason: str
) -> None:
    error = refused(write(tmp_path, changed(edit)))
    assert error.place == place
    assert reason in error.reason
    assert str(error) == f"{tmp_path / 'programme.yaml'}: {place}: {error.reason}"
