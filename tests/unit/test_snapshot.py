"""A snapshot is the state, exactly; a damaged or foreign one is refused with the reason."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dashboard.domain import load_programme, state as st
from dashboard.domain.programme import default_programme_path
from dashboard.domain.snapshot import SnapshotError, pack, to_dict, unpack
from tests.workers.script import Script, scripted_sitting

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def programme():
    return load_programme(default_programme_path())


def _mid_sitting(programme) -> Script:
    script = Script(programme)
    script.do(T0, "session.open", session_id="plenaria")
    script.do(T0 + 1, "speaker.add", delegation="PAN")
    script.do(T0 + 2, "speaker.add", delegation="BRA", kind="reply")
    script.do(T0 + 3, "speaker.next")
    script.do(T0 + 4, "timer.pause")
    script.do(T0 + 5, "list.close")
    script.do(T0 + 6, "announcement.post", text={"es": "Hola", "en": "Hello"},
              expires_at=T0 + 600)
    return script


def test_a_snapshot_gives_back_the_same_state(programme):
    state = _mid_sitting(programme).state
    restored, header = unpack(pack(state, events=9), programme)
    assert restored == state
    assert header["version"] == state.version and header["events"] == 9


def test_after_a_whole_sitting_too(programme):
    script = Script(programme)
    scripted_sitting(script, T0)
    assert unpack(pack(script.state), programme)[0] == script.state


@pytest.mark.parametrize("cls,key", [
    (st.RoomState, "rooms"), (st.SessionState, "sessions"),
    (st.AnnouncementState, "announcements"),
])
def test_every_field_of_the_state_is_kept(programme, cls, key):
    """A field added to the state must be added to the snapshot too (this fails until it is)."""
    data = to_dict(_mid_sitting(programme).state)
    assert set(data[key][0]) == {f.name for f in dataclasses.fields(cls)}
    meeting_fields = {f.name for f in dataclasses.fields(st.MeetingState)} - {"programme"}
    assert set(data) == meeting_fields
    speech = next(r["current"] for r in data["rooms"] if r["current"])
    assert set(speech) == {f.name for f in dataclasses.fields(st.Speech)}


def test_a_damaged_snapshot_is_refused(programme):
    packed = json.loads(pack(_mid_sitting(programme).state))
    packed["state"] = packed["state"].replace('"PAN"', '"BRA"')
    with pytest.raises(SnapshotError, match="checksum"):
        unpack(json.dumps(packed), programme)
    with pytest.raises(SnapshotError, match="not readable"):
        unpack(b"{not json", programme)


def test_a_snapshot_of_another_programme_is_refused(programme):
    other = programme.model_copy(update={"notices": []})
    with pytest.raises(SnapshotError, match="another programme"):
        unpack(pack(_mid_sitting(programme).state), other)
