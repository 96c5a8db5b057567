"""Fan-out benchmark of Plenary Live against a bare Flask-SocketIO server and Node.js socket.io.

One command (from the repository root, venv active):

    python bench/run.py              # 1,000 / 2,000 / 4,000 screens, 60 s each, + ack, replay, page
    python bench/run.py --quick      # CI-size: under a minute

For each configuration and each target (``ours`` = ``plenary run``, ``flask`` =
bench/baseline_server.py, ``node`` = bench/baseline_node.js) it starts the server
as its own process (and, for ours, its own ``redis-server --appendfsync always``),
connects N Socket.IO screens over websocket from separate Node.js processes
(bench/loadgen.js; Python ones on an epoll loop, bench/screens_epoll.py, with
``--client epoll``), drives a chair at R commands/s for D seconds, and measures
for every command the time from sending it to each screen receiving a state of
that version (or newer). Prints one JSON line per configuration on stdout
(progress goes to stderr) and appends it to bench/results/<stamp>.jsonl.

Scale-out (``--nodes 2``): ours as N ``plenary run`` on N ports, one Redis and key
prefix, the screens split evenly between them, the chair on node 1 (or on every
node in turn, ``--chair-spread``); each line then checks delivery and order on
every node and reports each node's CPU and memory. Several processes
(``--processes 2``): ours as ``plenary run --processes N``; its CPU and memory are
those of the supervisor and all its web processes, each also reported on its own.

Traffic goes to 127.0.0.1 only; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import (
    BENCH,
    RESULTS,
    ROOT,
    Contention,
    code_of,
    log,
    machine_info,
    raise_fd_limit,
    stop_all,
    wait_quiet,
)
from measure import run_screens
from targets import Redis, make_target, read_links, running, start_ours

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


def ours_key(nodes: int, processes: int) -> str:
    """"ours", "ours_2nodes", "ours_2procs", "ours_2nodes_2procs"."""
    return "ours" + (f"_{nodes}nodes" if nodes > 1 else "") + (
        f"_{processes}procs" if processes > 1 else "")


def fanout_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    payload = args.payload_bytes
    # ours once per node count and process count (--nodes 1,2: "ours" and "ours_2nodes";
    # --processes 1,2: "ours" and "ours_2procs"), the baselines once.
    plan = [(ours_key(n, k), "ours", n, k) if name == "ours" else (name, name, 1, 1)
            for name in args.targets
            for n in (args.nodes if name == "ours" else [1])
            for k in (args.processes if name == "ours" else [1])]

    def one(key: str, name: str, nodes: int, processes: int, screens: int,
            label: str) -> dict[str, Any]:
        nonlocal payload
        quiet = wait_quiet(args)
        redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir))) \
            if name == "ours" else None
        try:
            size = args.baseline_payload_bytes or payload
            with running(make_target(args, name, redis, workdir, size, nodes,
                                     processes)) as target:
                if name == "ours":
                    payload = target.payload_bytes
                log(f"{key}: {screens} screens, {args.rate}/s for {args.duration}s "
                    f"(payload {target.payload_bytes} B)")
                r = run_screens(args, target, screens, args.rate, args.duration,
                                args.chair_transport, workdir, label)
                log(f"{key}: p50 {r['p50_ms']} p99 {r['p99_ms']} max {r['max_ms']} ms, "
                    f"delivered {r['delivered']}, out of order "
                    f"{r['screens_out_of_order']}, up to date "
                    f"{r['screens_up_to_date']}/{r['subscribed']}, "
                    f"ack p99 {r['ack_p99_ms']} ms, rss {r['rss_per_screen_kb']} KB/screen, "
                    + (f"fleet {r['fleet']['listed']} listed, " if r.get("fleet")
                       and "listed" in r["fleet"] else "")
                    + f"cpu {r['server_cpu_pct']}%"
                    + (f" ({', '.join(str(n['cpu_pct']) for n in r['per_node'])})"
                       if "per_node" in r else "")
                    + (f" (processes: {', '.join(str(p['cpu_pct']) for p in r['processes'])})"
                       if "processes" in r else "")
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
        for key, name, nodes, processes in plan:
            runs = []
            for rep in range(args.repeat):
                for attempt in range(1 + args.contended_retries):
                    r = one(key, name, nodes, processes, screens,
                            f"{key}-{screens}-{rep}-{attempt}")
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
            "ours_env": args.ours_env, "nodes": args.nodes, "processes": args.processes,
            "chair_spread": args.chair_spread, "chair_transport": args.chair_transport,
            "heartbeat": args.heartbeat, "loadgen_nice": args.loadgen_nice, "client": args.client,
            "repeat": args.repeat,
            "duration_s": args.duration, "redis_appendfsync": args.fsync,
            "ratio_p99_ours_flask": ratio(ours.get("p99_ms"), flask.get("p99_ms")),
            "ratio_p50_ours_flask": ratio(ours.get("p50_ms"), flask.get("p50_ms")),
            "ratio_p99_ours_node": ratio(ours.get("p99_ms"), node.get("p99_ms")),
            "ratio_cpu_ours_flask": ratio(ours.get("server_cpu_pct"), flask.get("server_cpu_pct")),
            # each other shape of ours against one node of one process
            **{f"ratio_{field.removesuffix('_ms')}_{key}_ours": ratio(r.get(field),
                                                                        ours.get(field))
               for key, r in per_target.items() if key.startswith("ours_")
               for field in ("p99_ms", "ack_p99_ms", "rss_per_screen_kb")},
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
    from replay import cold_start

    _on_own_redis("replay", args, workdir, emit,
                  lambda redis: cold_start(args, redis.url, workdir, log))


def page_suite(args: argparse.Namespace, workdir: Path, emit: Any) -> None:
    """The screen page's weight and time to its first state, in Chromium."""
    from page import page_weight

    def measure(redis: Redis) -> dict[str, Any]:
        with running(lambda: start_ours(args, redis, workdir)) as target:
            return dict(page_weight(args, target, read_links(target.extra["env"])))

    _on_own_redis("page", args, workdir, emit, measure)


