"""Fan-out benchmark of Plenary Live against a bare Flask-SocketIO server and Node.js socket.io.

One command (from the repository root, venv active):

    python bench/run.py              # 1,000 / 2,000 / 4,000 screens, 60 s each, + ack, replay, page
    python bench/run.py --quick      # CI-size: under a minute

For each configuration and each target (``ours`` = ``plenary run``, ``flask`` =
bench/baseline_server.py, ``node`` = bench/baseline_node.js) it starts the server
as its own process (and, for ours, its own ``redis-server --appendfsync always``),
connects N Socket.IO screens over websocket from separate Node.js processes
(bench/loadgen.js), drives a chair at R commands/s for D seconds, and measures
for every command the time from sending it to each screen receiving a state of
that version (or newer). Prints one JSON line per configuration on stdout
(progress goes to stderr) and appends it to bench/results/<stamp>.jsonl.

Scale-out (``--nodes 2``): ours as N ``plenary run`` on N ports, one Redis and key
prefix, the screens split evenly between them, the chair on node 1 (or on every
node in turn, ``--chair-spread``); each line then checks delivery and order on
every node and reports each node's CPU and memory.

Traffic goes to 127.0.0.1 only; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


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

    @classmethod
    def start(
        cls,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bool = False,
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
        proc = cls(name, popen)
        STARTED.append(proc)
        threading.Thread(target=proc._read, daemon=True).start()
        return proc

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)
            self.tail.append(line)
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


# --------------------------------------------------------------------------- targets


def version_key(v: Any) -> tuple[int, int]:
    ms, _, seq = str(v).partition("-")
    return int(ms), int(seq or 0)


@dataclass
class Target:
    """A running server under test, with what the load generator needs to drive it."""

    name: str
    port: int
    proc: Proc
    screen_token: str
    chair_token: str
    room: str
    commands: list[dict[str, Any]]
    payload_bytes: int
    extra: dict[str, Any] = field(default_factory=dict)
    # Web nodes on one Redis and key prefix (ours with --nodes N): (port, process);
    # the first is `port`/`proc`, the one that runs the in-process workers.
    nodes: list[tuple[int, Proc]] = field(default_factory=list)

    def all_nodes(self) -> list[tuple[int, Proc]]:
        return self.nodes or [(self.port, self.proc)]

    def stop(self) -> None:
        for _port, proc in reversed(self.all_nodes()):
            proc.stop()


class Redis:
    """Our own redis-server with the append-only file fsynced on every write."""

    def __init__(self, fsync: str, workdir: Path) -> None:
        self.port = free_port()
        self.proc = Proc.start(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port), "--bind", HOST, "--save", "",
                "--appendonly", "yes", "--appendfsync", fsync, "--dir", str(workdir),
            ],
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((HOST, self.port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start:\n" + "".join(self.proc.tail))
        self.url = f"redis://{HOST}:{self.port}/0"

    def stop(self) -> None:
        self.proc.stop()


def plenary_argv() -> list[str]:
    """`plenary` if installed, else the same entry point run from this checkout."""
    exe = Path(sys.executable).with_name("plenary")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("plenary")
    return [found] if found else [sys.executable, "-m", "dashboard.cli"]


def plenary_env(redis_url: str, data_dir: Path, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(REDIS_URL=redis_url, PLENARY_DATA_DIR=str(data_dir), PLENARY_KEY_PREFIX=prefix)
    return env


def read_links(env: dict[str, str]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [*plenary_argv(), "links", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        raise RuntimeError(f"plenary links failed: {out.stderr[-2000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip().startswith("{")]


def auto_room(links: list[dict[str, Any]]) -> str:
    """The plenary if there is one, else the first room with both a screen and a chair link."""
    rooms = [x["room"] for x in links if x.get("role") == "screen" and x.get("room") != "*"]
    chairs = {x["room"] for x in links if x.get("role") == "chair"}
    rooms = [r for r in rooms if r in chairs] or rooms
    if not rooms:
        raise RuntimeError("no room in `plenary links --json`")
    return next((r for r in rooms if r.startswith("plen")), rooms[0])


def pick_token(links: list[dict[str, Any]], role: str, room: str) -> str:
    exact = [x for x in links if x.get("role") == role and x.get("room") == room]
    anyroom = [x for x in links if x.get("role") == role and x.get("room") in (None, "*", "")]
    admin = [x for x in links if x.get("role") == "admin"]
    for cand in (exact, anyroom, admin if role == "chair" else []):
        if cand:
            return str(cand[0]["token"])
    raise RuntimeError(f"no {role} link for room {room!r} in `plenary links --json`")


def ours_commands(port: int, token: str, room: str, queue_len: int) -> list[dict[str, Any]]:
    """Open the room's sitting, fill its list of speakers; the cycle to send: add, next, ..."""
    _, programme, _ = http_json(port, "GET", "/api/programme", token=token)
    status, state, _ = http_json(port, "GET", f"/api/rooms/{room}", token=token)
    if status != 200:
        raise RuntimeError(f"GET /api/rooms/{room}: {status} {state}")
    session = (state or {}).get("session")
    if not session or session.get("status") != "open":
        sessions = [
            s for s in programme.get("sessions", [])
            if s.get("room") == room and s.get("status", "scheduled") == "scheduled"
        ]
        sid = (session or {}).get("id") or (sessions[0]["id"] if sessions else None)
        if sid:
            cmd = {"type": "session.open", "room": room, "session_id": sid}
            st, body, _ = http_json(port, "POST", "/api/commands", cmd, token)
            log(f"setup session.open {sid}: {st}")
            if st != 200:
                cmd = {"type": "session.resume", "room": room}
                st, body, _ = http_json(port, "POST", "/api/commands", cmd, token)
                log(f"setup session.resume: {st} {body}")
    codes = [d["code"] for d in programme.get("delegations", [])]
    if len(codes) < queue_len + 2:
        raise RuntimeError(f"need at least {queue_len + 2} delegations, got {len(codes)}")
    waiting = {
        q["delegation"]["code"]
        for q in ((state or {}).get("speakers") or {}).get("queue", [])
        if isinstance(q.get("delegation"), dict)
    }
    for code in codes[:queue_len]:
        if code not in waiting:
            cmd = {"type": "speaker.add", "room": room, "delegation": code}
            st, body, _ = http_json(port, "POST", "/api/commands", cmd, token)
            if st != 200:
                raise RuntimeError(f"setup speaker.add {code}: {st} {body}")
    cycle: list[dict[str, Any]] = []
    for k in range(len(codes)):
        code = codes[(k + queue_len) % len(codes)]
        cycle.append({"type": "speaker.add", "room": room, "delegation": code})
        cycle.append({"type": "speaker.next", "room": room})
    # Try the first two for real, so a contract mismatch fails here, loudly.
    for cmd in cycle[:2]:
        st, body, _ = http_json(port, "POST", "/api/commands", cmd, token)
        if st != 200:
            raise RuntimeError(f"setup {cmd}: {st} {body}")
    return cycle[2:] + cycle[:2]


