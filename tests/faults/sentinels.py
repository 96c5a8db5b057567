"""A replicated Redis of the test's own: one primary, replicas and three Sentinels on
loopback ports, with short Sentinel timings so a failover takes a few seconds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from tests.faults.harness import redis_binary
from tests.support import Child, free_port

SERVICE = "plenary"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


def _wait_ping(port: int, timeout: float) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"server on {port} did not start")
    finally:
        client.close()


class DataNode(Child):
    """A primary or replica: append-only file, as the deploy docs recommend for a primary."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, replicaof: int | None = None, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"  # written, so Sentinel's REPLICAOF can rewrite it
        lines = [
            f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}", "logfile redis.log",
            "appendonly yes", "appendfsync everysec", 'save ""',
            # a replica that (re)joins is fed at once, not after the default 5 s
            "repl-diskless-sync yes", "repl-diskless-sync-delay 0",
            # what docs/reliability.md recommends: no write without a replica not far behind
            "min-replicas-to-write 1", "min-replicas-max-lag 10",
        ]
        if replicaof is not None:
            lines.append(f"replicaof 127.0.0.1 {replicaof}")
        conf.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [redis_binary(), str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ping(self.port, timeout)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def role(self) -> str:
        with self.client() as c:
            return str(c.info("replication")["role"])


class SentinelNode(Child):
    """A Sentinel watching the primary (quorum 2 of 3)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, primary: int, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "sentinel.conf"
        conf.write_text("\n".join([
            f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}", "logfile sentinel.log",
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 2",
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {SERVICE} 1",
        ]) + "\n")
        self.process = subprocess.Popen(
            [redis_binary(), str(conf), "--sentinel"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ping(self.port, timeout)


class ReplicaSet:
    """One primary, `replicas` replicas, three Sentinels; `url` is the service's REDIS_URL."""

    def __init__(self, root: Path, replicas: int = 1) -> None:
        self.primary = DataNode(root / "primary")
        self.replicas = [DataNode(root / f"replica{i}") for i in range(replicas)]
        self.sentinels = [SentinelNode(root / f"sentinel{i}") for i in range(3)]
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        self.url = f"redis+sentinel://{hosts}/{SERVICE}/0"

    @property
    def nodes(self) -> list[DataNode]:
        return [self.primary, *self.replicas]

    def start(self, timeout: float = 20.0) -> None:
        self.primary.start()
        for replica in self.replicas:
            replica.start(replicaof=self.primary.port)
        for sentinel in self.sentinels:
            sentinel.start(self.primary.port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # replicas online and known to every Sentinel
            with self.primary.client() as c:
                online = sum(1 for k, v in c.info("replication").items()
                             if k.startswith("slave") and isinstance(v, dict)
                             and v.get("state") == "online")
            known = [len(self.sentinel_client(s).sentinel_slaves(SERVICE))
                     for s in self.sentinels]
            if online == len(self.replicas) and min(known) == len(self.replicas):
                # and each answers the primary's WAIT (a replica just online may not yet,
                # on a busy machine: the tests' first command would wait in vain)
                with self.primary.client() as c:
                    if c.execute_command("WAIT", len(self.replicas), 2000) >= len(
                            self.replicas):
                        return
            time.sleep(0.1)
        raise RuntimeError("replicas did not come online")

    def sentinel_client(self, sentinel: SentinelNode) -> redis.Redis:
        return redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels' majority names it (None if they disagree)."""
        named = []
        for sentinel in self.sentinels:
            try:
                with self.sentinel_client(sentinel) as c:
                    named.append(int(c.sentinel_get_master_addr_by_name(SERVICE)[1]))
            except (redis.RedisError, TypeError):
                continue
        best = max(set(named), key=named.count, default=None)
        return best if best is not None and named.count(best) >= 2 else None

    def node_on(self, port: int) -> DataNode:
        return next(n for n in self.nodes if n.port == port)

    def stop(self) -> None:
        for child in [*self.sentinels, *self.nodes]:
            child.kill()
