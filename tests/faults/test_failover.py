"""The primary SIGKILLed in the middle of a plenary: Sentinels elect its replica, both web
nodes and their screens follow by themselves, and with PLENARY_MIN_REPLICAS=1 no
acknowledged command is lost; the old primary, restarted, rejoins as a replica."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.store.eventlog import id_key
from tests.faults.harness import (
    RetryingChair,
    Swarm,
    assert_acked_in_stream,
    instant_free,
    node,
    programme_of,
    rooms_with_sittings,
    stream_entries,
)
from tests.faults.sentinels import ReplicaSet

pytestmark = pytest.mark.slow

COMMANDS = 300
SCREENS = 20
KILL_AT = COMMANDS // 2
STALL_S = 0.5  # the replica frozen before the kill: longer than the WAIT bound below


class Chair(RetryingChair):
    """A RetryingChair that notes when each refusal (503 or no answer) came."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused_at: list[float] = []
        self.acked_at: list[float] = []

    def send(self, body: dict[str, Any], deadline_s: float = 60.0,
             command_id: str | None = None) -> requests.Response:
        retries = self.retries
        started = time.monotonic()
        r = super().send(body, deadline_s, command_id)
        if self.retries > retries:
            self.refused_at += [started] * (self.retries - retries)
        if r.status_code == 200:
            self.acked_at.append(time.monotonic())
        return r