def start_ours(
    args: argparse.Namespace, redis: Redis, workdir: Path, nodes: int = 1
) -> Target:
    """`plenary run` (with `nodes` > 1: that many, on one Redis, prefix and secret key)."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="ours-", dir=workdir))
    env = plenary_env(redis.url, data_dir, f"bench{uuid.uuid4().hex[:8]}")
    env.update(kv.split("=", 1) for kv in args.ours_env)  # type: ignore[misc]
    # Every node must verify the same access links: one secret key for all.
    env.setdefault("SECRET_KEY", uuid.uuid4().hex + uuid.uuid4().hex)
    argv = [*plenary_argv(), "run", "--host", HOST, "--port", str(port)]
    proc = Proc.start("ours", argv, env=env)
    ready_s = wait_ready(port, proc, 120)
    # Further nodes: same Redis, prefix and key; the workers run on the first only.
    more: list[tuple[int, Proc]] = []
    for k in range(1, nodes):
        kport = free_port()
        kenv = dict(env, PLENARY_RUN_WORKERS="false",
                    PLENARY_DATA_DIR=str(Path(tempfile.mkdtemp(prefix=f"ours{k}-", dir=workdir))))
        more.append((kport, Proc.start(
            f"ours-node{k + 1}",
            [*plenary_argv(), "run", "--host", HOST, "--port", str(kport)], env=kenv)))
    for kport, kproc in more:
        wait_ready(kport, kproc, 120)
    links = read_links(env)
    room = args.room if args.room != "auto" else auto_room(links)
    chair = pick_token(links, "chair", room)
    screen = pick_token(links, "screen", room)
    commands = ours_commands(port, chair, room, args.queue_len)
    # Payload as screens get it: the room state after a few commands of the cycle.
    _, view, size = http_json(port, "GET", f"/api/rooms/{room}", token=chair)
    node_list = [(port, proc), *more] if more else []
    for kport, _ in more:  # the other nodes catch up through their tail
        deadline = time.monotonic() + 10
        while http_json(kport, "GET", f"/api/rooms/{room}", token=chair)[1].get(
                "version") != view.get("version"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"node on port {kport} did not catch up with node 1")
            time.sleep(0.05)
    return Target("ours", port, proc, screen, chair, room, commands, size,
                  {"ready_s": round(ready_s, 3), "env": env, "redis_pid": redis.proc.popen.pid},
                  node_list)


def start_flask(args: argparse.Namespace, payload: int) -> Target:
    port = free_port()
    proc = Proc.start(
        "flask",
        [sys.executable, str(BENCH / "baseline_server.py"), "--port", str(port),
         "--payload-bytes", str(payload)],
    )
    wait_ready(port, proc, 30)
    cmd = [{"type": "bench.trigger", "room": "plenary"}]
    return Target("flask", port, proc, "-", "-", "plenary", cmd, payload)


def start_node(args: argparse.Namespace, payload: int) -> Target:
    port = free_port()
    proc = Proc.start(
        "node",
        [args.node, str(BENCH / "baseline_node.js"), "--port", str(port),
         "--payload-bytes", str(payload)],
    )
    wait_ready(port, proc, 30)
    cmd = [{"type": "bench.trigger", "room": "plenary"}]
    return Target("node", port, proc, "-", "-", "plenary", cmd, payload)


# --------------------------------------------------------------------------- measurement


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    idx = min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))
    return round(sorted_values[idx], 2)


def delivery(
    chair_log: list[dict[str, Any]], dumps: list[dict[str, Any]], warmup: int
) -> dict[str, Any]:
    """Latency from each command's send to each screen's first state of that version or newer,
    and the order: a screen must never get an older version after a newer one."""
    sent = [c for c in chair_log[warmup:] if c.get("status") == 200 and c.get("version")]
    sent.sort(key=lambda c: version_key(c["version"]))
    keys = [version_key(c["version"]) for c in sent]
    t_send = [float(c["t_send"]) for c in sent]
    lat: list[float] = []
    per_cmd: list[float] = [0.0] * len(sent)  # worst screen per command
    exact = screens = 0
    frames = older = repeated = screens_disordered = screens_up_to_date = 0
    for dump in dumps:
        vkeys = [version_key(v) if v is not None else (-1, -1) for v in dump["versions"]]
        for rec in dump["clients"]:
            if rec is None:
                continue
            screens += 1
            # Order: every state frame this screen got, in arrival order (one socket).
            newest: tuple[int, int] | None = None
            disordered = False
            for k in range(0, len(rec), 2):
                v = vkeys[rec[k]]
                frames += 1
                if newest is not None and v < newest:
                    older += 1
                    disordered = True
                elif newest is not None and v == newest:
                    repeated += 1
                if newest is None or v > newest:
                    newest = v
            screens_disordered += disordered
            screens_up_to_date += bool(keys) and newest is not None and newest >= keys[-1]
            j = 0
            for k in range(0, len(rec), 2):
                v, t = vkeys[rec[k]], rec[k + 1]
                while j < len(keys) and keys[j] <= v:
                    lat.append(t - t_send[j])
                    per_cmd[j] = max(per_cmd[j], t - t_send[j])
                    if keys[j] == v:
                        exact += 1
                    j += 1
                if j == len(keys):
                    break
    expected = len(sent) * screens
    lat.sort()
    return {
        "commands_measured": len(sent),
        "screens_reporting": screens,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": round(lat[-1], 2) if lat else None,
        "delivered": round(len(lat) / expected, 6) if expected else None,
        "delivered_exact_version": round(exact / expected, 6) if expected else None,
        # Order and completeness, per screen: frames received; frames older than one
        # already received (must be 0); the same version again; screens that ever got
        # an older version after a newer one (must be 0); screens that ended on the
        # newest commanded version (must be all of them).
        "state_frames": frames,
        "frames_older_than_seen": older,
        "frames_repeated_version": repeated,
        "screens_out_of_order": screens_disordered,
        "screens_up_to_date": screens_up_to_date,
        # Slowest screen per command, worst first: [seconds into the run, ms].
        "worst_commands": [
            [round((t_send[i] - t_send[0]) / 1000, 1), round(per_cmd[i], 1)]
            for i in sorted(range(len(sent)), key=lambda i: -per_cmd[i])[:5]
        ] if sent else [],
    }


def ack_stats(chair_log: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    rows = chair_log[warmup:]
    ok = sorted(c["t_ack"] - c["t_send"] for c in rows if c.get("status") == 200)
    errors: dict[str, int] = {}
    for c in rows:
        if c.get("status") != 200:
            code = str((c.get("error") or {}).get("code") if isinstance(c.get("error"), dict)
                       else c.get("error") or c.get("status"))
            errors[code] = errors.get(code, 0) + 1
    return {
        "commands": len(rows), "ok": len(ok), "errors": errors,
        "ack_p50_ms": percentile(ok, 50), "ack_p99_ms": percentile(ok, 99),
        "ack_max_ms": round(ok[-1], 2) if ok else None,
        # When the slowest answers came (seconds into the run): a pattern (every 25 s:
        # engine.io's pings) tells what they waited for.
        "ack_slowest": [[round(c["t_send"] / 1000 - rows[0]["t_send"] / 1000, 2),
                         round(c["t_ack"] - c["t_send"], 1)]
                        for c in sorted(rows, key=lambda c: c["t_send"] - c["t_ack"])[:8]]
        if rows else [],
    }


def ping_histogram(dumps: list[dict[str, Any]], chair_log: list[dict[str, Any]]) -> dict[str, int]:
    if not chair_log:
        return {}
    t0 = chair_log[0]["t_send"]
    counts: dict[str, int] = {}
    for d in dumps:
        for t in d.get("pings_at", []):
            second = str(int((t - t0) // 1000))
            counts[second] = counts.get(second, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares that differ by at most one."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_screens(
    args: argparse.Namespace, target: Target, screens: int, rate: float, duration: float,
    transport: str, workdir: Path, label: str,
) -> dict[str, Any]:
    """Connect `screens` clients, drive the chair, collect everything; stops the loadgens.

    With several web nodes the screens are split evenly between them (each load
    generator process talks to one node); the chair talks to node 1, or to every
    node in turn with --chair-spread.
    """
    nodes = target.all_nodes()
    urls = [f"http://{HOST}:{port}" for port, _ in nodes]
    chair_urls = urls if getattr(args, "chair_spread", False) else urls[:1]
    rss_idle = [rss_bytes(tree(proc.popen.pid)) for _, proc in nodes]
    gens: list[tuple[int, Proc]] = []  # (node index, load generator)
    dumps: list[tuple[int, dict[str, Any]]] = []
    for k, node_screens in enumerate(split(screens, len(nodes))):
        nproc = -(-args.loadgen_procs // len(nodes)) if args.loadgen_procs \
            else -(-node_screens // args.screens_per_proc)
        for i, n in enumerate(split(node_screens, max(1, min(nproc, 8)))):
            if n == 0:
                continue
            name = f"n{k + 1}-screens{i}"
            gens.append((k, Proc.start(
                name,
                [args.node, str(BENCH / "loadgen.js"), "screens", "--url", urls[k],
                 "--token", target.screen_token, "--room", target.room, "--count", str(n),
                 "--concurrency", str(args.connect_concurrency), "--client", args.client,
                 "--out", str(workdir / f"{label}-{name}.json")],
                cwd=BENCH, stdin=True,
            )))
    try:
        t_conn = time.time()
        readies = [g.wait_json("ready", args.connect_timeout) for _, g in gens]
        connect_s = time.time() - t_conn
        subscribed = sum(r["subscribed"] for r in readies)
        sub_node = [sum(r["subscribed"] for (k, _), r in zip(gens, readies, strict=True) if k == n)
                    for n in range(len(nodes))]
        time.sleep(1.0)  # let the join storm settle before measuring
        node_pids = [tree(proc.popen.pid) for _, proc in nodes]
        gen_pids = [tree(g.popen.pid) for _, g in gens]
        redis_pid = target.extra.get("redis_pid")

        cmd_file = workdir / f"{label}-commands.json"
        cmd_file.write_text(json.dumps(target.commands))
        chair_out = workdir / f"{label}-chair.json"
        profile: tuple[Proc, Path] | None = None
        if args.profile and target.name in ("ours", "flask"):
            profile = start_profile(args, target, label, duration)
        mine = [p for q in STARTED for p in tree(q.popen.pid)] + [os.getpid()]
        busy0, mcpu0 = machine_busy()[0], cpu_seconds(mine)
        ncpu0 = [cpu_seconds(pids) for pids in node_pids]
        gcpu0 = [cpu_seconds(pids) for pids in gen_pids]
        rcpu0 = cpu_seconds([redis_pid]) if redis_pid else 0.0
        w0 = time.monotonic()
        chair = Proc.start(
            "chair",
            [args.node, str(BENCH / "loadgen.js"), "chair", "--url", ",".join(chair_urls),
             "--token", target.chair_token, "--transport", transport.removesuffix("-close"),
             "--keepalive", "0" if transport.endswith("-close") else "1", "--rate", str(rate),
             "--duration", str(duration), "--commands", str(cmd_file), "--out", str(chair_out)],
            cwd=BENCH,
        )
        chair.wait_json("done", duration + 60)
        ncpu1 = [cpu_seconds(pids) for pids in node_pids]
        gcpu1 = [cpu_seconds(pids) for pids in gen_pids]
        rcpu1 = cpu_seconds([redis_pid]) if redis_pid else 0.0
        w1 = time.monotonic()
        mine = [p for q in STARTED for p in tree(q.popen.pid)] + [os.getpid()]
        busy1, mcpu1 = machine_busy()[0], cpu_seconds(mine)
        other_pct = 100 * ((busy1 - busy0) - (mcpu1 - mcpu0)) / (w1 - w0)
        rss_peak = [rss_bytes(pids) for pids in node_pids]
        # Drain: wait until no screen has received anything for a second (at most 15 s).
        last, quiet_since, deadline = -1, time.monotonic(), time.monotonic() + 15
        while time.monotonic() < deadline:
            total = 0
            for _, g in gens:
                g.send("stats")
                total += g.wait_json("stats", 10)["state_events"]
            if total != last:
                last, quiet_since = total, time.monotonic()
            elif time.monotonic() - quiet_since >= 1.0:
                break
            time.sleep(0.25)
        for _, g in gens:
            g.send("dump")
        done = [g.wait_json("done", 60) for _, g in gens]
        for k, g in gens:
            path = workdir / f"{label}-{g.name}.json"
            dumps.append((k, json.loads(path.read_text())))
            path.unlink()
        if profile:
            profile[0].popen.wait(timeout=duration + 60)
        chair_log = json.loads(chair_out.read_text())["commands"]
    finally:
        for _, g in gens:
            g.stop()
    warmup = int(rate * args.warmup_s)
    span = w1 - w0
    cpu = sum(ncpu1) - sum(ncpu0)
    frames = sum(len(rec) // 2 for _, d in dumps for rec in d["clients"] if rec)
    result: dict[str, Any] = {
        "target": target.name,
        "nodes": len(nodes),
        "chair_nodes": len(chair_urls),
        "screens": screens,
        "subscribed": subscribed,
        "rate": rate,
        "duration_s": duration,
        "transport": transport,
        "payload_bytes": target.payload_bytes,
        **delivery(chair_log, [d for _, d in dumps], warmup),
        **{k: v for k, v in ack_stats(chair_log, warmup).items() if k != "commands"},
        "connect_total_s": round(connect_s, 3),
        "connect_p50_ms": round(statistics.median(r["connect_p50_ms"] or 0 for r in readies), 1),
        "connect_p99_ms": round(max(r["connect_p99_ms"] or 0 for r in readies), 1),
        "disconnects": sum(d["disconnects"] for d in done),
        # All nodes together (100% = one core; the machine has os.cpu_count()).
        "server_cpu_pct": round(100 * cpu / span, 1),
        # CPU cost, robust to other load on the machine (unlike the latencies).
        "server_cpu_ms_per_command": round(1000 * cpu / max(1, len(chair_log)), 2),
        "server_cpu_us_per_message": round(
            1e6 * cpu / max(1, len(chair_log) * max(1, subscribed)), 2),
        # Per state frame actually sent (ours coalesces: fewer frames than commands x
        # screens under load). Approximate: frames sent during the drain count too.
        "server_cpu_us_per_frame": round(1e6 * cpu / max(1, frames), 2),
        "loadgen_cpu_pct": round(100 * (sum(gcpu1) - sum(gcpu0)) / span, 1),
        "redis_cpu_pct": round(100 * (rcpu1 - rcpu0) / span, 1) if redis_pid else None,
        "server_rss_mb": round(sum(rss_peak) / 2**20, 1),
        "rss_per_screen_kb": round(
            (sum(rss_peak) - sum(rss_idle)) / 1024 / max(1, subscribed), 1),
        # CPU used meanwhile by processes this benchmark did not start (other work on
        # the machine): figures taken with this well above ~5% are contended.
        "other_cpu_pct": round(max(0.0, other_pct), 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        # Engine.IO pings the screens got, per second of the run (from the first command).
        "pings_per_s": ping_histogram([d for _, d in dumps], chair_log),
        # The load generators' own event-loop stalls over 50 ms: [second of the run, ms].
        "loadgen_stalls": sorted(
            [round((t - chair_log[0]["t_send"]) / 1000, 1), ms]
            for _, d in dumps for t, ms in d.get("stalls", [])) if chair_log else [],
    }
    if len(nodes) > 1:
        per_node = []
        for n in range(len(nodes)):
            d = delivery(chair_log, [x for k, x in dumps if k == n], warmup)
            mine_log = [c for c in chair_log if c.get("node", 0) == n]
            a = ack_stats(mine_log, 0) if len(chair_urls) > 1 else {}
            per_node.append({
                "node": n + 1, "port": nodes[n][0], "workers": n == 0,
                "subscribed": sub_node[n],
                **{key: d[key] for key in ("p50_ms", "p99_ms", "max_ms", "delivered",
                                           "delivered_exact_version", "frames_older_than_seen",
                                           "screens_out_of_order", "screens_up_to_date")},
                **({"commands_sent_here": len(mine_log), "ack_p50_ms": a.get("ack_p50_ms"),
                    "ack_p99_ms": a.get("ack_p99_ms")} if a else {}),
                "disconnects": sum(dn["disconnects"] for (k, _), dn
                                   in zip(gens, done, strict=True) if k == n),
                "cpu_pct": round(100 * (ncpu1[n] - ncpu0[n]) / span, 1),
                "cpu_us_per_message": round(1e6 * (ncpu1[n] - ncpu0[n]) / max(
                    1, len(chair_log) * max(1, sub_node[n])), 2),
                "loadgen_cpu_pct": round(100 * sum(
                    gcpu1[i] - gcpu0[i] for i, (k, _) in enumerate(gens) if k == n) / span, 1),
                "rss_mb": round(rss_peak[n] / 2**20, 1),
                "rss_per_screen_kb": round(
                    (rss_peak[n] - rss_idle[n]) / 1024 / max(1, sub_node[n]), 1),
            })
        result["per_node"] = per_node
    if profile:
        result["profile"] = summarise_profile(profile[1])
    return result


# --------------------------------------------------------------------------- profiling


def start_profile(
    args: argparse.Namespace, target: Target, label: str, duration: float
) -> tuple[Proc, Path]:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{label}.txt"
    pyspy = Path(sys.executable).with_name("py-spy")
    proc = Proc.start(
        "py-spy",
        [str(pyspy if pyspy.exists() else "py-spy"), "record", "--pid",
         str(target.proc.popen.pid), "--duration", str(int(duration)), "--rate", "200",
         "--format", "raw", "--nonblocking", "--output", str(out)],
    )
    log(f"profiling {target.name} into {out}")
    return proc, out


def summarise_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive share of samples per function, from py-spy's collapsed stacks."""
    if not path.exists():
        return {"error": f"no profile at {path}"}
    self_n: dict[str, int] = {}
    incl_n: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        self_n[frames[-1]] = self_n.get(frames[-1], 0) + count
        for f in set(frames):
            incl_n[f] = incl_n.get(f, 0) + count
    def share(d: dict[str, int]) -> list[list[Any]]:
        return [[f, round(100 * n / total, 1)]
                for f, n in sorted(d.items(), key=lambda x: -x[1])[:top]]
    return {"samples": total, "file": str(path), "self_pct": share(self_n),
            "inclusive_pct": share(incl_n)}


