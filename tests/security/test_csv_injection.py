"""The record's CSV never carries a formula a spreadsheet would run; its JSON stays exact."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from tests.support import LiveServer

NAMES = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0",
         "@SUM(1,1)", "\tTabbed", "\rReturn"]


@pytest.mark.slow
def test_speaker_names_that_look_like_formulas_are_neutralised(live_server: LiveServer) -> None:
    chair, admin = live_server.token("chair", "plenario"), live_server.token("admin")
    assert live_server.command(chair, {"type": "session.open", "room": "plenario",
                                       "session_id": "plenaria"}).status_code == 200
    for code, name in zip(["PAN", "BRA", "CAN", "COL", "MEX", "PER"], NAMES, strict=True):
        answer = live_server.command(chair, {"type": "speaker.add", "room": "plenario",
                                             "delegation": code, "speaker_name": name})
        assert answer.status_code == 200, answer.text
    assert live_server.command(chair, {"type": "session.close", "room": "plenario"}
                               ).status_code == 200
    auth = {"Authorization": f"Bearer {admin}"}
    text = requests.get(f"{live_server.url}/api/minutes.csv", headers=auth, timeout=10).text
    rows = list(csv.DictReader(io.StringIO(text)))
    written = [row["speaker_name"] for row in rows if row["record"] == "unserved"]
    kept = [name.strip() for name in NAMES]  # names are trimmed when added
    assert sorted(written) == sorted("'" + n if n[0] in "=+-@" else n for n in kept)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    record = requests.get(f"{live_server.url}/api/minutes.json", headers=auth, timeout=10).json()
    assert sorted(u["speaker_name"] for u in record["unserved"]) == sorted(kept)
