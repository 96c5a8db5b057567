"""Fixtures: a real Redis (REDIS_URL, else an embedded Valkey), apps, clients, live servers."""

from __future__ import annotations

import compileall
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import CHROMIUM, INSTALL_HINT, ROOT, LiveServer, delete_keys, free_port

SECRET = "test-secret-key-not-for-production"

# Suites that assert wall-clock bounds (a failover within seconds, screens back within
# 5 s, states in time under a flood) or load the cores (swarms, several servers, fifty
# processes at once): under pytest-xdist they run one after another on the same worker,
# so that two of them never contend for the cores. Every other file goes whole to a
# worker, as `--dist loadfile` sends it.
TIMED = ("tests/faults/", "tests/security/test_limits.py", "tests/bench/test_paired.py",
         "tests/integration/test_peer_hold.py",
         "tests/security/test_data_folder.py::test_fifty_simultaneous_first_starts")


def pytest_sessionstart(session: pytest.Session) -> None:
    # With PYTHONDONTWRITEBYTECODE set, each `plenary` process the tests start would
    # compile the project's modules from their source again; written once here, as
    # installing the package writes them, they are only read.
    if sys.dont_write_bytecode and "PYTEST_XDIST_WORKER" not in os.environ:
        for package in ("dashboard", "workers"):
            compileall.compile_dir(ROOT / package, quiet=1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    # Imported here: pytest-xdist is optional (`-p no:xdist` runs without it).
    from xdist.scheduler import LoadFileScheduling

    class TimedTogether(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "timed" if nodeid.startswith(TIMED) else str(super()._split_scope(nodeid))

    return TimedTogether(config, log)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis the tests use: REDIS_URL if set, else an embedded Valkey of their own."""
    url = os.environ.get("REDIS_URL")
    if url:
        redis.Redis.from_url(url).ping()
        yield url
        return
    from dashboard.serve.embedded import EmbeddedValkey

    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    url = server.start()
    # It stands in for the machine's shared Redis, which keeps nothing on its disk: no
    # fsync of every write, stalled by what the browser suites write meanwhile, in the
    # timings of the suites that share it. The tests of durability (a kill, a restart,
    # a full disk) start servers of their own.
    with redis.Redis.from_url(url) as client:
        client.config_set("appendonly", "no")
    yield url
    server.stop()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (and only they)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    delete_keys(redis_url, f"{name}:*")


@pytest.fixture
def settings(redis_url: str, prefix: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from dashboard.settings import load_settings

    return load_settings(
        redis_url=redis_url, key_prefix=prefix, data_dir=tmp_path, secret_key=SECRET,
        run_workers=False, command_rate=10_000,
    )


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    from dashboard import create_app

    return create_app(settings)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def token(app):  # type: ignore[no-untyped-def]
    """token(role, room="*") -> a signed access token for this app."""
    from dashboard.web.access import make_token

    def make(role: str, room: str = "*") -> str:
        return make_token(role, room, SECRET, deployment=app.config["PLENARY_DEPLOYMENT"])

    return make


@pytest.fixture
def programme_path() -> Path | None:
    """The programme file the live server loads; None: the bundled reference. A test
    module overrides this fixture to serve another (tests.support.shifted_programme)."""
    return None


@pytest.fixture
def live_server(redis_url: str, prefix: str, tmp_path: Path,
                programme_path: Path | None) -> Iterator[LiveServer]:
    """`plenary run` in a subprocess on a free port, against the test's Redis and prefix."""
    env = {"REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET}
    if programme_path is not None:
        env["PLENARY_PROGRAMME"] = str(programme_path)
    server = LiveServer(port=free_port(), data_dir=tmp_path / "node", env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run (skipped, saying how to install, if absent)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(INSTALL_HINT)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
