"""The data folder: private files created once, the lock of the run that owns it, its address.

Everything under the folder is the deployment's secrets or data (the secret
key, the embedded Valkey's password, configuration and append-only file), so
the folder and what it holds are 0700/0600. A file is created atomically:
written to a temporary file, fsynced, then linked to its name, so the first
writer wins and every process reads the winner's complete content.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600
LOCK_NAME = "run.lock"
ADDRESS_NAME = "service.json"


def make_private(folder: Path) -> Path:
    """Create the folder (0700) if needed and make it and everything in it private."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fix_modes(folder)
    return folder


def unusable(folder: Path, exc: OSError) -> str:
    """Why the data folder cannot be used, in a line an operator can act on."""
    for path in (folder, *folder.parents):
        if path.exists() and not path.is_dir():
            return (f"the data folder {folder} cannot be used: {path} is not a folder; set "
                    "PLENARY_DATA_DIR to a folder")
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"cannot use the data folder {folder}: {exc.strerror or exc}{where}; it must be a "
            "folder this user can write, on a disk with free space (PLENARY_DATA_DIR)")


def fix_modes(folder: Path) -> None:
    """Set 0700 on the folder and its subfolders, 0600 on its files (a folder written by
    an older release was left 0755/0644). Symbolic links are not followed."""
    for path in (folder, *folder.rglob("*")):
        with contextlib.suppress(OSError):  # a file removed meanwhile (Valkey's temp files)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            want = DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE
            if stat.S_IMODE(mode) != want:
                os.chmod(path, want)


def create_once(path: Path, make: Callable[[], str]) -> str:
    """The content of `path`, created with `make()` if absent: the first writer wins.

    The content is written to a temporary file, fsynced and linked to `path`;
    `link` fails when `path` exists, so a process that loses the race reads the
    winner's file, which is complete from the instant it has its name.
    """
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(make())
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text()


def write_private(path: Path, content: str) -> None:
    """Replace a file's content atomically (temporary file, fsync, rename), mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FolderBusy(RuntimeError):
    """Another process owns the data folder; the message names it."""


class RunLock:
    """An exclusive lock on the data folder, held for the life of the process that owns it.

    The lock is `flock` on `<folder>/run.lock`: the kernel releases it when its
    owner ends, even by SIGKILL, so no stale lock survives a crash. The file
    says who holds it (pid, and the address once the service listens).
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self.file: IO[str] | None = None

    def acquire(self, what: str) -> None:
        """Take the lock or raise FolderBusy naming its holder."""
        make_private(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        file = os.fdopen(fd, "r+")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_json(self.path)
            file.close()
            raise FolderBusy(
                f"the data folder {self.path.parent} is in use by {_describe(holder)}; "
                f"stop it first, or give this one another PLENARY_DATA_DIR") from None
        self.file = file
        self.note({"pid": os.getpid(), "what": what})

    def note(self, info: dict[str, Any]) -> None:
        """Write who holds the lock (read by the next process that finds it taken)."""
        if self.file is None:
            return
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps(info))
        self.file.flush()

    def release(self) -> None:
        """Release the lock (also released by the kernel when the process ends)."""
        if self.file is not None:
            self.file.close()
            self.file = None


def held(folder: Path) -> bool:
    """Whether a live process holds the folder's run lock."""
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process"
    where = f", serving {holder['url']}" if holder.get("url") else ""
    return f"`plenary {holder.get('what', 'run')}` (pid {holder.get('pid', '?')}{where})"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def record_address(folder: Path, url: str) -> None:
    """Record the address `plenary run` listens on, for `plenary links` and `revoke`."""
    make_private(folder)
    write_private(folder / ADDRESS_NAME, json.dumps({"url": url, "pid": os.getpid()}) + "\n")


def recorded_address(folder: Path) -> str | None:
    """The address the last `plenary run` on this folder listened on, if any."""
    url = _read_json(folder / ADDRESS_NAME).get("url")
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
