"""The ids of the bundled programme are part of every data folder and link: they never change.

Events, snapshots, minutes and access links name rooms, sittings and
delegations by id; a renamed id would orphan a data folder written before.
"""

from __future__ import annotations

from dashboard.domain import default_programme_path, load_programme

MEETING = "mmm-panama-2022"
ROOMS = ["plenario", "gt-cancillerias", "gt-seguridad", "gt-desarrollo"]
VENUES = ["palacio-bolivar", "hotel"]
SITTINGS = ["gt-cancillerias-1", "gt-seguridad-1", "gt-desarrollo-1", "plenaria", "clausura"]
DELEGATIONS = [
    "PAN", "BRA", "CAN", "COL", "CRI", "CHL", "ECU", "USA", "MEX", "PER", "ATG", "BHS", "BRB",
    "BLZ", "DOM", "GUY", "HTI", "JAM", "VCT", "TTO", "ARG", "GTM", "HND", "SLV", "PRY", "URY",
    "OAS", "IOM", "UNHCR", "IDB", "WB", "CAF", "CSO", "NGO-MIG",
]


def test_the_bundled_programme_keeps_its_ids() -> None:
    programme = load_programme(default_programme_path())
    assert programme.meeting.id == MEETING  # the stream's key: {mmm-panama-2022}
    assert [r.id for r in programme.rooms] == ROOMS
    assert [v.id for v in programme.venues] == VENUES
    assert [s.id for s in programme.sessions] == SITTINGS
    assert [s.room for s in programme.sessions] == [
        "gt-cancillerias", "gt-seguridad", "gt-desarrollo", "plenario", "plenario"]
    assert [d.code for d in programme.delegations] == DELEGATIONS
