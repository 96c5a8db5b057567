"""A Sentinel URL that cannot lead to a primary is said once, clearly, by every command:
the Sentinels all down, a service no Sentinel monitors. One address that is not a
Sentinel at all (another server on that port) does not stop the others being asked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dashboard.store import connection
from tests.conftest import SECRET
from tests.faults.sentinels import SERVICE, DataNode, SentinelNode
from tests.support import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelNode]:
    """One primary watched by one Sentinel (enough to name it)."""
    root = tmp_path_factory.mktemp("sentinel")
    primary = DataNode(root / "primary")
    primary.start()
    watcher = SentinelNode(root / "sentinel")
    watcher.start(primary.port)
    deadline = time.monotonic() + 10
    with redis.Redis(port=watcher.port, socket_timeout=1, decode_responses=True) as c:
        while c.sentinel_get_master_addr_by_name(SERVICE) is None:
            assert time.monotonic() < deadline, "the Sentinel did not learn its primary"
            time.sleep(0.05)
    yield watcher
    watcher.kill()
    primary.kill()


@pytest.fixture
def not_redis() -> Iterator[int]:
    """A port where something that is not Redis answers (an HTTP server, say)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def answer() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def plenary(url: str, data_dir: Path, *args: str, timeout: float = 30) -> tuple[
        subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "REDIS_URL": url, "SECRET_KEY": SECRET,
           "PLENARY_DATA_DIR": str(data_dir), "PLENARY_KEY_PREFIX": "sentinel-errors"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - started


def test_sentinels_all_down_give_one_clear_error_and_no_traceback(tmp_path: Path):
    dead = [free_port(), free_port()]
    url = f"redis+sentinel://127.0.0.1:{dead[0]},127.0.0.1:{dead[1]}/{SERVICE}/0"
    for args in (["run", "--port", str(free_port())], ["export"], ["revoke", "chair", "*"]):
        done, took = plenary(url, tmp_path, *args)
        assert done.returncode != 0, (args, done.stdout[-500:])
        assert "Traceback" not in done.stderr, (args, done.stderr[-2000:])
        said = done.stderr.strip().splitlines()[-1]
        # what: no Sentinel answered, at which addresses; how to fix: the URL's hosts
        assert "Sentinel" in said and f"127.0.0.1:{dead[0]}" in said, (args, said)
        assert "REDIS_URL" in said, (args, said)
        assert len(said) < 600, said  # a sentence, not a client's repr
        assert took < 20, (args, took)


def test_a_service_no_sentinel_monitors_is_named(sentinel: SentinelNode, tmp_path: Path):
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/not-{SERVICE}/0"
    for args in (["run", "--port", str(free_port())], ["export"]):
        done, _ = plenary(url, tmp_path, *args)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        said = done.stderr.strip().splitlines()[-1]
        assert f"not-{SERVICE}" in said and "monitor" in said, said


def test_an_address_that_is_not_a_sentinel_does_not_hide_the_others(
        sentinel: SentinelNode, not_redis: int):
    url = f"redis+sentinel://127.0.0.1:{not_redis},127.0.0.1:{sentinel.port}/{SERVICE}/0"
    client = connection.client(url, timeout=2)
    try:
        assert client.ping()
    finally:
        client.close()
    # and alone, it is named for what it is
    alone = connection.client(f"redis+sentinel://127.0.0.1:{not_redis}/{SERVICE}/0",
                              timeout=2)
    with pytest.raises(redis.ConnectionError) as refused:
        alone.ping()
    assert f"127.0.0.1:{not_redis}" in str(refused.value)
    assert len(str(refused.value)) < 600


def test_callers_past_the_pool_wait_for_a_connection_to_the_primary(sentinel: SentinelNode):
    """Through the Sentinels as on a plain URL, a burst of callers past the pool's bound
    queues for its connections (each held 0.3 s here): none is refused, and no more than
    the bound are open at once."""
    primary = connection.client(f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}/0",
                                timeout=5)
    errors: list[Exception] = []

    def hold() -> None:
        try:
            primary.xread({"pool-burst:nothing": "$"}, block=300)
        except redis.RedisError as exc:
            errors.append(exc)

    callers = [threading.Thread(target=hold) for _ in range(3 * connection.POOL_SIZE)]
    began = time.monotonic()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)
    assert errors == []
    assert time.monotonic() - began >= 3 * 0.3 - 0.05  # three turns of the pool
    primary.close()
