"""Cold start: a stream of N real events, then the time until `plenary run` is ready.

The events are made by the real domain (`decide` then `apply`), so the replay
folds what a long meeting would leave: sittings opened and closed, speakers
added, given the floor and timed, announcements posted and retracted.
Used by bench/run.py (suite "replay"); standalone:

    python bench/replay.py --events 100000 --redis-url redis://127.0.0.1:6379/9
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))


def command_cycle(programme: Any) -> Iterator[dict[str, Any]]:
    """An endless, valid mix of commands: one long sitting per room, speakers in and out."""
    codes = [d.code for d in programme.delegations]
    rooms = [r.id for r in programme.rooms]
    for room in rooms:
        sessions = [s.id for s in programme.sessions if s.room == room]
        if sessions:
            yield {"type": "session.open", "room": room, "session_id": sessions[0]}
    for i in itertools.count():
        room = rooms[i % len(rooms)]
        k = i // len(rooms)
        code = codes[k % len(codes)]
        yield {"type": "speaker.add", "room": room, "delegation": code,
               "speaker_name": f"Speaker {k}"}
        yield {"type": "speaker.next", "room": room}
        if k % 4 == 0:
            yield {"type": "timer.pause", "room": room}
            yield {"type": "timer.resume", "room": room}
            yield {"type": "timer.extend", "room": room, "seconds": 30}
        if k % 7 == 0:
            yield {"type": "speaker.add", "room": room, "kind": "reply",
                   "delegation": codes[(k + len(codes) // 2) % len(codes)]}
            yield {"type": "speaker.next", "room": room}
        if k % 25 == 0:
            yield {"type": "announcement.post", "room": room, "level": "info", "rooms": [room],
                   "text": {"es": f"Aviso {k}", "en": f"Notice {k}"}}
        if k % 31 == 0:
            yield {"type": "list.close", "room": room}
            yield {"type": "list.reopen", "room": room}


def make_events(programme: Any, count: int) -> list[Any]:
    """`count` events decided and applied by the real domain, with synthetic ids."""
    from dashboard.domain import DomainError, apply, decide, new_state, parse_command

    state = new_state(programme)
    events: list[Any] = []
    now = time.time() - count  # one event a second of meeting, ending now
    ms, seq = int(now * 1000), 0
    posted: list[str] = []
    for body in command_cycle(programme):
        if len(events) >= count:
            break
        if body["type"] == "announcement.post" and len(posted) > 5:
            body = {"type": "announcement.retract", "room": body["room"], "id": posted.pop(0)}
        try:
            decided = decide(state, parse_command(body), now)
        except DomainError:
            continue
        for e in decided:
            seq += 1
            e = e.with_id(f"{ms}-{seq}")
            apply(state, e)
            events.append(e)
            if e.type == "announcement.posted":
                posted.append(e.data.id)
        now += 1.0
        ms, seq = int(now * 1000), 0
    return events[:count]


def fill_stream(
    redis_url: str, prefix: str, programme: Any, count: int, tail: int = 0
) -> dict[str, Any]:
    """Write `count` events to the meeting's stream, as the event log names it.

    With `tail`, also store a snapshot of the state `tail` events before the end
    (what the snapshot worker would have left), under a second prefix `<prefix>s`.
    """
    import redis

    from dashboard.store.eventlog import EventLog

    t0 = time.perf_counter()
    events = make_events(programme, count)
    made_s = time.perf_counter() - t0
    client = redis.Redis.from_url(redis_url)
    log = EventLog(client, programme.meeting.id, prefix)
    client.delete(log.stream, log.answers)
    t0 = time.perf_counter()
    for start in range(0, len(events), 2000):
        pipe = client.pipeline(transaction=False)
        for e in events[start:start + 2000]:
            pipe.xadd(log.stream, {**e.to_fields(), "cmd": "bench"}, id=e.id)
        pipe.execute()
    written_s = time.perf_counter() - t0
    types: dict[str, int] = {}
    for e in events:
        types[e.type] = types.get(e.type, 0) + 1
    size = client.memory_usage(log.stream) or 0
    if tail:
        from dashboard.domain import apply, new_state
        from dashboard.store.snapshots import save_snapshot

        state = new_state(programme)
        for e in events[: len(events) - tail]:
            apply(state, e)
        snap_log = EventLog(client, programme.meeting.id, prefix + "s")
        client.copy(log.stream, snap_log.stream, replace=True)
        save_snapshot(snap_log, state, len(events) - tail, force=True)
    client.close()
    return {"events": len(events), "make_s": round(made_s, 2), "write_s": round(written_s, 2),
            "stream_bytes": size, "event_types": types}


def time_load_in_process(redis_url: str, prefix: str, programme: Any) -> dict[str, Any]:
    """Time `Meeting.load()` (read + fold) apart from process start-up."""
    import redis

    from dashboard.store.eventlog import EventLog
    from dashboard.store.meeting import Meeting

    client = redis.Redis.from_url(redis_url)
    log = EventLog(client, programme.meeting.id, prefix)
    t0 = time.perf_counter()
    entries, after = 0, "-"
    while True:  # XRANGE alone, no parsing: the floor the replay could reach
        batch = client.xrange(log.stream, min=after, max="+", count=10_000)
        entries += len(batch)
        if len(batch) < 10_000:
            break
        after = "(" + batch[-1][0].decode()
    xrange_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = 0
    for _ in log.read_all("0-0"):
        raw += 1
    read_s = time.perf_counter() - t0
    meeting = Meeting(programme, log)
    t0 = time.perf_counter()
    folded = meeting.load()
    load_s = time.perf_counter() - t0
    client.close()
    return {"xrange_only_s": round(xrange_s, 3),
            "xrange_entries_per_s": round(entries / xrange_s),
            "read_and_parse_s": round(read_s, 3), "read_and_parse_per_s": round(raw / read_s),
            "load_s": round(load_s, 3), "folded": folded}


def time_plenary_run(
    redis_url: str, prefix: str, workdir: Path, argv: list[str], env_base: dict[str, str]
) -> dict[str, Any]:
    """Seconds from spawning `plenary run` to /readyz answering 200, and its own log line."""
    import http.client
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data_dir = tempfile.mkdtemp(prefix="replay-", dir=workdir)
    env = dict(env_base, REDIS_URL=redis_url, PLENARY_DATA_DIR=data_dir,
               PLENARY_KEY_PREFIX=prefix)
    t0 = time.monotonic()
    proc = subprocess.Popen([*argv, "run", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    ready = None
    try:
        while time.monotonic() - t0 < 120 and proc.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    ready = time.monotonic() - t0
                    break
            except OSError:
                pass
            time.sleep(0.01)
        # The bare interpreter + imports, for reference: what a zero-event start costs.
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    if ready is None:
        raise RuntimeError(f"plenary run never ready:\n{out[-2000:]}")
    return {"ready_s": round(ready, 3)}


def compile_ahead() -> bool:
    """Write the bytecode of the service's modules, as installing the package does.

    pip compiles what it installs, so a deployed `plenary run` reads bytecode. Run
    from a checkout with PYTHONDONTWRITEBYTECODE set (as on the benchmark machine),
    every start would compile every module from its source, and the cold start would
    time that too.
    """
    import compileall

    return all(compileall.compile_dir(ROOT / name, quiet=1) for name in ("dashboard", "workers"))


def installed_plenary(workdir: Path, log: Callable[..., None]) -> list[str]:
    """`plenary` of a fresh virtualenv where this checkout is installed as a deployment
    installs it (`pip install .`, as the Dockerfile does): without the test extras, whose
    packages the service's libraries would otherwise import, and compiled by pip."""
    venv = workdir / "installed"
    log(f"replay: installing this checkout in {venv}")
    for argv in ([sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)]):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return [str(venv / "bin" / "plenary")]


