"""The gunicorn web node of docker-compose.yml (run natively, as in test_production_shape)
that cannot start says why in one line, as `plenary run` does, and exits non-zero: what
supervises it (compose's `restart`, systemd) starts it again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import SECRET
from tests.faults.topology import Topology, wait_ok
from tests.support import ROOT

pytestmark = pytest.mark.timeout(60)


def start_web(tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    """Start compose's `web` (gunicorn) with no Redis behind its REDIS_URL; its exit status
    and what it printed."""
    topology = Topology.load({"SECRET_KEY": SECRET, **env}, tmp_path)
    try:
        code = topology.start("web").wait(40)
    finally:
        topology.stop_all()
    return code, (tmp_path / "web-0.log").read_text().splitlines()


def test_redis_unreachable_at_start_is_one_clear_line(tmp_path):
    code, lines = start_web(tmp_path)
    assert code != 0
    assert not any("Traceback" in line for line in lines), "\n".join(lines[-40:])
    said = [line for line in lines if line.startswith("plenary: ")]
    assert len(said) == 1, lines[-20:]
    assert said[0].startswith("plenary: Redis: ") and "REDIS_URL" in said[0], said


def test_a_short_secret_key_is_one_clear_line_naming_it(tmp_path):
    code, lines = start_web(tmp_path, SECRET_KEY="short")
    assert code != 0
    assert not any("Traceback" in line for line in lines), "\n".join(lines[-40:])
    said = [line for line in lines if line.startswith("plenary: ")]
    assert len(said) == 1 and said[0].startswith("plenary: configuration: "), lines[-20:]
    assert "SECRET_KEY" in said[0], said


def test_nodes_on_one_host_leave_no_control_socket_to_take_over(tmp_path):
    # gunicorn's control socket defaults to one path per user: the second node on a host
    # unlinked the first's and listened in its place.
    run = tmp_path / "xdg-runtime"
    run.mkdir()
    topology = Topology.load({"SECRET_KEY": SECRET}, tmp_path)
    topology.environment = (  # type: ignore[method-assign]
        lambda name, load=topology.environment: {**load(name), "XDG_RUNTIME_DIR": str(run)})
    try:
        topology.start("redis")
        for index in range(2):
            topology.start("web", index)
        for index in range(2):
            wait_ok(f"http://{topology.address('web', index)}/readyz", 40, f"web {index}")
    finally:
        topology.stop_all()
    assert list(run.iterdir()) == []
    for index in range(2):
        assert "Control socket" not in (tmp_path / f"web-{index}.log").read_text()


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http", ""])
def test_a_port_out_of_range_is_one_clear_line_naming_it(tmp_path, port):
    # 99999 was a traceback from bind(); 0 listened on any free port, unknown to the proxy.
    env = {**os.environ, "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path),
           "REDIS_URL": "redis://127.0.0.1:1/0", "PORT": port}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()
    assert said == [f"plenary: configuration: PORT: must be a number from 1 to 65535, "
                    f"not {port!r}"], said


def test_a_node_logs_no_line_per_request(tmp_path):
    # gevent-websocket's handler logged every request to gunicorn's error log (stderr) at
    # INFO, though deploy/gunicorn.conf.py turns the access log off (docs/deploy.md).
    topology = Topology.load({"SECRET_KEY": SECRET}, tmp_path)
    try:
        topology.start("redis")
        topology.start("web")
        url = f"http://{topology.address('web')}"
        wait_ok(f"{url}/readyz", 40, "web")
        for _ in range(3):
            requests.post(f"{url}/api/commands", json={}, timeout=5)
            requests.get(f"{url}/healthz", timeout=5)
    finally:
        topology.stop_all()
    text = (tmp_path / "web-0.log").read_text()
    assert "/api/commands" not in text and "/healthz" not in text, text[-2000:]
