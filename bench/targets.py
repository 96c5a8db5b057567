"""The servers under test: ours (`plenary run` on its own redis-server) and the baselines."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine import BENCH, HOST, ROOT, Proc, free_port, http_json, log, wait_ready

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
    # The chair sends up to 50 commands a second with one link: above a chair's allowance.
    env.setdefault("PLENARY_COMMAND_RATE", "1000")
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
    args: argparse.Namespace, redis: Redis, workdir: Path, nodes: int = 1, processes: int = 1
) -> Target:
    """`plenary run` (with `nodes` > 1: that many, on one Redis, prefix and secret key;
    with `processes` > 1: each as `plenary run --processes N`)."""
    started = time.monotonic()
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="ours-", dir=workdir))
    env = plenary_env(redis.url, data_dir, f"bench{uuid.uuid4().hex[:8]}")
    env.update(kv.split("=", 1) for kv in args.ours_env)  # type: ignore[misc]
    # Every node must verify the same access links: one secret key for all.
    env.setdefault("SECRET_KEY", uuid.uuid4().hex + uuid.uuid4().hex)
    # Only when asked: a 1-process run stays runnable on a tree without --processes.
    many = ["--processes", str(processes)] if processes > 1 else []
    marks = ("web process ",)
    argv = [*plenary_argv(), "run", "--host", HOST, "--port", str(port), *many]
    proc = Proc.start("ours", argv, env=env, marks=marks)
    ready_s = wait_ready(port, proc, 120)
    # Further nodes: same Redis, prefix and key; the workers run on the first only.
    more: list[tuple[int, Proc]] = []
    for k in range(1, nodes):
        kport = free_port()
        kenv = dict(env, PLENARY_RUN_WORKERS="false",
                    PLENARY_DATA_DIR=str(Path(tempfile.mkdtemp(prefix=f"ours{k}-", dir=workdir))))
        more.append((kport, Proc.start(
            f"ours-node{k + 1}",
            [*plenary_argv(), "run", "--host", HOST, "--port", str(kport), *many], env=kenv,
            marks=marks)))
    for kport, kproc in more:
        wait_ready(kport, kproc, 120)
    # /readyz answers from whichever process accepts: wait until every one serves.
    for _kport, kproc in [(port, proc), *more]:
        if processes > 1 and not kproc.wait_marked(processes, 120):
            raise RuntimeError(f"{kproc.name}: not all {processes} processes serve:\n"
                               + "".join(kproc.tail))
        ready_s = max(ready_s, time.monotonic() - started)
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
                  {"ready_s": round(ready_s, 3), "env": env, "redis_pid": redis.proc.popen.pid,
                   "admin_token": pick_token(links, "admin", "*"), "processes": processes},
                  node_list)


def start_flask(args: argparse.Namespace, payload: int) -> Target:
    return _start_baseline("flask", [sys.executable, str(BENCH / "baseline_server.py")], payload)


def start_node(args: argparse.Namespace, payload: int) -> Target:
    return _start_baseline("node", [args.node, str(BENCH / "baseline_node.js")], payload)


def _start_baseline(name: str, program: list[str], payload: int) -> Target:
    """A baseline server broadcasting `payload` bytes to room "plenary" on each trigger."""
    port = free_port()
    proc = Proc.start(name, [*program, "--port", str(port), "--payload-bytes", str(payload)])
    wait_ready(port, proc, 30)
    cmd = [{"type": "bench.trigger", "room": "plenary"}]
    return Target(name, port, proc, "-", "-", "plenary", cmd, payload)


def make_target(
    args: argparse.Namespace, name: str, redis: Redis | None, workdir: Path, payload: int,
    nodes: int = 1, processes: int = 1,
) -> Any:
    """A function that starts the named target (ours needs its Redis)."""
    if name == "ours":
        assert redis is not None
        return lambda: start_ours(args, redis, workdir, nodes, processes)
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
