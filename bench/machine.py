"""The benchmark's processes, the machine's CPU and memory readings, HTTP to the servers."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
HOST = "127.0.0.1"


def log(*parts: Any) -> None:
    """Progress to stderr, so stdout keeps only the JSON lines."""
    print("[bench]", *parts, file=sys.stderr, flush=True)


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free now, and not given before by this process (the kernel may offer a
    port it has just released again, to two of the servers started here)."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A child process in its own process group, stopped by `stop()`."""

    name: str
    popen: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    tail: list[str] = field(default_factory=list)
    # Lines starting with one of these are kept whole (the tail keeps only the last 40).
    marks: tuple[str, ...] = ()
    marked: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bool = False,
        marks: tuple[str, ...] = (),
    ) -> Proc:
        popen = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        proc = cls(name, popen, marks=marks)
        STARTED.append(proc)
        threading.Thread(target=proc._read, daemon=True).start()
        return proc

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)
            self.tail.append(line)
            # anywhere in the line: processes writing to one pipe can cut into each
            # other's lines (a mark after the tail of another process's long output)
            if self.marks and any(mark in line for mark in self.marks):
                self.marked.append(line)
            del self.tail[:-40]

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def wait_json(self, event: str, timeout: float) -> dict[str, Any]:
        """The next JSON line whose "event" is `event` (other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.popen.poll() is not None and self.lines.empty():
                raise TimeoutError(f"{self.name}: no {event!r}; last output:\n{''.join(self.tail)}")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    obj = json.loads(line)
                    if obj.get("event") == event:
                        return dict(obj)

    def wait_text(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in t for t in self.tail):
                return True
            if self.popen.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def wait_marked(self, count: int, timeout: float) -> bool:
        """Whether `count` marked lines have come within `timeout` s (False if it ended)."""
        deadline = time.monotonic() + timeout
        while len(self.marked) < count:
            if time.monotonic() > deadline or self.popen.poll() is not None:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)


STARTED: list[Proc] = []


def stop_all() -> None:
    """Stop every process this run started, newest first (each by its own process group)."""
    while STARTED:
        with contextlib.suppress(Exception):
            STARTED.pop().stop()


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def wait_quiet(args: argparse.Namespace) -> dict[str, Any]:
    """Before a measurement: wait (at most --quiet-wait s) until the rest of the machine
    uses under --quiet-threshold % CPU over 3 s; say how long it waited and how busy it was."""
    if not getattr(args, "quiet_wait", 0):
        return {}
    start = time.monotonic()
    mine = [p for q in STARTED for p in tree(q.popen.pid)] + [os.getpid()]
    while True:
        b0, t0, m0 = *machine_busy(), cpu_seconds(mine)
        time.sleep(3.0)
        b1, t1, m1 = *machine_busy(), cpu_seconds(mine)
        other = 100 * ((b1 - b0) - (m1 - m0)) / ((t1 - t0) / (os.cpu_count() or 1))
        waited = time.monotonic() - start
        if other < args.quiet_threshold or waited >= args.quiet_wait:
            if waited > 4:
                log(f"waited {waited:.0f}s for a quieter machine (other CPU now {other:.0f}%)")
            return {"quiet_wait_s": round(waited, 1), "other_cpu_pct_before": round(other, 1)}


class Contention:
    """CPU used by processes this benchmark did not start, over a block (% of one core)."""

    def __enter__(self) -> Contention:
        self.mine0 = self._mine()
        self.b0, self.t0 = machine_busy()
        self.w0 = time.monotonic()
        return self

    @staticmethod
    def _mine() -> float:
        # Live children (STARTED) from /proc; this process and the children it has
        # already waited for (subprocess.run, stopped Procs) from its rusage.
        me = resource.getrusage(resource.RUSAGE_SELF)
        gone = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (cpu_seconds([p for q in STARTED for p in tree(q.popen.pid)])
                + me.ru_utime + me.ru_stime + gone.ru_utime + gone.ru_stime)

    def __exit__(self, *exc: Any) -> None:
        b1, _t1 = machine_busy()
        mine = self._mine() - self.mine0
        spent = time.monotonic() - self.w0
        self.other_cpu_pct = round(max(0.0, 100 * ((b1 - self.b0) - mine) / spent), 1)


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def open_sockets(pid: int) -> int:
    """How many sockets a process has open (a server's: about its connections)."""
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


# --------------------------------------------------------------------------- HTTP


def http_json(
    port: int, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any, int]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return resp.status, data, len(raw)
    finally:
        conn.close()


def wait_ready(port: int, proc: Proc, timeout: float, path: str = "/readyz") -> float:
    """Seconds until `path` answers 200 (raises if the process dies or time runs out)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{''.join(proc.tail)}")
        with contextlib.suppress(OSError):
            if http_json(port, "GET", path)[0] == 200:
                return time.monotonic() - start
        time.sleep(0.02)
    raise TimeoutError(f"{proc.name} not ready after {timeout}s:\n{''.join(proc.tail)}")


def code_of(tree: Path) -> str:
    """The commit a checkout is at, `+dirty` when its code differs from it."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
        return out.stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--short", "--", "dashboard") else "")


def machine_info() -> dict[str, Any]:
    """What sets this machine's speed, recorded with every result: figures of different
    machines (or of one virtual machine on different hosts) compare only through it.
    `python_loop_ms`: the best of three runs of a fixed pure-Python loop."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return {"cpu": model, "cores": os.cpu_count(), "python_loop_ms": round(best * 1000, 1)}
