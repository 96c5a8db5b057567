"""One fan-out measurement: screens connected, the chair driven, delivery and costs.

Also py-spy on the server while it runs (--profile).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from machine import (
    BENCH,
    HOST,
    RESULTS,
    STARTED,
    Proc,
    cpu_seconds,
    http_json,
    log,
    machine_busy,
    open_sockets,
    rss_bytes,
    tree,
)
from targets import Target, version_key

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
            # --loadgen-nice N: the screens' generators yield the shared cores to the
            # servers, Redis and the chair, as screens on machines of their own would.
            niced = ["nice", "-n", str(args.loadgen_nice)] if getattr(
                args, "loadgen_nice", 0) else []
            if args.client == "epoll":
                program = [sys.executable, str(BENCH / "screens_epoll.py"),
                           "--connect-timeout", str(int(args.connect_timeout * 1000))]
            else:
                program = [args.node, str(BENCH / "loadgen.js"), "screens",
                           "--client", args.client]
            gens.append((k, Proc.start(
                name,
                [*niced, *program, "--url", urls[k],
                 "--token", target.screen_token, "--room", target.room, "--count", str(n),
                 "--concurrency", str(args.connect_concurrency),
                 "--out", str(workdir / f"{label}-{name}.json"),
                 # Screen ids unique to this run: a run is not the previous one's reload.
                 *(["--heartbeat", "--id-prefix", f"{name}-{uuid.uuid4().hex[:8]}"]
                   if getattr(args, "heartbeat", False) else [])],
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
        # A node of several processes (`plenary run --processes N`): each on its own too.
        each = [pid for pids in node_pids if len(pids) > 1 for pid in pids]
        pcpu0 = [cpu_seconds([pid]) for pid in each]
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
        pcpu1 = [cpu_seconds([pid]) for pid in each]
        gcpu1 = [cpu_seconds(pids) for pids in gen_pids]
        rcpu1 = cpu_seconds([redis_pid]) if redis_pid else 0.0
        w1 = time.monotonic()
        mine = [p for q in STARTED for p in tree(q.popen.pid)] + [os.getpid()]
        busy1, mcpu1 = machine_busy()[0], cpu_seconds(mine)
        other_pct = 100 * ((busy1 - busy0) - (mcpu1 - mcpu0)) / (w1 - w0)
        rss_peak = [rss_bytes(pids) for pids in node_pids]
        each_rss = [rss_bytes([pid]) for pid in each]
        each_sockets = [open_sockets(pid) for pid in each]
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
        fleet = fleet_counts(target)  # while the screens are still connected
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
        # --heartbeat: what the screens sent (hello, shown) and what the fleet lists.
        "heartbeat": bool(getattr(args, "heartbeat", False)),
        "heartbeat_sent": heartbeat_sent([d for _, d in dumps]),
        "fleet": fleet,
        # The load generators' own event-loop stalls over 50 ms: [second of the run, ms].
        "loadgen_stalls": sorted(
            [round((t - chair_log[0]["t_send"]) / 1000, 1), ms]
            for _, d in dumps for t, ms in d.get("stalls", [])) if chair_log else [],
    }
    if each:
        # The supervisor first, then its web processes; "sockets": about the screens each
        # process holds (the kernel gives a new connection to whichever accepts first).
        result["processes"] = [
            {"pid": pid, "cpu_pct": round(100 * (c1 - c0) / span, 1),
             "rss_mb": round(rss / 2**20, 1), "sockets": socks}
            for pid, c0, c1, rss, socks in zip(each, pcpu0, pcpu1, each_rss, each_sockets,
                                              strict=True)]
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


def heartbeat_sent(dumps: list[dict[str, Any]]) -> dict[str, int] | None:
    """The load generators' hello and shown messages, summed (None: no heartbeat)."""
    sent = [d["heartbeat"] for d in dumps if d.get("heartbeat")]
    if not sent:
        return None
    return {key: sum(x[key] for x in sent) for key in sent[0]}


def fleet_counts(target: Target) -> dict[str, Any] | None:
    """Ours: the pages `GET /api/screens` lists (every node's), by kind and status."""
    token = target.extra.get("admin_token")
    if not token:
        return None
    status, listing, _ = http_json(target.port, "GET", "/api/screens", token=token)
    if status != 200 or not isinstance(listing, list):
        return {"error": status}
    by_kind: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for page in listing:
        by_kind[str(page.get("kind"))] = by_kind.get(str(page.get("kind")), 0) + 1
        by_status[str(page.get("status"))] = by_status.get(str(page.get("status")), 0) + 1
    return {"listed": len(listing), "by_kind": by_kind, "by_status": by_status}


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
