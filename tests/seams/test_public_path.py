"""A server whose library seam is broken (or turned off) says so once, at start, and its
screens still get every state, through python-socketio's public emit."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import SECRET
from tests.integration.test_fanout import RawScreen, open_plenary, timeless
from tests.seams.breaks import SERVER_BREAKS, server_argv
from tests.support import LiveServer, free_port

pytestmark = pytest.mark.slow


def server(redis_url: str, prefix: str, tmp_path, break_name: str | None, **env: str
           ) -> LiveServer:
    port = free_port()
    live = LiveServer(port, tmp_path / "node", {
        "REDIS_URL": redis_url, "PLENARY_KEY_PREFIX": prefix, "SECRET_KEY": SECRET, **env})
    if break_name:
        live.argv = server_argv(break_name, port)
    return live


def every_state_reaches_every_screen(live: LiveServer) -> dict:
    room, codes, chair = open_plenary(live)
    as_screen = {"Authorization": f"Bearer {live.token('screen', room)}"}
    screens = [RawScreen(live, room) for _ in range(4)]
    try:
        sent = []
        for code in codes[:4]:
            for body in ({"type": "speaker.add", "room": room, "delegation": code},
                         {"type": "speaker.next", "room": room}):
                answer = live.command(chair, body)
                assert answer.status_code == 200, answer.text
                version = answer.json()["version"]
                sent.append(version)
                for screen in screens:
                    screen.read_until(version)  # each state, one command at a time
        final = requests.get(f"{live.url}/api/rooms/{room}", headers=as_screen, timeout=5).json()
        for screen in screens:
            assert [s["version"] for s in screen.states[1:]] == sent
            assert timeless(screen.states[-1]) == timeless(final)
    finally:
        for screen in screens:
            screen.ws.close()
    admin = {"Authorization": f"Bearer {live.token('admin')}"}
    frames: dict = requests.get(f"{live.url}/api/node", headers=admin, timeout=5).json()["frames"]
    return frames


@pytest.mark.parametrize("break_name", SERVER_BREAKS)
def test_screens_get_every_state_when_a_seam_is_broken(redis_url, prefix, tmp_path, break_name):
    live = server(redis_url, prefix, tmp_path, break_name)
    live.start()
    try:
        frames = every_state_reaches_every_screen(live)
    finally:
        live.stop()
    assert frames["direct"] == 0 and frames["queued"] == 0 and frames["public"] > 0, frames
    log = live.log_path.read_text()
    assert log.count("library seam 'fanout' unusable") == 1, log[-2000:]


def test_screens_get_every_state_with_the_seam_turned_off(redis_url, prefix, tmp_path):
    live = server(redis_url, prefix, tmp_path, None, PLENARY_DISABLE_SEAMS="fanout")
    live.start()
    try:
        frames = every_state_reaches_every_screen(live)
    finally:
        live.stop()
    assert frames["direct"] == 0 and frames["public"] > 0, frames
    assert live.log_path.read_text().count("disabled by PLENARY_DISABLE_SEAMS") == 1


def test_screens_get_every_state_through_the_seam(redis_url, prefix, tmp_path):
    live = server(redis_url, prefix, tmp_path, None)
    live.start()
    try:
        frames = every_state_reaches_every_screen(live)
    finally:
        live.stop()
    assert frames["direct"] > 0 and frames["public"] == 0, frames
    assert "library seam" not in live.log_path.read_text()


@pytest.mark.parametrize("off", ["ping,writer", "fanout,ping,writer"])
def test_screens_get_every_state_with_engineio_own_pings_and_writer(
        redis_url, prefix, tmp_path, off):
    live = server(redis_url, prefix, tmp_path, None, PLENARY_DISABLE_SEAMS=off)
    live.start()
    try:
        frames = every_state_reaches_every_screen(live)
    finally:
        live.stop()
    if "fanout" in off:
        assert frames["direct"] == 0 and frames["public"] > 0, frames
    else:
        assert frames["direct"] > 0 and frames["public"] == 0, frames
    log = live.log_path.read_text()
    assert log.count("disabled by PLENARY_DISABLE_SEAMS") == len(off.split(",")), log[-2000:]
