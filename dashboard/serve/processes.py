"""`plenary run --processes N`: one listening socket, N web processes accepting on it.

The parent opens the socket and starts each process as a fresh interpreter
(`subprocess`, the socket's descriptor passed down), so no gevent hub, Redis
client or app crosses a fork. Each process is a whole web node: it folds and
tails the stream itself. Only process 0 runs the workers. The parent watches
them: a process that ends unasked is started again after a back-off; SIGTERM
or SIGINT to the parent is passed to every process, and it returns once they
have ended (after a bound, they are killed).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.settings import Settings
from dashboard.web.metrics import METRICS_ROOM_BYTES, OLD_SHARED_DIR, SHARED_DIR, release_files

log = logging.getLogger("plenary.processes")

RESTART_FIRST_S = 0.5
RESTART_MAX_S = 10.0
STABLE_AFTER_S = 30.0  # a process that ran this long starts again at once
STOP_WAIT_S = 15.0
_PR_SET_PDEATHSIG = 1


PER_CORE_MAX = 2  # --processes at most this many times the cores (docs/deploy.md)


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def process_count(given: str, available: int | None = None) -> int:
    """`--processes`: `auto` for one per core, or a number from 1 to twice the cores."""
    available = available or cores()
    if given == "auto":
        return available
    try:
        count = int(given)
    except ValueError:
        raise ValueError(f"--processes must be a number or auto, not {given!r}") from None
    bound = PER_CORE_MAX * available
    if not 1 <= count <= bound:
        raise ValueError(
            f"--processes must be from 1 to {bound} ({PER_CORE_MAX} per core, "
            f"{available} here), not {count}: each is a whole web node tailing the "
            "stream, and more than the cores only compete for them")
    return count


def listen(host: str, port: int) -> socket.socket:
    """The one listening socket the processes share (inheritable, so a child can have it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class SharedFolder:
    """A temporary folder the processes of one run share (their metrics), removed by
    `remove`. A run that could not remove its own (SIGKILL, SIGHUP) leaves it behind: the
    next run removes every such folder that no running parent holds locked."""

    PREFIX = "plenary-metrics-"

    def __init__(self) -> None:
        self._sweep(Path(tempfile.gettempdir()))
        self.path = tempfile.mkdtemp(prefix=self.PREFIX)
        # Locked before it has its name: a sweep never finds it unlocked while it lives.
        self._lock = os.open(os.path.join(self.path, "lock.new"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        os.rename(os.path.join(self.path, "lock.new"), os.path.join(self.path, "lock"))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)

    @classmethod
    def _sweep(cls, base: Path) -> None:
        for folder in base.glob(f"{cls.PREFIX}*"):
            try:  # this user's folders only, each with a lock no one holds
                if folder.is_symlink() or folder.stat().st_uid != os.getuid():
                    continue
                lock = os.open(folder / "lock", os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:  # not a folder, or being made
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # its run goes on
                continue
            else:
                log.info("removing %s, left by a run that ended without removing it", folder)
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(lock)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), so a hard-killed
    parent leaves no process serving on its own."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Slot:
    """One of the N processes: its current child, and when to start it again."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = RESTART_FIRST_S
    restart_at: float | None = None
    restarts: int = field(default=0)


class Supervisor:
    """Starts N processes, restarts one that ends unasked, stops them all on a signal."""

    def __init__(self, count: int, command: Callable[[int], Sequence[str]],
                 env: Callable[[int], dict[str, str]], listener: socket.socket,
                 ended: Callable[[int], None] = lambda pid: None) -> None:
        self.slots = [Slot(i) for i in range(count)]
        self.command, self.env, self.listener = command, env, listener
        self.ended = ended  # told the pid of each process that ended
        self.stopping = False

    def _start(self, slot: Slot) -> None:
        slot.process = subprocess.Popen(
            list(self.command(slot.index)), env=self.env(slot.index),
            pass_fds=(self.listener.fileno(),), preexec_fn=_die_with_parent)
        slot.started_at = time.monotonic()
        slot.restart_at = None
        log.info("web process %d started (pid %d)", slot.index, slot.process.pid)

    def stop(self, *_: Any) -> None:
        """Ask every process to end (SIGTERM); `run` returns once they have."""
        self.stopping = True

    def run(self) -> None:
        """Start the processes and watch them until asked to stop; then stop them."""
        for slot in self.slots:
            self._start(slot)
        try:
            while not self.stopping:
                self._watch()
                time.sleep(0.2)
        finally:
            self._stop_all()

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is not None:
                code = slot.process.returncode
                ran = now - slot.started_at
                if ran >= STABLE_AFTER_S:
                    slot.backoff_s = RESTART_FIRST_S
                how = f"signal {-code}" if code < 0 else f"status {code}"
                log.warning("web process %d (pid %d) ended with %s after %.1f s; "
                            "starting it again in %.1f s", slot.index, slot.process.pid,
                            how, ran, slot.backoff_s)
                self.ended(slot.process.pid)
                slot.process = None
                slot.restart_at = now + slot.backoff_s
                slot.backoff_s = min(RESTART_MAX_S, slot.backoff_s * 2)
                slot.restarts += 1
            if slot.process is None and slot.restart_at is not None and now >= slot.restart_at:
                self._start(slot)

    def _stop_all(self) -> None:
        running = [s.process for s in self.slots if s.process is not None]
        for process in running:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("web process pid %d did not stop in %.0f s: killed",
                            process.pid, STOP_WAIT_S)
                process.kill()
                process.wait()
        log.info("web processes stopped")


def serve_processes(settings: Settings, host: str, port: int, count: int, embedded: Any,
                    shown: str) -> None:
    """Listen once, start `count` web processes on the socket, watch them until stopped
    (`shown`: the host as the links name it; `embedded`: the Valkey this run started)."""
    try:
        listener = listen(host, port)
    except OSError as exc:
        sys.exit(f"plenary: cannot listen on {host}:{port}: {exc}")
    # Where the processes keep their metrics, so that a scrape of the port, whichever
    # process it reaches, answers for all of them (dashboard/web/metrics.py).
    try:
        folder = SharedFolder()
    except OSError as exc:  # no temporary folder to write in (TMPDIR, /tmp)
        sys.exit(f"plenary: cannot make a folder for the processes' metrics: {exc}")
    shared = folder.path
    base = {**os.environ, "REDIS_URL": settings.redis_url or "",
            # a polling session lives in one process; the next request may reach another
            "PLENARY_WEBSOCKET_ONLY": "true", SHARED_DIR: shared}
    base.pop(OLD_SHARED_DIR, None)  # prometheus_client's old name for it, of the operator's
    # The processes run this very code: `-P` keeps a `dashboard` folder in the current
    # one (an old checkout, say) from being imported instead; when this code is that
    # folder, it is named to them.
    code = str(Path(__file__).resolve().parents[2])
    if code == str(Path.cwd().resolve()):
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [code, base.get("PYTHONPATH")]))

    def env(index: int) -> dict[str, str]:
        # the workers run once, in process 0 (when the settings ask for them at all)
        chosen = base if index == 0 else {**base, "PLENARY_RUN_WORKERS": "false"}
        # A process writes its metrics to the folder through memory maps, and a full disk
        # answers a write there with SIGBUS, at its start as later: without room, it
        # keeps its figures to itself, as a node alone does (it still serves).
        free = _free_bytes(shared)
        if free < METRICS_ROOM_BYTES:
            log.warning("web process %d keeps its figures to itself: %s has %d bytes free, "
                        "not the %d its metrics need (a scrape that reaches it sees only "
                        "its own)", index, shared, free, METRICS_ROOM_BYTES)
            chosen = {k: v for k, v in chosen.items() if k != SHARED_DIR}
        return chosen

    def command(index: int) -> list[str]:
        return [sys.executable, "-P", "-m", "dashboard.cli", "run", "--host", host, "--port",
                str(port), "--listen-fd", str(listener.fileno()), "--process-index", str(index)]

    supervisor = Supervisor(count, command, env, listener,
                            ended=lambda pid: release_files(shared, pid))
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    if embedded is not None:
        embedded.lock.note({"pid": os.getpid(), "what": "run", "url": f"http://{shown}:{port}"})
    log.info("serving on http://%s:%s from %d processes (pid %d watches them)", shown, port,
             count, os.getpid())
    try:
        supervisor.run()
    finally:
        listener.close()
        folder.remove()


def _free_bytes(folder: str) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:  # removed behind our back: no room either
        return 0
