"""bench/paired.py: two builds served at once, their acks compared command by command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.harness import redis_binary
from tests.support import ROOT


@pytest.mark.parametrize(("transport", "screens"), [("http", 0), ("socketio", 2)])
def test_two_builds_are_compared_round_by_round(tmp_path: Path, transport: str,
                                                screens: int) -> None:
    # The benchmark starts `redis-server` from the PATH: where only the embedded
    # Valkey is installed, its binary under that name.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "redis-server").symlink_to(redis_binary())
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = tmp_path / "paired.jsonl"
    run = subprocess.run(
        [sys.executable, "paired.py", "--a", str(ROOT), "--b", str(ROOT),
         "--env-b", "PLENARY_DISABLE_SEAMS=writer", "--commands", "40", "--warmup", "5",
         "--rounds", "2", "--transport", transport, "--screens", str(screens),
         "--out", str(out)],
        cwd=ROOT / "bench", env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["round"] for line in lines] == [1, 2]
    assert run.stdout.splitlines() == [json.dumps(line) for line in lines]
    for line in lines:
        assert line["suite"] == "paired-ack" and line["commands"] == 40
        assert line["transport"] == transport and line["screens"] == screens
        assert line["b_env"] == ["PLENARY_DISABLE_SEAMS=writer"]
        for build in ("a", "b"):
            acks = line[build]
            assert 0 < acks["p50"] <= acks["p90"] <= acks["p99"] < 1000, acks
        assert abs(line["a_minus_b_ms"]) < 1000
        assert line["a_code"] == line["b_code"]  # one checkout, twice