# --------------------------------------------------------------------------- suites


def make_target(
    args: argparse.Namespace, name: str, redis: Redis | None, workdir: Path, payload: int,
    nodes: int = 1,
) -> Any:
    """A function that starts the named target (ours needs its Redis)."""
    if name == "ours":
        assert redis is not None
        return lambda: start_ours(args, redis, workdir, nodes)
    if name == "flask":
        return lambda: start_flask(args, payload)
    return lambda: start_node(args, payload)


@contextlib.contextmanager
def running(target_factory: Any) -> Iterator[Target]:
    target = target_factory()
    try:
        yield target
    finally:
        target.stop()


# Kept run by run as well as their median, to show the spread.
SPREAD_KEYS = ("p50_ms", "p99_ms", "ack_p99_ms", "server_cpu_pct", "other_cpu_pct")


def median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
            out[key] = statistics.median(vals) if vals else value
        elif key == "per_node" and all(len(r.get(key) or []) == len(value) for r in runs):
            out[key] = [median_result([r[key][n] for r in runs]) for n in range(len(value))]
    for key in SPREAD_KEYS:
        if key in out:
            out[f"{key}_runs"] = [r.get(key) for r in runs]
    out["runs"] = len(runs)
    return out


def ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return round(a / b, 3)
    return None


