"""A programme read again: the same text gives the same validated Programme (one start reads
it in several places), a changed file is read anew, and errors are still told in full."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboard.domain import ProgrammeError, default_programme_path, load_programme
from tests.unit.test_programme import MINIMAL, changed, write


def test_the_same_file_is_validated_once(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_programme(path) is load_programme(str(path))


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    first = load_programme(path)
    write(tmp_path, changed(lambda d: d["meeting"]["title"].update(en="Another")))
    again = load_programme(path)
    assert again is not first
    assert again.meeting.title.en == "Another" and first.meeting.title.en == "Meeting"


def test_a_bad_file_is_refused_every_time(tmp_path: Path) -> None:
    path = write(tmp_path, "meeting:\n  id: demo\n  title: {es: [unclosed\n")
    for _ in range(2):
        with pytest.raises(ProgrammeError) as caught:
            load_programme(path)
        assert caught.value.place == "line 4, column 1"
        assert "YAML syntax" in caught.value.reason


def test_the_fast_and_the_python_yaml_loaders_read_the_same_values() -> None:
    text = default_programme_path().read_text(encoding="utf-8")
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        pytest.skip("PyYAML was built without libyaml")
    assert yaml.load(text, Loader=fast) == yaml.safe_load(text)
