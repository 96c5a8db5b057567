"""The data folder as careless operators and other local users meet it: first starts at
once, empty keys, a second run, a stale pid file, the embedded server's password, file
modes, a folder of the release before, a cut-short append-only file, the CLI beside a run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.settings import Settings, SettingsError
from tests.integration.test_previous_release import SPEECH_ADDED, _room_now_free
from tests.support import ROOT, LiveServer, free_port

FIXTURE = ROOT / "tests" / "fixtures" / "datadir-0.1.0"
SPIN_S = 0.05


def plenary(*args: str, env: dict[str, str], timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY")}
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], env={**base, **env},
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def embedded(data: Path, **env: str) -> LiveServer:
    server = LiveServer(free_port(), data, {"REDIS_URL": "", **env})
    server.env.pop("SECRET_KEY", None)
    return server


def raw_redis(port: int, *commands: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        for command in commands:
            s.sendall(command)
        time.sleep(0.2)
        return s.recv(4096)


def valkey_port(data: Path) -> int:
    return int((data / "valkey" / "owner").read_text().split()[1])


def modes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder.parent)): oct(stat.S_IMODE(p.stat().st_mode))
            for p in (folder, *folder.rglob("*")) if not p.is_symlink()}


# --- the secret key -----------------------------------------------------------------

def _first_start(data: Path, at: float, out: Any) -> None:
    settings = Settings(data_dir=data)
    # Asleep until just before the instant, then spinning: every process is running when
    # it comes, and the cores are taken from the other suites for that moment only.
    time.sleep(max(0.0, at - SPIN_S - time.time()))
    while time.time() < at:
        pass
    try:
        out.put(settings.resolved_secret_key())
    except SettingsError as exc:
        out.put(f"refused: {exc}")


def test_fifty_simultaneous_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    # forked processes spinning until one instant: they reach the key at once
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    for attempt in range(10):
        data = tmp_path / f"data{attempt}"
        at, out = time.time() + 1.0, fork.Queue()
        processes = [fork.Process(target=_first_start, args=(data, at, out))
                     for _ in range(50)]
        for p in processes:
            p.start()
        keys = [out.get(timeout=60) for _ in processes]
        for p in processes:
            p.join(timeout=30)
        assert all(p.exitcode == 0 for p in processes)
        assert len(set(keys)) == 1 and len(keys[0]) >= 32, set(keys)
        assert (data / "secret_key").read_text().strip() == keys[0]
        assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
        assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left


@pytest.mark.parametrize("content", ["", "\n", "short-key"])
def test_an_empty_or_short_key_file_is_refused_by_every_entry_point(
    tmp_path: Path, redis_url: str, prefix: str, content: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text(content)
    env = {"PLENARY_DATA_DIR": str(data), "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix}
    for args in (("run", "--port", str(free_port())), ("links", "--json"),
                 ("revoke", "staff", "*"), ("export",)):
        done = plenary(*args, env=env)
        assert done.returncode != 0, args
        assert f"secret key in {data / 'secret_key'}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    # the gunicorn entry point builds the app with create_app, which refuses it too
    done = subprocess.run([sys.executable, "-c", "import dashboard.serve.wsgi"], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "secret key in" in done.stderr
    assert (data / "secret_key").read_text() == content  # nothing rewritten behind one's back


@pytest.mark.parametrize("key", ["", "   ", "x" * 31])
def test_an_empty_or_short_secret_key_variable_is_refused(
    tmp_path: Path, redis_url: str, key: str
) -> None:
    env = {"PLENARY_DATA_DIR": str(tmp_path), "REDIS_URL": redis_url, "SECRET_KEY": key}
    for args in (("run", "--port", str(free_port())), ("links",)):
        done = plenary(*args, env=env)
        assert done.returncode != 0
        assert "SECRET_KEY: " in done.stderr and "at least 32 characters" in done.stderr
    from dashboard import create_app

    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app(secret_key=key, redis_url=redis_url, data_dir=tmp_path)


# --- the embedded server ----------------------------------------------------------------

@pytest.mark.slow
def test_the_embedded_server_requires_its_password_and_the_folder_is_private(
    tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = embedded(data, PLENARY_RUN_WORKERS="true")  # their heartbeat files too
    server.start()
    try:
        port = valkey_port(data)
        deadline = time.monotonic() + 10
        while not list(data.glob("worker-*.alive")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(data.glob("worker-*.alive"))
        # another local user who finds the port can do nothing without the password
        refused = raw_redis(port, b"*3\r\n$4\r\nHDEL\r\n$1\r\nx\r\n$1\r\ny\r\n")
        assert refused.startswith(b"-NOAUTH"), refused
        password = (data / "valkey_password").read_text().strip()
        assert len(password) >= 32 and password not in server.log_path.read_text()
        found = modes(data)
        found.pop(str(server.log_path.relative_to(data.parent)))  # the test's own log
        assert found and all(m in ("0o700", "0o600") for m in found.values()), found
        # the CLI reaches the running server with the password
        done = plenary("revoke", "screen", "*", "--json", env={"PLENARY_DATA_DIR": str(data)})
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()


@pytest.mark.slow
def test_a_folder_of_the_release_before_starts_with_the_same_data_and_links(
    tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    server = embedded(data)
    server.start()
    try:
        links = {(link["role"], link["room"]): link["token"] for link in expected["links"]}
        admin = links[("admin", "*")]
        rooms = requests.get(f"{server.url}/api/rooms", timeout=10,
                             headers={"Authorization": f"Bearer {admin}"}).json()
        assert [_room_now_free(r) for r in rooms] == [
            _room_now_free(r) for r in expected["rooms"]]
        # every link printed by the release before still opens (the key is the folder's),
        # but the one it revoked, replaced by the link its revoke printed
        revoked = expected["revoked"]
        links[(revoked["role"], revoked["room"])] = revoked["token"]
        for (role, room), token in links.items():
            r = requests.get(f"{server.url}/access/{token}", allow_redirects=False, timeout=10)
            assert r.status_code == 302 and "invalid" not in r.headers["Location"], (role, room)
        old = next(link["token"] for link in expected["links"]
                   if (link["role"], link["room"]) == (revoked["role"], revoked["room"]))
        r = requests.get(f"{server.url}/access/{old}", allow_redirects=False, timeout=10)
        assert "invalid" in r.headers["Location"]
        assert (data / "valkey_password").exists()
        assert all(m in ("0o700", "0o600") for p, m in modes(data).items()
                   if not p.endswith("server.log")), modes(data)
        assert raw_redis(valkey_port(data), b"*1\r\n$4\r\nPING\r\n").startswith(b"-NOAUTH")
    finally:
        server.stop()


@pytest.mark.slow
def test_a_pid_file_naming_another_process_is_ignored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    bystander = subprocess.Popen(["sleep", "120"])
    try:
        (data / "valkey" / "valkey.pid").write_text(f"{bystander.pid}\n")
        server = embedded(data)
        server.start()
        try:
            assert bystander.poll() is None, "plenary run stopped an unrelated process"
            assert "not this folder's Valkey" in server.log_path.read_text()
        finally:
            server.stop()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.slow
def test_a_second_run_on_one_folder_refuses_and_names_the_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = embedded(data)
    first.start()
    try:
        admin = first.token("admin")
        done = plenary("run", "--port", str(free_port()), env={"PLENARY_DATA_DIR": str(data)})
        assert done.returncode != 0
        assert f"pid {first.process.pid}" in done.stderr  # type: ignore[union-attr]
        assert f"http://127.0.0.1:{first.port}" in done.stderr
        assert requests.get(f"{first.url}/readyz", timeout=5).status_code == 200
        # the CLI beside the run: its address and its server
        links = [json.loads(line) for line in plenary(
            "links", "--json", env={"PLENARY_DATA_DIR": str(data)}).stdout.splitlines()]
        assert links and all(link["url"].startswith(f"{first.url}/access/") for link in links)
        assert next(link["token"] for link in links if link["role"] == "admin") == admin
        done = plenary("revoke", "chair", "*", "--json", env={"PLENARY_DATA_DIR": str(data)})
        assert json.loads(done.stdout)["url"].startswith(f"{first.url}/access/")
        given = plenary("links", "--json", "--base-url", "https://plenary.example.org",
                        env={"PLENARY_DATA_DIR": str(data)}).stdout
        assert all(json.loads(line)["url"].startswith("https://plenary.example.org/access/")
                   for line in given.splitlines())
        running = plenary("export", "--format", "json", env={"PLENARY_DATA_DIR": str(data)})
        assert running.returncode == 0 and "speeches" in json.loads(running.stdout)
    finally:
        first.stop()
    # the first stopped: a fresh start on the folder serves (never a 503 for good)
    again = embedded(data)
    again.start()
    try:
        assert requests.get(f"{again.url}/readyz", timeout=5).status_code == 200
    finally:
        again.stop()


@pytest.mark.slow
def test_export_reads_the_embedded_folder_with_no_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    done = plenary("export", "--format", "json", env={"PLENARY_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    ended = lambda speeches: [  # noqa: E731 - the fields added since 0.1.0 are set aside
        {k: v for k, v in s.items() if k not in SPEECH_ADDED}
        for s in speeches if s["ended_at"] is not None]
    assert ended(json.loads(done.stdout)["speeches"]) == ended(expected["minutes"]["speeches"])
    assert len(json.loads(done.stdout)["speeches"]) == len(expected["minutes"]["speeches"])
    csv = plenary("export", env={"PLENARY_DATA_DIR": str(data)})
    assert csv.returncode == 0 and csv.stdout.startswith("record,")
    # nothing left running on the folder
    assert not (data / "valkey" / "valkey.pid").exists()


@pytest.mark.slow
def test_a_cut_short_append_only_file_is_reported_loudly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    incr = next((data / "valkey" / "appendonlydir").glob("*.incr.aof"))
    size = incr.stat().st_size
    with incr.open("r+b") as f:
        f.truncate(size - 200)
    server = embedded(data)
    server.start()
    try:
        log = server.log_path.read_text()
        assert "was cut short" in log and str(incr) in log, log[-2000:]
        assert "commands in them are lost" in log
    finally:
        server.stop()