def fanout_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    payload = args.payload_bytes
    # ours once per node count (--nodes 1,2: "ours" and "ours_2nodes"), the baselines once.
    plan = [(f"ours_{n}nodes" if n > 1 else "ours", "ours", n) if name == "ours" else
            (name, name, 1) for name in args.targets
            for n in (args.nodes if name == "ours" else [1])]
    def one(key: str, name: str, nodes: int, screens: int, label: str) -> dict[str, Any]:
        nonlocal payload
        quiet = wait_quiet(args)
        redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir))) \
            if name == "ours" else None
        try:
            size = args.baseline_payload_bytes or payload
            with running(make_target(args, name, redis, workdir, size, nodes)) as target:
                if name == "ours":
                    payload = target.payload_bytes
                log(f"{key}: {screens} screens, {args.rate}/s for {args.duration}s "
                    f"(payload {target.payload_bytes} B)")
                r = run_screens(args, target, screens, args.rate, args.duration,
                                "http", workdir, label)
                log(f"{key}: p50 {r['p50_ms']} p99 {r['p99_ms']} max {r['max_ms']} ms, "
                    f"delivered {r['delivered']}, out of order "
                    f"{r['screens_out_of_order']}, up to date "
                    f"{r['screens_up_to_date']}/{r['subscribed']}, "
                    f"cpu {r['server_cpu_pct']}%"
                    + (f" ({', '.join(str(n['cpu_pct']) for n in r['per_node'])})"
                       if "per_node" in r else "")
                    + f", loadgen cpu {r['loadgen_cpu_pct']}%, "
                    f"other cpu {r['other_cpu_pct']}%")
                return {**r, **quiet}
        except Exception as exc:  # a failed target is reported, the others still run
            log(f"{key} failed: {exc}")
            return {"target": key, "error": str(exc)[-1500:]}
        finally:
            if redis:
                redis.stop()

    for screens in args.screens:
        per_target: dict[str, dict[str, Any]] = {}
        for key, name, nodes in plan:
            runs = []
            for rep in range(args.repeat):
                for attempt in range(1 + args.contended_retries):
                    r = one(key, name, nodes, screens, f"{key}-{screens}-{rep}-{attempt}")
                    if "error" in r or r["other_cpu_pct"] <= args.max_other_cpu:
                        break
                    if attempt < args.contended_retries:
                        log(f"{key}: contended (other CPU {r['other_cpu_pct']}%); once more")
                        r["discarded"] = True
                        emit({"suite": "fanout-contended", "screens": screens, key: r})
                runs.append(r)
            ok = [r for r in runs if "error" not in r]
            per_target[key] = median_result(ok) if ok else runs[-1]
        ours, flask, node = (per_target.get(k, {}) for k in ("ours", "flask", "node"))
        line = {
            "suite": "fanout", "screens": screens, "rate": args.rate,
            "ours_env": args.ours_env, "nodes": args.nodes, "chair_spread": args.chair_spread,
            "repeat": args.repeat,
            "duration_s": args.duration, "redis_appendfsync": args.fsync,
            "ratio_p99_ours_flask": ratio(ours.get("p99_ms"), flask.get("p99_ms")),
            "ratio_p50_ours_flask": ratio(ours.get("p50_ms"), flask.get("p50_ms")),
            "ratio_p99_ours_node": ratio(ours.get("p99_ms"), node.get("p99_ms")),
            "ratio_cpu_ours_flask": ratio(ours.get("server_cpu_pct"), flask.get("server_cpu_pct")),
            **{name: r for name, r in per_target.items()},
        }
        emit(line)