def _body(n: int, codes: list[str]) -> dict[str, Any]:
    """The n-th command of the plenary: add a speaker, give the next one the floor."""
    if n % 2 == 0:
        return {"type": "speaker.add", "delegation": codes[n // 2 % len(codes)]}
    return {"type": "speaker.next"}


def _room_view(server: Any, token: str, room: str) -> dict[str, Any]:
    view = requests.get(f"{server.url}/api/rooms/{room}", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).json()
    return view  # type: ignore[no-any-return]


def _shown(state: dict[str, Any]) -> dict[str, Any]:
    """What a screen shows of a room state (the clock's readings aside)."""
    return instant_free(state)


@pytest.mark.timeout(150)
def test_failover_loses_no_acknowledged_command(tmp_path: Path, record_property: Any) -> None:
    nodes = ReplicaSet(tmp_path / "redis")
    nodes.start()
    old, new = nodes.primary, nodes.replicas[0]
    env = {"PLENARY_MIN_REPLICAS": "1", "PLENARY_REPLICA_TIMEOUT_MS": "200"}
    a = node(nodes.url, tmp_path / "a", **env, PLENARY_RUN_WORKERS="true")
    b = node(nodes.url, tmp_path / "b", **env, PLENARY_RUN_WORKERS="false")
    swarm = None
    try:
        a.start()
        b.start()
        programme = programme_of(a)
        meeting = programme["meeting"]["id"]
        room, session = rooms_with_sittings(programme)[0]
        codes = [d["code"] for d in programme["delegations"]]
        chair = Chair([a, b], a.token("chair", room), room, spread=True)
        chair.send({"type": "session.open", "session_id": session})
        swarm = Swarm([a.url, b.url], a.token("screen", room), [room], SCREENS, tmp_path)
        swarm.wait_ready(60)

        failover: dict[str, Any] = {}

        def cut_off_replica() -> None:
            # The replica is cut off for a moment (shorter than the Sentinels'
            # down-after): what the chair sends meanwhile is appended on the primary
            # alone, so refused (WAIT), yet folded by the nodes that tail it; then the
            # primary dies with it. The primary is let write without a replica here
            # (as one without min-replicas-to-write would): WAIT alone must keep every
            # acknowledged command.
            assert new.process is not None
            os.kill(new.process.pid, signal.SIGSTOP)
            with old.client() as c:
                c.config_set("min-replicas-to-write", 0)
                c.client_kill_filter(_type="replica")

        def kill_and_rejoin() -> None:
            assert new.process is not None
            time.sleep(STALL_S)
            old.kill()  # SIGKILL: nothing is flushed, nothing handed over
            os.kill(new.process.pid, signal.SIGCONT)
            failover["killed_at"] = time.monotonic()
            deadline = time.monotonic() + 30
            while nodes.primary_port() != new.port:
                assert time.monotonic() < deadline, "the Sentinels elected no new primary"
                time.sleep(0.05)
            failover["promoted_at"] = time.monotonic()
            with new.client() as c:  # what the new primary serves, before the rejoin
                failover["at_promotion"] = stream_entries(c, "plenary", meeting)
            old.start(replicaof=new.port)  # the old machine back, as a replica
            failover["rejoined_at"] = time.monotonic()
            # the failover ends with the chair's first acknowledgement; from then on
            # every screen must show it within 5 s
            while len(chair.acked_at) == acked_before or chair.acked_at[-1] < killed_at():
                time.sleep(0.01)
            first = chair.acked[-1][1]
            failover["screens_after_s"] = swarm.wait_versions({room: first}, timeout=5)

        def killed_at() -> float:
            return float(failover.get("killed_at", float("inf")))

        killer = threading.Thread(target=kill_and_rejoin)
        acked_before = 0
        for n in range(COMMANDS):
            if n == KILL_AT:
                acked_before = len(chair.acked_at)
                cut_off_replica()  # between two commands: the next one is the primary's alone
                killer.start()
            chair.send(_body(n, codes), deadline_s=60)
        killer.join(30)
        assert "screens_after_s" in failover, "the old primary did not rejoin, or screens lag"

        # No command refused by the rules: none was judged on an event the failover lost.
        assert not chair.refused, chair.refused
        # Refusals: all during the failover, each answered (503 or no answer), then retried.
        killed = failover["killed_at"]
        assert chair.refused_at, "no command met the failover"
        refused_from = min(chair.refused_at)
        back_at = next(t for t in chair.acked_at if t > refused_from)
        refused_s = back_at - refused_from
        assert refused_from >= killed - STALL_S - 0.5  # none before the replica stalled

        # 0 acknowledged commands lost, none twice: every 200 is in the new primary's stream,
        # under its command_id, once.
        with new.client() as c:
            entries = stream_entries(c, "plenary", meeting)
        assert_acked_in_stream(chair.acked, entries)
        cmds = [f["cmd"] for _, f in entries]
        ids_per_cmd: dict[str, int] = {}
        for cmd in cmds:
            ids_per_cmd[cmd] = ids_per_cmd.get(cmd, 0) + 1
        twice = [c for c, _, ans in chair.acked if ids_per_cmd.get(c) != len(ans["events"])]
        assert not twice, f"commands whose events are not in the stream exactly once: {twice}"
        acked_ids = {c for c, _, _ in chair.acked}
        refused_ids = {c for c, _, _ in chair.refused}
        strays = set(ids_per_cmd) - acked_ids - refused_ids
        assert not strays, f"events of commands never sent or answered: {strays}"

        # Every screen at the final state within 5 s after the failover ended.
        final = chair.acked[-1][1]
        current = swarm.wait_versions({room: final}, timeout=5)
        views = [_room_view(s, chair.token, room) for s in (a, b)]
        assert {v["version"] for v in views} == {final}
        expected = _shown(views[0])
        for state in swarm.states():
            assert state is not None and _shown(state) == expected

        # The old primary rejoined as a replica; the rejoin changed nothing in the stream.
        # (On a starved machine the Sentinels may elect it primary again later: then the
        # other one must follow it, with the same stream.)
        deadline = time.monotonic() + 15
        while True:
            primary = old if nodes.primary_port() == old.port else new
            follower = new if primary is old else old
            with follower.client() as c:
                info = c.info("replication")
                mirrored = stream_entries(c, "plenary", meeting)
            if info["role"] == "slave" and info.get("master_link_status") == "up" \
                    and mirrored == entries:
                break
            assert time.monotonic() < deadline, (info, len(mirrored), len(entries))
            time.sleep(0.1)
        if primary is old:
            print("failover: the Sentinels elected the old primary again (a starved machine)")
        assert entries[:len(failover["at_promotion"])] == failover["at_promotion"]
        with primary.client() as c:
            assert stream_entries(c, "plenary", meeting) == entries
        for server in (a, b):
            assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
            assert server.process is not None and server.process.poll() is None
        reloads = sum(s.log_path.read_text().count("no longer holds") for s in (a, b))
        assert reloads >= 1, "no node folded the unconfirmed command, the stall missed"

        figures = {
            "acked": len(chair.acked),
            "lost": 0,
            "duplicates": 0,
            "refused_answers": len(chair.refused_at),
            "refused_for_s": round(refused_s, 2),
            "elected_after_s": round(failover["promoted_at"] - killed, 2),
            "old_primary_back_after_s": round(failover["rejoined_at"] - killed, 2),
            "screens_at_failover_end_s": round(failover["screens_after_s"], 2),
            "screens_at_last_command_s": round(current, 2),
            "slowest_503_s": round(max(chair.unavailable, default=0.0), 2),
            "node_reloads": reloads,
        }
        for key, value in figures.items():
            record_property(key, value)
        print("\nfailover: " + " ".join(f"{k}={v}" for k, v in figures.items()))
        assert id_key(final) > id_key(failover["at_promotion"][-1][0])
    finally:
        if swarm is not None:
            swarm.close()
        a.stop()
        b.stop()
        nodes.stop()
