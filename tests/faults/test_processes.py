"""`plenary run --processes 2`: both processes serve the one port, each screen gets every
state whichever process took the command, the workers run once, a killed process is
started again and its screens come back, and SIGTERM stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from dashboard.serve.embedded import running_url
from tests.conftest import SECRET
from tests.faults.harness import (
    RetryingChair,
    Swarm,
    fill,
    programme_of,
    rooms_with_sittings,
    small_disk,
)
from tests.support import LiveServer, free_port

pytestmark = pytest.mark.slow

SCREENS = 20


def children(pid: int) -> list[int]:
    """The web processes of a `--processes` run (its children that serve)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if b"--listen-fd" in cmdline:
            found.append(int(child))
    return sorted(found)


def _inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _established() -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of every established TCP connection (from /proc)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01":
                found.append((int(fields[1].rsplit(":", 1)[1], 16),
                              int(fields[2].rsplit(":", 1)[1], 16), fields[9]))
    return found


def open_connections(pid: int, port: int, peer: int | None = None) -> int:
    """Established TCP connections to `port` that process `pid` holds; with `peer`, only
    those whose other end that process holds (the swarm's screens, not a stray client)."""
    mine, table = _inodes(pid), _established()
    ends = None
    if peer is not None:
        theirs = _inodes(peer)
        ends = {local for local, _, inode in table if inode in theirs}
    return sum(1 for local, remote, inode in table
               if local == port and inode in mine and (ends is None or remote in ends))


def wait_for(what: str, check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def scraped(server: LiveServer, token: str) -> tuple[float, float]:
    """What one scrape of /metrics says: screens connected, commands answered ok."""
    response = requests.get(f"{server.url}/metrics", timeout=10, headers={
        "Authorization": f"Bearer {token}", "Connection": "close"})
    assert response.status_code == 200, response.text
    samples = [s for f in text_string_to_metric_families(response.text) for s in f.samples]
    screens = sum(s.value for s in samples
                  if s.name == "plenary_clients" and s.labels.get("kind") == "screen")
    ok = sum(s.value for s in samples
             if s.name == "plenary_commands_total" and s.labels.get("outcome") == "ok")
    return screens, ok


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


@pytest.mark.timeout(150)
def test_two_processes_serve_one_port_and_survive_a_killed_one(tmp_path, record_property):
    port = free_port()
    server = LiveServer(port, tmp_path / "node", {
        "REDIS_URL": "", "SECRET_KEY": SECRET, "PLENARY_RUN_WORKERS": "true"})
    server.argv += ["--processes", "2"]
    server.start(timeout=60)
    assert server.process is not None
    parent = server.process.pid
    swarm = None
    try:
        log = server.log_path
        wait_for("two web processes", lambda: len(re.findall(
            r"web process \d \(pid \d+\) serving", log.read_text())) == 2, 30)
        first = children(parent)
        assert len(first) == 2

        # Long-polling is refused with a clear error; a websocket-only client is served.
        polling = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5)
        assert polling.status_code == 400
        assert polling.json()["error"]["code"] == "websocket_only"

        programme = programme_of(server)
        room, sitting = rooms_with_sittings(programme)[0]
        codes = [d["code"] for d in programme["delegations"]]
        # Over a second, as a hall's screens connect: twenty connections at once all go
        # to whichever process is free at that instant, and one busy for those few
        # milliseconds (building the commands' validators a second after it starts,
        # about when the swarm comes, or kept off the cores by other tests) gets none.
        swarm = Swarm([server.url], server.token("screen", room), [room], SCREENS, tmp_path,
                      spread_s=1.0)
        swarm.wait_ready(60)
        per_process = {pid: open_connections(pid, port) for pid in first}
        record_property("screens_per_process", list(per_process.values()))
        print(f"screens per process: {per_process}")
        assert all(n > 0 for n in per_process.values()), per_process

        # Commands over fresh connections land on either process; every screen, on
        # either process, gets every state.
        chair = RetryingChair([server], server.token("chair", room), room)
        chair.http.headers["Connection"] = "close"
        chair.send({"type": "session.open", "session_id": sitting})
        for code in codes[:6]:
            chair.send({"type": "speaker.add", "delegation": code})
        version = chair.acked[-1][1]
        took = swarm.wait_versions({room: version}, timeout=5)
        print(f"every screen at the final state {took:.2f} s after the last command")

        # A scrape of the port, whichever process takes it, counts every process's
        # screens and commands.
        admin = server.token("admin")
        wait_for("a scrape counting both processes' screens",
                 lambda: scraped(server, admin)[0] == SCREENS, 10)
        for _ in range(6):  # fresh connections: both processes answer some
            assert scraped(server, admin) == (SCREENS, 7)

        # The workers run once: one consumer per group, in process 0, and one scheduler.
        url = running_url(server.data_dir)
        assert url is not None
        client = redis.Redis.from_url(url)
        stream = f"plenary:{{{programme['meeting']['id']}}}:events"

        def consumers() -> dict[str, list[str]]:
            return {g["name"].decode(): [c["name"].decode() for c in
                                         client.xinfo_consumers(stream, g["name"])]
                    for g in client.xinfo_groups(stream)}

        wait_for("the worker groups", lambda: len(consumers()) >= 2, 10)
        groups = consumers()
        print(f"consumer groups: {groups}")
        for group, names in groups.items():
            assert len(names) == 1, (group, names)
            assert names[0].endswith(f"-{first[0]}"), (group, names, first)
        assert log.read_text().count("scheduler running") == 1

        # SIGKILL one process: it is started again, and its screens come back.
        victim = max(first, key=lambda pid: open_connections(pid, port))
        on_victim = open_connections(victim, port, peer=swarm.process.pid)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        restarted = wait_for("a new web process", lambda: len(
            [p for p in children(parent) if p not in first]) == 1 and len(re.findall(
                r"web process \d \(pid \d+\) serving", log.read_text())) == 3, 15)
        assert re.search(rf"web process \d \(pid {victim}\) ended with signal 9", log.read_text())
        wait_for("every screen back", lambda: (lambda s: s["subscribed"] == SCREENS and sum(
            c >= 2 for c in s["connects"]) >= on_victim)(swarm.status()), 10)
        back = time.monotonic() - killed
        chair.send({"type": "speaker.next"})
        swarm.wait_versions({room: chair.acked[-1][1]}, timeout=5)
        # The killed process's screens are counted once, by the process they came back
        # to; its commands still count.
        wait_for("the screens counted once after the restart",
                 lambda: scraped(server, admin) == (SCREENS, 8), 10)
        print(f"killed a process holding {on_victim} screens: serving again after "
              f"{restarted:.2f} s, every screen back after {back:.2f} s")
        record_property("restart_s", round(restarted, 2))
        record_property("screens_back_s", round(back, 2))
        assert back < 10
        client.close()

        # SIGTERM to the parent: every process ends, the embedded Valkey too.
        valkey = int((server.data_dir / "valkey" / "valkey.pid").read_text())
        everyone = [*children(parent), valkey]
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        wait_for("every process gone", lambda: not any(alive(p) for p in everyone), 10)
    finally:
        if swarm is not None:
            swarm.close()
        server.kill()


