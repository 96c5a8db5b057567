"""The seams' probe: it passes on the pinned libraries, and fails, with one warning,
on each way a release could break an internal the fan-out uses."""

from __future__ import annotations

import logging

import pytest

from dashboard.live import seams
from dashboard.web.extensions import socketio
from tests.seams.breaks import BREAKS


def seam_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == seams.__name__ and r.levelno == logging.WARNING]


def test_the_seams_hold_on_the_installed_libraries(app, caplog):
    assert seams.probe(socketio.server)
    assert seam_warnings(caplog) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_seam_is_found_and_said_once(app, caplog, name):
    mend = BREAKS[name]()
    try:
        assert not seams.probe(socketio.server)
    finally:
        mend()
    (warning,) = seam_warnings(caplog)
    assert "fanout" in warning and "python-socketio's emit" in warning
    assert seams.probe(socketio.server)  # mended: it holds again


def test_a_disabled_seam_is_not_probed_and_said_once(app, caplog):
    assert not seams.probe(socketio.server, disabled={"fanout"})
    (warning,) = seam_warnings(caplog)
    assert "PLENARY_DISABLE_SEAMS" in warning


def test_an_app_with_a_broken_seam_broadcasts_through_the_public_path(settings, caplog):
    from dashboard import create_app
    from dashboard.web.services import services

    mend = BREAKS["queue_without_qsize"]()
    try:
        app = create_app(settings)
    finally:
        mend()
    assert services(app).relay.fanout.direct is False
    assert len(seam_warnings(caplog)) == 1
