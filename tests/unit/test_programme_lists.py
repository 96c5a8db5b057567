"""The programme's protocol levels, groups, inscription modes, budgets, items and warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboard.domain import ProgrammeError, default_programme_path, load_programme
from dashboard.domain.programme import DEFAULT_LEVELS


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(default_programme_path().read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_programme_without_the_new_fields_loads_with_their_defaults(tmp_path: Path) -> None:
    data = _raw()
    for key in ("levels", "groups"):
        data.pop(key)
    for sitting in data["sessions"]:
        for key in ("inscription", "budget_s", "items", "warn_s"):
            sitting.pop(key, None)
    programme = load_programme(_write(tmp_path, data))
    assert [lv.code for lv in programme.levels] == [lv.code for lv in DEFAULT_LEVELS]
    assert [lv.code for lv in programme.levels][:4] == [
        "head_of_state", "head_of_government", "minister", "vice_minister"]
    assert programme.groups == []
    sitting = programme.sessions_by_id["plenaria"]
    assert sitting.inscription == "direct" and sitting.budget_s is None and sitting.items == []
    assert sitting.warn_s.model_dump() == {"speech": 30, "point_of_order": 15, "reply": 15}


def test_the_reference_programme_has_groups_items_modes_and_a_plenary_budget() -> None:
    programme = load_programme(default_programme_path())
    groups = programme.groups_by_code
    assert set(groups) == {"CARICOM", "SICA", "ANDEAN", "MERCOSUR"}
    assert "BRB" in groups["CARICOM"].members and "BRA" in groups["MERCOSUR"].members
    for group in programme.groups:
        assert set(group.members) <= set(programme.delegations_by_code)
    modes = {s.id: s.inscription for s in programme.sessions}
    assert modes["plenaria"] == modes["clausura"] == "approval"
    assert {modes[s] for s in modes if s.startswith("gt-")} == {"direct"}
    plenary = programme.sessions_by_id["plenaria"]
    assert plenary.budget_s and [i.id for i in plenary.items][0] == "informes"
    public = programme.public_dict()
    assert public["groups"][0]["members"] and public["levels"][0]["name"]["es"]
    assert public["sessions"][3]["items"][0]["title"]["en"]


@pytest.mark.parametrize(("change", "place"), [
    (lambda d: d["groups"][0]["members"].append("ZZZ"), "groups[0].members[9]"),
    (lambda d: d["groups"].append(dict(d["groups"][0])), "groups[4].code"),
    (lambda d: d["groups"][0].update(code="PAN"), "groups[0].code"),
    (lambda d: d["levels"].append(dict(d["levels"][0])), "levels[8].code"),
    (lambda d: d["sessions"][3]["items"].append(dict(d["sessions"][3]["items"][0])),
     "sessions[3].items[4].id"),
    (lambda d: d["sessions"][0].update(inscription="lottery"), "sessions[0].inscription"),
    (lambda d: d["sessions"][0].update(budget_s=0), "sessions[0].budget_s"),
    (lambda d: d["sessions"][0].update(warn_s={"speech": 0}), "sessions[0].warn_s.speech"),
])
def test_a_bad_new_field_is_refused_naming_its_place(tmp_path: Path, change: Any,
                                                     place: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(ProgrammeError) as caught:
        load_programme(_write(tmp_path, data))
    assert caught.value.place == place