# What another program (or an earlier run) left in a folder of prometheus_client's:
# five screens and a hundred commands of a process that is gone.
_OTHERS = """
from prometheus_client import Counter, Gauge
Gauge("plenary_clients", "x", ["kind", "room", "node"], multiprocess_mode="livesum").labels(
    "screen", "plenario", "gone:1").set(5)
Counter("plenary_commands", "x", ["type", "outcome"]).labels("speaker.add", "ok").inc(100)
"""


@pytest.mark.timeout(60)
def test_a_node_alone_counts_only_itself_whatever_prometheus_multiproc_dir_says(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR in the operator's environment (prometheus_client's recipe
    for other programs) names a folder of other processes' figures: `plenary run` alone
    answers for itself, as it did before `--processes` shared a folder."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    subprocess.run([sys.executable, "-c", _OTHERS], check=True,
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    server = LiveServer(free_port(), tmp_path / "node", {
        "REDIS_URL": "", "SECRET_KEY": SECRET, "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    server.start(timeout=60)
    try:
        admin = server.token("admin")
        server.command(admin, {"type": "session.open", "room": "plenario",
                               "session_id": "plenaria"})
        assert scraped(server, admin) == (0, 1)
    finally:
        server.stop()


def serving(server: LiveServer) -> int:
    """How many web processes have said they serve, since the start."""
    return len(re.findall(r"web process \d \(pid \d+\) serving", server.log_path.read_text()))


@pytest.mark.timeout(60)
def test_a_full_disk_under_the_metrics_takes_no_process_down(tmp_path):
    """The processes write their metrics to files of a temporary folder through memory
    maps, and a full disk answers such a write with SIGBUS: a process started again on a
    full disk died at once, again and again. Now it starts keeping its figures to itself."""
    with small_disk(tmp_path) as disk:
        server = LiveServer(free_port(), tmp_path / "node", {
            "REDIS_URL": "", "SECRET_KEY": SECRET, "TMPDIR": str(disk)})
        server.argv += ["--processes", "2"]
        server.start(timeout=60)
        try:
            wait_for("two web processes", lambda: serving(server) == 2, 30)
            fill(disk)
            assert server.process is not None
            os.kill(children(server.process.pid)[1], signal.SIGKILL)
            wait_for("the process killed serving again", lambda: serving(server) == 3, 15)
            time.sleep(1)  # the time to die of a fault, had it faulted
            log = server.log_path.read_text()
            assert "keeps its figures to itself" in log
            assert "signal 7" not in log, log[-2000:]
            for _ in range(6):  # fresh connections: both processes answer some
                assert scraped(server, server.token("admin"))[1] == 0
        finally:
            server.stop()


@pytest.mark.timeout(60)
def test_the_folder_a_run_killed_hard_left_is_removed_by_the_next(tmp_path):
    """A parent killed hard (SIGKILL, or SIGHUP from a closed terminal) cannot remove its
    processes' metrics folder: the next run removes it, and never the folder of a run that
    goes on."""
    temp = tmp_path / "tmp"
    temp.mkdir()

    def started(name: str) -> LiveServer:
        server = LiveServer(free_port(), tmp_path / name, {
            "REDIS_URL": "", "SECRET_KEY": SECRET, "TMPDIR": str(temp)})
        server.argv += ["--processes", "2"]
        server.start(timeout=60)
        return server

    killed = started("killed")
    killed.kill()
    [left] = temp.glob("plenary-metrics-*")
    going_on = subprocess.Popen(
        [sys.executable, "-c", "from dashboard.serve.processes import SharedFolder\n"
         "print(SharedFolder().path, flush=True)\ninput()"],
        env={**os.environ, "TMPDIR": str(temp)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert going_on.stdout is not None
        kept = Path(going_on.stdout.readline().strip())
        assert kept.parent == temp
        server = started("next")
        try:
            assert not left.exists()
            assert kept.exists()
            assert len(list(temp.glob("plenary-metrics-*"))) == 2  # kept, and the new run's
        finally:
            server.stop()
        assert list(temp.glob("plenary-metrics-*")) == [kept]
    finally:
        going_on.kill()
        going_on.communicate()  # and its pipes closed
