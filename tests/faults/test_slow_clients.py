"""Slow clients against a real `plenary run`: request heads sent a byte at a time are cut
off within the header timeout, and the service keeps answering meanwhile, even under an
open-file limit smaller than the number of attackers."""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time
from pathlib import Path

import requests

from tests.conftest import SECRET
from tests.support import LiveServer, free_port

ATTACKERS = 1500
HEADER_TIMEOUT_S = 4.0
FD_LIMIT = 1024


def _low_fd_limit() -> None:
    # soft and hard: `plenary run` raises its soft limit to the hard one at start
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _raise_own_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))


def test_slow_request_heads_are_closed_in_time_and_healthz_answers_throughout(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    _raise_own_limit(ATTACKERS + 256)
    server = LiveServer(free_port(), tmp_path / "node", {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET,
        "PLENARY_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S)})
    server.start(preexec_fn=_low_fd_limit)
    health: list[tuple[float, int | str]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                code: int | str = requests.get(f"{server.url}/healthz", timeout=3).status_code
            except requests.RequestException as exc:
                code = type(exc).__name__
            health.append((time.monotonic() - started, code))
            time.sleep(0.3)

    watcher = threading.Thread(target=probe, daemon=True)
    sockets: dict[socket.socket, float] = {}
    closed_after: list[float] = []
    selector = selectors.DefaultSelector()
    try:
        watcher.start()
        for _ in range(ATTACKERS):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            s.setblocking(False)
            sockets[s] = time.monotonic()
            selector.register(s, selectors.EVENT_READ)
        # one byte every 2 s from each, until the server closes it
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 15
        next_drip = time.monotonic() + 2
        while sockets and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                s = key.fileobj  # type: ignore[assignment]
                try:
                    data = s.recv(4096)  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed_after.append(time.monotonic() - sockets.pop(s))  # type: ignore[arg-type]
                    selector.unregister(s)
                    s.close()  # type: ignore[union-attr]
            if time.monotonic() >= next_drip:
                next_drip += 2
                for s in list(sockets):
                    try:
                        s.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed_after.append(time.monotonic() - sockets.pop(s))
                        selector.unregister(s)
                        s.close()
        stop.set()
        watcher.join(timeout=10)
        assert not sockets, f"{len(sockets)} of {ATTACKERS} slow connections still open"
        # each ends by the header deadline counted from its accept (measured here from the
        # connect: + the wait in the kernel's backlog while 1,500 arrive on a loaded
        # machine); those evicted at the cap end sooner
        assert max(closed_after) < HEADER_TIMEOUT_S + 5, max(closed_after)
        failures = [h for h in health if h[1] != 200]
        assert health and not failures, f"/healthz failed {len(failures)} of {len(health)}"
        assert max(h[0] for h in health) < 2.0
        # the service is whole afterwards, and said once that the cap was reached
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        log = server.log_path.read_text()
        assert "Too many open files" not in log
        assert log.count("connection cap reached") >= 1
    finally:
        stop.set()
        for s in sockets:
            s.close()
        server.stop()