def drop_keys(redis_url: str, prefixes: list[str]) -> None:
    """Delete the keys this run made (and only those)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for prefix in prefixes:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    client.close()


def cold_start(
    args: Any, redis_url: str, workdir: Path, log: Callable[..., None]
) -> dict[str, Any]:
    """The replay suite of bench/run.py."""
    from targets import plenary_argv, plenary_env

    from dashboard.domain import load_programme
    from dashboard.domain.programme import default_programme_path

    programme = load_programme(os.environ.get("PLENARY_PROGRAMME") or default_programme_path())
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    empty_prefix = f"bench{uuid.uuid4().hex[:8]}"
    log(f"replay: making {args.replay_events} events through the domain")
    tail = min(getattr(args, "replay_snapshot_tail", 1000), args.replay_events // 2)
    filled = fill_stream(redis_url, prefix, programme, args.replay_events, tail)
    log(f"replay: {filled['events']} events written ({filled['stream_bytes']} B); timing")
    env = plenary_env(redis_url, workdir, prefix)
    # No in-process workers: the snapshot worker would otherwise write a snapshot
    # during the first run and make the later "no snapshot" runs snapshot runs.
    env["PLENARY_RUN_WORKERS"] = "0"
    installed = bool(getattr(args, "replay_installed", False))
    if installed:  # the installed copy, not this checkout on the PYTHONPATH
        argv = installed_plenary(workdir, log)
        env.pop("PYTHONPATH", None)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        compiled = True
    else:
        argv = plenary_argv()
        compiled = compile_ahead()
    empty = time_plenary_run(redis_url, empty_prefix, workdir, argv, env)
    runs = [time_plenary_run(redis_url, prefix, workdir, argv, env)["ready_s"]
            for _ in range(args.replay_runs)]
    snap = [time_plenary_run(redis_url, prefix + "s", workdir, argv, env)["ready_s"]
            for _ in range(args.replay_runs)]
    inproc = time_load_in_process(redis_url, prefix, programme)
    drop_keys(redis_url, [prefix, prefix + "s", empty_prefix])
    return {
        **{k: v for k, v in filled.items() if k != "event_types"},
        "ready_s_runs": runs,
        "ready_s": sorted(runs)[len(runs) // 2],
        "ready_s_with_snapshot_runs": snap,
        "ready_s_with_snapshot": sorted(snap)[len(snap) // 2],
        "snapshot_tail_events": tail,
        "ready_s_empty_stream": empty["ready_s"],
        "bytecode_compiled_ahead": compiled,
        "plenary": "installed" if installed else "checkout",
        **inproc,
        "event_types": filled["event_types"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    args.replay_events, args.replay_runs, args.replay_snapshot_tail = args.events, 3, 1000
    with tempfile.TemporaryDirectory() as tmp:
        result = cold_start(args, args.redis_url, Path(tmp),
                            lambda *a: print(*a, file=sys.stderr))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
