"""Helpers shared by the tests: a live `plenary run` process and a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = os.environ.get("PLENARY_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = (
    f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
    "(Debian; or set PLENARY_CHROMIUM to a Chromium binary) to run the browser tests"
)


def shifted_programme(
    path: Path, anchor: str, ends_at: float,
    sittings: dict[str, dict[str, Any]] | None = None,
    limits: dict[str, dict[str, int]] | None = None,
) -> Path:
    """Write, at `path`, the reference programme moved in time: every sitting and notice
    by one delta, so that sitting `anchor` ends at `ends_at` (epoch seconds), the
    meeting's dates widened to cover them. `sittings` {id: {field: value}} and `limits`
    {sitting kind: {speech kind: seconds}} override what the reference says. A scheduled
    end compared with the clock (the forecast) needs sittings of today, not of 2022."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    import yaml

    from dashboard.domain.programme import default_programme_path

    data = yaml.safe_load(default_programme_path().read_text(encoding="utf-8"))
    tz = ZoneInfo(data["meeting"]["timezone"])

    def local(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    spec = next(s for s in data["sessions"] if s["id"] == anchor)
    target = datetime.fromtimestamp(ends_at, tz).replace(tzinfo=None, microsecond=0)
    delta = target - local(spec["end"])
    days = []
    for sitting in data["sessions"]:
        for key in ("start", "end"):
            moved = local(sitting[key]) + delta
            sitting[key] = moved.isoformat(timespec="minutes")
            days.append(moved.date())
        sitting.update((sittings or {}).get(sitting["id"], {}))
    for notice in data.get("notices", []):
        for key in ("at", "expires_at"):
            if notice.get(key):
                moved = local(notice[key]) + delta
                notice[key] = moved.isoformat(timespec="minutes")
                days.append(moved.date())
    data["meeting"]["start_date"] = min(days) - timedelta(days=1)
    data["meeting"]["end_date"] = max(days) + timedelta(days=1)
    for kind, kinds in (limits or {}).items():
        data["speaking_limits"][kind].update(kinds)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback port free now, and not given before by this process: the kernel may
    offer a port it has just released again, and two servers of one test would then
    share it (the second refused, the first answering for both)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def delete_keys(redis_url: str, pattern: str) -> None:
    """Delete the keys a test made (matching `pattern`), and only those."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)
    client.close()


class Child:
    """A process a test starts, stops (SIGTERM, then SIGKILL after 10 s) or kills."""

    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killed if it has not ended within 10 s."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Hard kill (SIGKILL): nothing runs on the way out."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class LiveServer(Child):
    """A real `plenary run` process: gevent, real sockets, real Redis."""

    def __init__(self, port: int, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        # the Engine.IO websocket endpoint, as screens and consoles open it
        self.socket_url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        self.env = {**os.environ, "PLENARY_DATA_DIR": str(data_dir), **(env or {})}
        if "REDIS_URL" in self.env and not self.env["REDIS_URL"]:
            del self.env["REDIS_URL"]
        self.env.setdefault("PLENARY_RUN_WORKERS", "false")
        # Tests drive commands in bursts; the rate limit's own tests set it lower.
        self.env.setdefault("PLENARY_COMMAND_RATE", "10000")
        # Slow screens are part of many tests; the cut-off's own test sets the bounds lower.
        self.env.setdefault("PLENARY_MAX_QUEUED_FRAMES", "10000")
        self.env.setdefault("PLENARY_MAX_QUEUED_BYTES", str(1 << 30))
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        # How the process starts: `plenary run` (a test may run other code before it).
        self.argv = [sys.executable, "-m", "dashboard.cli", "run", "--port", str(port)]

    def start(self, timeout: float = 30.0, preexec_fn: Any = None, host: str | None = None
              ) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        listen = ["--host", host] if host else []
        self.process = subprocess.Popen(
            [*self.argv, *listen], env=self.env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    @property
    def deployment(self) -> str:
        """What this server's tokens are bound to: its key prefix and meeting id with a
        SECRET_KEY of the environment, nothing with a key generated in its data folder."""
        from dashboard.domain import load_programme
        from dashboard.domain.programme import default_programme_path
        from dashboard.web.access import deployment_for

        programme = load_programme(self.env.get("PLENARY_PROGRAMME") or default_programme_path())
        return deployment_for(not self.env.get("SECRET_KEY"),
                              self.env.get("PLENARY_KEY_PREFIX", "plenary"), programme.meeting.id)

    def token(self, role: str, room: str = "*", secret: str | None = None, **kw: Any) -> str:
        from dashboard.web.access import make_token

        secret = secret or self.env.get("SECRET_KEY") or (
            self.data_dir / "secret_key").read_text().strip()
        return make_token(role, room, secret, deployment=self.deployment, **kw)

    def command(self, token: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            f"{self.url}/api/commands", json=body,
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )


def engine_socket(
    server: LiveServer, token: str, timeout: float = 10, **options: Any
) -> websocket.WebSocket:
    """A raw Engine.IO websocket with the Socket.IO namespace connected as `token`
    (`options` go to `websocket.create_connection`)."""
    ws = websocket.create_connection(server.socket_url, origin=server.url, timeout=timeout,
                                     **options)
    assert ws.recv().startswith("0{")
    ws.send("40" + json.dumps({"token": token}))
    assert ws.recv().startswith("40")
    return ws
