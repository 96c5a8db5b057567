"""The minutes are a pure fold: a scripted sitting gives the expected record to the second."""

from __future__ import annotations

import json

from dashboard.domain import load_programme
from dashboard.domain.minutes import MinutesRecord, fold_all, report, to_csv_rows
from dashboard.domain.programme import default_programme_path
from tests.workers.script import Script, scripted_sitting

T0 = 1_700_000_000.0


def _minutes() -> tuple[dict, dict, Script]:
    programme = load_programme(default_programme_path())
    script = Script(programme)
    expected = scripted_sitting(script, T0)
    return report(fold_all(script.events), programme), expected, script


def test_each_speech_is_recorded_with_its_time_excluding_pauses():
    minutes, expected, _ = _minutes()
    spoken = {s["delegation"]: s for s in minutes["speeches"]}
    assert [s["delegation"] for s in minutes["speeches"]] == ["PAN", "BRA", "USA"]
    for code, want in expected.items():
        assert round(spoken[code]["spoken_s"]) == want["spoken"], code
        assert round(spoken[code]["overrun_s"]) == want["overrun"], code
        assert round(spoken[code]["paused_s"]) == want["paused"], code
        assert spoken[code]["pauses"] == want["pauses"], code
    assert spoken["PAN"]["speaker_name"] == "Minister"
    assert spoken["PAN"]["floor_given_at"] == T0 + 10 and spoken["PAN"]["ended_at"] == T0 + 150
    assert spoken["USA"]["kind"] == "point_of_order"
    assert spoken["USA"]["end_reason"] == "session_closed"
    assert {s["session_id"] for s in minutes["speeches"]} == {"plenaria"}
    assert {s["room"] for s in minutes["speeches"]} == {"plenario"}


def test_requests_that_never_got_the_floor_are_kept_with_why():
    minutes, _, _ = _minutes()
    unserved = {u["delegation"]: u for u in minutes["unserved"]}
    assert set(unserved) == {"CAN", "MEX"}
    assert unserved["CAN"]["reason"] == "removed"
    assert unserved["MEX"]["reason"] == "sitting_closed"
    assert unserved["MEX"]["requested_at"] == T0 + 4


def test_totals_per_delegation_and_per_sitting():
    minutes, expected, _ = _minutes()
    delegations = {d["code"]: d for d in minutes["totals"]["delegations"]}
    assert delegations["BRA"]["overruns"] == 1 and delegations["PAN"]["overruns"] == 0
    assert delegations["CAN"]["speeches"] == 0 and delegations["CAN"]["unserved"] == 1
    assert delegations["PAN"]["name"] == {"es": "Panamá", "en": "Panama"}
    (sitting,) = minutes["totals"]["sittings"]
    assert sitting["id"] == "plenaria" and sitting["speeches"] == 3 and sitting["unserved"] == 2
    assert round(sitting["spoken_s"]) == sum(v["spoken"] for v in expected.values())
    assert sitting["opened_at"] == T0 and sitting["closed_at"] == T0 + 500


def test_folding_twice_from_a_stored_copy_gives_the_same_record():
    _, _, script = _minutes()
    half = len(script.events) // 2
    first = fold_all(script.events[:half])
    stored = MinutesRecord.from_dict(json.loads(json.dumps(first.to_dict())))  # as stored
    assert fold_all(script.events[half:], stored) == fold_all(script.events)


def test_a_speech_in_progress_is_counted_up_to_now():
    programme = load_programme(default_programme_path())
    script = Script(programme)
    script.do(T0, "session.open", session_id="plenaria")
    script.do(T0 + 1, "speaker.add", delegation="PAN")
    script.do(T0 + 2, "speaker.next")
    minutes = report(fold_all(script.events), programme, now=T0 + 32)
    (speech,) = minutes["speeches"]
    assert speech["ended_at"] is None and speech["spoken_s"] == 30.0


def test_unknown_events_change_nothing():
    from dashboard.domain import Event
    from dashboard.domain.events import Opaque

    record = fold_all([Event("something.new", "plenario", Opaque({"x": 1}), T0, "1-0")])
    assert report(record)["speeches"] == [] and record.cursor == "1-0"


def test_csv_rows_have_one_row_per_speech_and_unserved_request():
    minutes, _, _ = _minutes()
    rows = to_csv_rows(minutes)
    assert [r[0] for r in rows] == ["speech"] * 3 + ["unserved"] * 2
