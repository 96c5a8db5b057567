"""A data folder the service cannot use (a file, under a file, another user's, on a read-only
or full disk) or a key file that is corrupt: every entry point stops with one line naming
the folder or file and why, never a traceback, and writes nothing; the workers' heartbeat
files unwritable are said once in the log, and the workers go on."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import fill, small_disk
from tests.support import ROOT, free_port

pytestmark = pytest.mark.timeout(180)

FIXTURE = ROOT / "tests" / "fixtures" / "datadir-0.1.0"
ENTRY_POINTS = (("run", "--port"), ("links", "--json"), ("export",))
# root without the capabilities that let it read and write any file: another user
NOT_OWNER = ["setpriv", "--inh-caps=-dac_override,-dac_read_search,-fowner",
             "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def start(*args: str, data: Path, prefix: list[str] | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY")}
    env["PLENARY_DATA_DIR"] = str(data)
    if args[-1] == "--port":
        args = (*args, str(free_port()))
    return subprocess.Popen([*(prefix or []), sys.executable, "-m", "dashboard.cli", *args],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finished(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def refused_by_all(data: Path, says: str, prefix: list[str] | None = None) -> None:
    # Started together: each is refused on its own, and none may write anything.
    started = [(args, start(*args, data=data, prefix=prefix)) for args in ENTRY_POINTS]
    for args, process in started:
        done = finished(process)
        assert done.returncode != 0, (args, done.stdout[-500:])
        assert "Traceback" not in done.stderr, (args, done.stderr[-2000:])
        assert done.stderr.startswith("plenary: "), (args, done.stderr[-2000:])
        assert says in done.stderr, (args, done.stderr)


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path) as mount:
        yield mount


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder\n")
    refused_by_all(tmp_path / "data", f"cannot be used: {tmp_path / 'data'} is not a folder")
    refused_by_all(tmp_path / "data" / "sub", f"{tmp_path / 'data'} is not a folder")
    assert (tmp_path / "data").read_text() == "not a folder\n"


def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as a user who does not own the folder")
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    subprocess.run(["chown", "-R", "nobody", str(data)], check=True)
    os.chmod(data, 0o700)
    refused_by_all(data, f"cannot use the data folder {data}: Permission denied", NOT_OWNER)


@pytest.mark.parametrize("content", [os.urandom(48) + b"\xff", b"\0" * 64,
                                     b"k" * 40 + b"\0" * 24],
                         ids=["not-text", "zeros", "zero-tail"])
def test_a_corrupt_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_bytes(content)
    refused_by_all(data, f"the secret key in {data / 'secret_key'} is corrupt")
    assert (data / "secret_key").read_bytes() == content


def test_a_key_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "secret_key").mkdir(parents=True)
    refused_by_all(data, f"cannot use the data folder {data}: Is a directory")


def test_a_lock_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    (data / "run.lock").mkdir()
    refused_by_all(data, f"cannot use the data folder {data}: Is a directory")


def test_a_folder_of_the_release_before_on_a_read_only_disk_is_refused(mounted: Path) -> None:
    data = mounted / "data"
    shutil.copytree(FIXTURE / "data", data)
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True, timeout=10)
    refused_by_all(data, f"cannot use the data folder {data}: Read-only file system")


def test_a_fresh_folder_on_a_full_disk_is_refused(mounted: Path) -> None:
    fill(mounted)
    refused_by_all(mounted / "data", f"cannot use the data folder {mounted / 'data'}: "
                                     "No space left on device")
    assert not (mounted / "data" / "secret_key").exists()


def test_unwritable_heartbeats_are_said_once_and_the_worker_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from workers import _beat

    (tmp_path / "data").write_text("a file: no heartbeat can be written under it\n")
    path = tmp_path / "data" / "worker-minutes.alive"
    beat = _beat(path)
    caplog.set_level(logging.INFO, logger="workers")
    started = time.monotonic()
    while time.monotonic() - started < 2.3:
        beat()  # never raises
        time.sleep(0.05)
    said = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and str(path) in said[0].getMessage(), caplog.text
    (tmp_path / "data").unlink()
    (tmp_path / "data").mkdir()
    time.sleep(1.0)
    beat()
    assert path.exists()
    assert "written again" in caplog.text


def test_a_run_on_redis_serves_with_its_data_folder_on_a_full_disk(
    mounted: Path, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    # With REDIS_URL the folder holds only the key (and the address `links` reads): a
    # full disk there must not stop the web node once it listens.
    from tests.support import LiveServer

    data = mounted / "data"
    data.mkdir()
    shutil.copy(FIXTURE / "data" / "secret_key", data / "secret_key")
    fill(mounted)
    server = LiveServer(free_port(), data, {"REDIS_URL": redis_url,
                                            "PLENARY_KEY_PREFIX": prefix})
    server.env.pop("SECRET_KEY", None)
    server.log_path = tmp_path / "server.log"
    server.start()
    try:
        time.sleep(1.0)
        assert server.process is not None and server.process.poll() is None
        log = server.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]
        assert f"cannot record the address in {data / 'service.json'}" in log, log[-3000:]
    finally:
        server.stop()