def ack_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    names = ["ours"] if args.quick else [t for t in args.targets if t in ("ours", "flask")]
    for name in names:
        redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir))) \
            if name == "ours" else None
        try:
            with running(make_target(args, name, redis, workdir, args.payload_bytes)) as target:
                for transport in ("http", "http-close", "socketio"):
                    runs = []
                    for rep in range(args.repeat):
                        quiet = wait_quiet(args)
                        log(f"{name}: ack latency, {transport}, {args.ack_rate}/s for "
                            f"{args.ack_duration}s with {args.ack_screens} screens")
                        label = f"ack-{name}-{transport}-{rep}"
                        r = run_screens(args, target, args.ack_screens, args.ack_rate,
                                        args.ack_duration, transport, workdir, label)
                        log(f"{name} {transport}: ack p50 {r['ack_p50_ms']} p99 "
                            f"{r['ack_p99_ms']} ms, cpu/command "
                            f"{r['server_cpu_ms_per_command']} ms, other cpu "
                            f"{r['other_cpu_pct']}%")
                        runs.append({k: r[k] for k in (
                            "ok", "errors", "ack_p50_ms", "ack_p99_ms", "ack_max_ms", "p50_ms",
                            "p99_ms", "delivered", "screens_out_of_order", "server_cpu_pct",
                            "server_cpu_ms_per_command", "redis_cpu_pct", "other_cpu_pct",
                            *(["profile"] if "profile" in r else []))} | quiet)
                    emit({"suite": "ack", "target": name, "transport": transport,
                          "rate": args.ack_rate, "screens": args.ack_screens,
                          "ours_env": args.ours_env, **median_result(runs)})
        except Exception as exc:
            log(f"ack {name} failed: {exc}")
            emit({"suite": "ack", "target": name, "error": str(exc)[-1500:]})
        finally:
            if redis:
                redis.stop()


