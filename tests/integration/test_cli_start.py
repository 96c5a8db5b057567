"""`plenary run` that cannot listen says so in one line (what, and where), whatever the
number of processes, rather than a traceback after the whole node was built; one that
serves stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.faults.harness import node
from tests.support import engine_socket

pytestmark = pytest.mark.timeout(60)


def run(redis_url: str, prefix: str, data_dir: Path, *args: str
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "dashboard.cli", "run", *args], env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_port_in_use_is_one_clear_line(redis_url, prefix, tmp_path, processes):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        done = run(redis_url, prefix, tmp_path, "--port", str(port), "--processes", processes)
    finally:
        taken.close()
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith("plenary: cannot listen on 127.0.0.1:") and "in use" in said, said


@pytest.mark.parametrize("port", ["0", "-1", "65536", "http"])
def test_a_port_out_of_range_is_refused_before_anything_starts(redis_url, prefix, tmp_path,
                                                                 port):
    done = run(redis_url, prefix, tmp_path, f"--port={port}")
    assert done.returncode == 2  # argparse's usage error
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "--port" in done.stderr and "1 to 65535" in done.stderr, done.stderr


def test_more_processes_than_the_machine_can_run_is_one_clear_line(redis_url, prefix,
                                                                    tmp_path):
    from dashboard.serve.processes import PER_CORE_MAX, cores

    too_many = PER_CORE_MAX * cores() + 1
    done = run(redis_url, prefix, tmp_path, "--port", "1", "--processes", str(too_many))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(
        f"plenary: --processes must be from 1 to {PER_CORE_MAX * cores()} "), said


@pytest.mark.parametrize("host", ["", " "])
def test_an_empty_host_is_refused_rather_than_every_address(redis_url, prefix, tmp_path,
                                                            host):
    # `--host "$HOST"` with HOST unset: it listened on every address and printed
    # links to http://:5000/.
    done = run(redis_url, prefix, tmp_path, f"--host={host}", "--port", "1")
    assert done.returncode == 2  # argparse's usage error
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "--host" in done.stderr and "empty" in done.stderr, done.stderr


def test_an_ipv6_host_is_bracketed_in_the_links(redis_url, prefix, tmp_path):
    from tests.support import free_port

    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-m", "dashboard.cli", "run", "--host", "::1",
                           "--port", str(port)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(4)]
        finally:
            server.terminate()
            server.wait(10)
    serving = next(line for line in lines if line.startswith("Serving on"))
    assert f"http://[::1]:{port} " in serving, lines


def test_min_replicas_with_the_embedded_valkey_is_refused_at_start(tmp_path):
    # The embedded Valkey has no replica: every command would be refused 503, found out
    # only at the first one.
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path),
                "PLENARY_MIN_REPLICAS": "1"})
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", "run", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=20)
    assert done.returncode != 0
    said = done.stderr.strip().splitlines()[-1]
    assert "PLENARY_MIN_REPLICAS" in said and "REDIS_URL" in said, said
    assert not (tmp_path / "valkey").exists()  # refused before anything started


def test_sigterm_stops_a_node_with_open_sockets_cleanly(redis_url, prefix, tmp_path):
    """SIGTERM while screens are connected and the node is idle (the signal lands in the
    event loop, which cannot wait for the open connections): it ends with status 0, with
    no traceback, its sockets closed."""
    server = node(redis_url, tmp_path / "n", prefix)
    server.start()
    sockets = [engine_socket(server, server.token("screen", "plenario")) for _ in range(3)]
    try:
        time.sleep(1.5)  # idle: nothing but the event loop runs
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(timeout=15)
        log = server.log_path.read_text()
        assert status == 0 and "Traceback" not in log, log[-3000:]
    finally:
        for ws in sockets:
            ws.close()
        server.kill()


@pytest.mark.parametrize("command", ["links", "revoke"])
def test_a_base_url_without_a_scheme_is_refused_by_links_and_revoke(redis_url, prefix,
                                                                     tmp_path, command):
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path)}
    role = ["screen", "*"] if command == "revoke" else []
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", command, *role,
                           "--base-url", "plenary.example.org"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2  # argparse's usage error: nothing revoked
    assert "Traceback" not in done.stderr and "--base-url" in done.stderr, done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command", [["links"], ["links", "--json"], ["export"]])
def test_a_reader_that_stops_early_gets_no_traceback(redis_url, prefix, tmp_path, command):
    # `plenary links | head -3`: the pipe is closed before everything was written.
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-m", "dashboard.cli", *command], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as done:
        assert done.stdout is not None and done.stderr is not None
        done.stdout.close()  # the reader is gone before the first line
        stderr = done.stderr.read()
        done.wait(30)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr[-2000:]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_starting_is_one_line_not_a_traceback(prefix, tmp_path, signum):
    # A "Redis" that takes the connection and never answers holds the start where it
    # reads the state: the signal lands while the node is being built.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent.settimeout(20)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
           "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
           "PLENARY_DATA_DIR": str(tmp_path)}
    from tests.support import free_port

    with subprocess.Popen([sys.executable, "-m", "dashboard.cli", "run", "--port",
                           str(free_port())], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as server:
        try:
            held, _ = silent.accept()
            server.send_signal(signum)
            _, stderr = server.communicate(timeout=20)
            held.close()
        finally:
            silent.close()
            if server.poll() is None:
                server.kill()
    assert "Traceback" not in stderr, stderr[-2000:]
    name = signal.Signals(signum).name
    assert stderr.strip().splitlines()[-1] == f"plenary: stopped by {name} while starting"
    assert server.returncode == 0


def test_the_processes_run_the_parents_code_not_a_dashboard_folder_where_it_runs(
        redis_url, prefix, tmp_path):
    # `plenary run --processes 2` started from a folder holding another `dashboard` (an
    # old checkout): its processes (`python -m dashboard.cli`) imported that one.
    from tests.support import free_port

    where = tmp_path / "elsewhere"
    (where / "dashboard").mkdir(parents=True)
    (where / "dashboard" / "__init__.py").write_text("")
    (where / "dashboard" / "cli.py").write_text(
        "print('a dashboard of the current folder', flush=True)\nraise SystemExit(1)\n")
    env = {**os.environ, "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix,
           "SECRET_KEY": SECRET, "PLENARY_DATA_DIR": str(tmp_path / "data"),
           "PLENARY_RUN_WORKERS": "false"}
    # -P: the parent itself runs the installed code, as the `plenary` script does
    with subprocess.Popen([sys.executable, "-P", "-m", "dashboard.cli", "run", "--port",
                           str(free_port()), "--processes", "2"], cwd=where, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as server:
        assert server.stdout is not None
        serving = set()
        try:
            for line in server.stdout:
                assert "current folder" not in line
                found = re.match(r"web process (\d) \(pid \d+\) serving", line)
                if found:
                    serving.add(found.group(1))
                if serving == {"0", "1"}:
                    break
        finally:
            server.terminate()
            server.wait(30)
    assert serving == {"0", "1"}