def _on_own_redis(
    suite: str, args: argparse.Namespace, workdir: Path, emit: Any,
    measure: Callable[[Redis], dict[str, Any]],
) -> None:
    """One measurement on a redis-server of its own, emitted with the machine's contention."""
    quiet = wait_quiet(args)
    redis = Redis(args.fsync, Path(tempfile.mkdtemp(prefix="redis-", dir=workdir)))
    try:
        with Contention() as busy:
            result = measure(redis)
        emit({"suite": suite, **result, "other_cpu_pct": busy.other_cpu_pct, **quiet})
    except Exception as exc:
        log(f"{suite} failed: {exc}")
        emit({"suite": suite, "error": str(exc)[-1500:]})
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
    p.add_argument("--loadgen-nice", type=int, default=0,
                   help="run the screens' load generators at this niceness (0: as the "
                        "servers), so that they yield the shared cores, as screens on "
                        "machines of their own would; recorded in each line")
    p.add_argument("--client", default="tcp", choices=["tcp", "raw", "sio", "epoll"],
                   help="screens: loadgen.js speaking the protocol over bare TCP, over "
                        "ws, or socket.io-client; or epoll: screens_epoll.py, the same "
                        "protocol on one epoll loop (lightest)")
    p.add_argument("--heartbeat", action="store_true",
                   help="screens also report themselves as the real pages do: `hello` on "
                        "connect, `shown` after each newer state and every 5 s")
    p.add_argument("--connect-concurrency", type=int, default=50)
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--ack-rate", type=float, default=50.0)
    p.add_argument("--ack-duration", type=float, default=20.0)
    p.add_argument("--ack-screens", type=int, default=100)
    p.add_argument("--replay-events", type=int, default=100_000)
    p.add_argument("--replay-runs", type=int, default=3, help="cold starts timed (median)")
    p.add_argument("--replay-snapshot-tail", type=int, default=1000,
                   help="events after the snapshot in the with-snapshot cold start")
    p.add_argument("--replay-installed", action="store_true",
                   help="replay: time `plenary run` from a fresh `pip install .` (no test "
                        "extras), as deployed, rather than this checkout in the bench's venv")
    p.add_argument("--no-render", action="store_true", help="page: skip the Chromium timing")
    p.add_argument("--profile", action="store_true", help="py-spy the server during fan-out")
    p.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment of `plenary run` (a variant, e.g. "
                        "PLENARY_RUN_WORKERS=0); repeatable")
    p.add_argument("--nodes", default="1",
                   help="ours as N web nodes (`plenary run` on N ports, one Redis and key "
                        "prefix, workers on the first only), screens split evenly; a comma "
                        "list runs each (1,2: ours and ours_2nodes)")
    p.add_argument("--processes", default="1",
                   help="ours as `plenary run --processes N` (one port, N web processes); a "
                        "comma list runs each (1,2: ours and ours_2procs); memory and CPU are "
                        "those of all its processes, the supervisor's included")
    p.add_argument("--chair-transport", default="http", choices=["http", "socketio"],
                   help="fan-out: how the chair sends its commands, on a connection of its "
                        "own (HTTP keep-alive, as the consoles' fetch, or Socket.IO)")
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
    args.processes = [os.cpu_count() or 1 if x == "auto" else int(x)
                      for x in str(args.processes).split(",") if x]
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
    # Inherited by every process started here: the servers hold a socket per screen.
    limit = raise_fd_limit()
    if max(args.screens) + 500 > limit:
        log(f"warning: fd limit {limit} is low for {max(args.screens)} screens "
            "(the servers hold one socket per screen)")
    ensure_node_modules(args)
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / time.strftime("%Y%m%d-%H%M%S.jsonl")
    started = time.monotonic()
    machine = machine_info()
    code = code_of(ROOT)  # the build measured: alternated runs are told apart by it
    log(f"machine: {machine}")

    def emit(obj: dict[str, Any]) -> None:
        line = json.dumps({**obj, "code": code, "machine": machine}, separators=(",", ":"))
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