def replay_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    """Cold start: fill a stream with N events through the real domain, time `plenary run`."""
    sys.path.insert(0, str(BENCH))
    try:
        from replay import cold_start  # type: ignore[import-not-found]
    except ImportError as exc:
        emit({"suite": "replay", "error": f"bench/replay.py unavailable: {exc}"})
        return
    quiet = wait_quiet(args)
    redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir)))
    try:
        with Contention() as busy:
            result = cold_start(args, redis.url, workdir, log)
        emit({"suite": "replay", **result, "other_cpu_pct": busy.other_cpu_pct, **quiet})
    except Exception as exc:
        log(f"replay failed: {exc}")
        emit({"suite": "replay", "error": str(exc)[-1500:]})
    finally:
        redis.stop()


def page_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from page import page_weight  # type: ignore[import-not-found]
    except ImportError as exc:
        emit({"suite": "page", "error": f"bench/page.py unavailable: {exc}"})
        return
    quiet = wait_quiet(args)
    redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir)))
    try:
        with running(lambda: start_ours(args, redis, workdir)) as target, Contention() as busy:
            result = page_weight(args, target, read_links(target.extra["env"]))
        emit({"suite": "page", **result, "other_cpu_pct": busy.other_cpu_pct, **quiet})
    except Exception as exc:
        log(f"page failed: {exc}")
        emit({"suite": "page", "error": str(exc)[-1500:]})
    finally:
        redis.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI-size run, under a minute")
    p.add_argument("--suites", default="fanout,ack,replay,page",
                   help="comma list of fanout, ack, replay, page")
    p.add_argument("--screens", default="1000,2000,4000", help="comma list of screen counts")
    p.add_argument("--targets", default="ours,flask,node", help="comma list of ours, flask, node")
    p.add_argument("--rate", type=float, default=10.0, help="commands per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per configuration")
    p.add_argument("--hold", type=float, default=0.0,
                   help="seconds to hold the largest configuration (e.g. 600 for the soak)")
    p.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    p.add_argument("--warmup-s", type=float, default=1.0, help="first seconds not measured")
    p.add_argument("--room", default="auto", help="room of the screens (auto: the plenary)")
    p.add_argument("--queue-len", type=int, default=5, help="speakers waiting in the list")
    p.add_argument("--payload-bytes", type=int, default=1500,
                   help="baseline payload when ours is not run (else: ours' room state size)")
    p.add_argument("--baseline-payload-bytes", type=int, default=0,
                   help="force the baselines' payload (e.g. 300, the issue's reference event); "
                        "default: the size of ours' room state")
    p.add_argument("--fsync", default="always", choices=["always", "everysec", "no"])
    p.add_argument("--screens-per-proc", type=int, default=2000)
    p.add_argument("--loadgen-procs", type=int, default=0, help="0: one per --screens-per-proc")
    p.add_argument("--client", default="tcp", choices=["tcp", "raw", "sio"],
                   help="screens: the protocol over bare TCP (lightest), over ws, "
                        "or socket.io-client")
    p.add_argument("--connect-concurrency", type=int, default=50)
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--ack-rate", type=float, default=50.0)
    p.add_argument("--ack-duration", type=float, default=20.0)
    p.add_argument("--ack-screens", type=int, default=100)
    p.add_argument("--replay-events", type=int, default=100_000)
    p.add_argument("--replay-runs", type=int, default=3, help="cold starts timed (median)")
    p.add_argument("--replay-snapshot-tail", type=int, default=1000,
                   help="events after the snapshot in the with-snapshot cold start")
    p.add_argument("--no-render", action="store_true", help="page: skip the Chromium timing")
    p.add_argument("--profile", action="store_true", help="py-spy the server during fan-out")
    p.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment of `plenary run` (a variant, e.g. "
                        "PLENARY_RUN_WORKERS=0); repeatable")
    p.add_argument("--nodes", default="1",
                   help="ours as N web nodes (`plenary run` on N ports, one Redis and key "
                        "prefix, workers on the first only), screens split evenly; a comma "
                        "list runs each (1,2: ours and ours_2nodes)")
    p.add_argument("--chair-spread", action="store_true",
                   help="with --nodes > 1: the chair sends to every node in turn "
                        "(default: node 1 only)")
    p.add_argument("--quiet-wait", type=float, default=0.0,
                   help="before each measurement, wait up to this many seconds for the rest "
                        "of the machine to use under --quiet-threshold %% CPU (0: do not wait)")
    p.add_argument("--quiet-threshold", type=float, default=15.0)
    p.add_argument("--max-other-cpu", type=float, default=1e9,
                   help="fan-out: a run during which other processes used more CPU than this "
                        "(%% of one core) is reported as contended and run again")
    p.add_argument("--contended-retries", type=int, default=0)
    p.add_argument("--node", default=shutil.which("node") or "node")
    p.add_argument("--out", default="", help="JSONL file (default bench/results/<stamp>.jsonl)")
    args = p.parse_args(argv)
    if args.quick:
        defaults = {"screens": "300", "duration": 5.0, "ack_duration": 3.0,
                    "replay_events": 5_000, "replay_runs": 1, "ack_screens": 20,
                    "targets": "ours,flask"}
        for key, value in defaults.items():
            if getattr(args, key) == p.get_default(key):
                setattr(args, key, value)
    args.screens = [int(x) for x in str(args.screens).split(",") if x]
    args.targets = [x for x in args.targets.split(",") if x]
    args.suites = [x for x in args.suites.split(",") if x]
    args.nodes = [int(x) for x in str(args.nodes).split(",") if x]
    if args.hold:
        args.screens = [max(args.screens)]
        args.duration = args.hold
    return args


def ensure_node_modules(args: argparse.Namespace) -> None:
    if not (BENCH / "node_modules" / "socket.io-client").exists():
        log("npm ci in bench/")
        subprocess.run([shutil.which("npm") or "npm", "ci", "--no-audit", "--no-fund"],
                       cwd=BENCH, check=True, stdout=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_fd_limit()
    if max(args.screens) + 200 > limit:
        log(f"warning: fd limit {limit} is low for {max(args.screens)} screens")
    ensure_node_modules(args)
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / time.strftime("%Y%m%d-%H%M%S.jsonl")
    started = time.monotonic()

    def emit(obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":"))
        print(line, flush=True)
        with out.open("a") as f:
            f.write(line + "\n")

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory(prefix="plenary-bench-") as tmp:
        workdir = Path(tmp)
        suites = {"fanout": fanout_suite, "ack": ack_suite, "replay": replay_suite,
                  "page": page_suite}
        try:
            for name in args.suites:
                suites[name](args, workdir, emit)
        finally:
            stop_all()
    log(f"done in {time.monotonic() - started:.0f}s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
