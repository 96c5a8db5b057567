"""The timed pings' seam: engine.io's ping each interval, from a timer rather than a
greenlet per client; the library's own pings when its code is not what this replaces."""

from __future__ import annotations

import logging

import engineio.socket
import gevent
import pytest
from engineio import packet

from dashboard.live import seams
from dashboard.web.extensions import socketio


def ping_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == seams.__name__ and r.levelno == logging.WARNING
            and "'ping'" in r.getMessage()]


def queued(sock: engineio.socket.Socket) -> list[int]:
    out = []
    while not sock.queue.empty():
        out.append(sock.queue.get(block=False).packet_type)
    return out


def test_the_pings_seam_holds_and_pings_after_the_interval(app, caplog, monkeypatch):
    assert seams.timed_pings(socketio.server)
    assert ping_warnings(caplog) == []
    assert engineio.socket.Socket.schedule_ping is seams._schedule_ping
    monkeypatch.setattr(socketio.server.eio, "ping_interval", 0.3)
    sock = engineio.socket.Socket(socketio.server.eio, "test-ping")
    sock.schedule_ping()
    assert sock.last_ping is None
    sock.schedule_ping()  # the first ping is not answered yet: nothing more scheduled
    gevent.sleep(0.05)
    assert queued(sock) == []  # not due yet
    gevent.sleep(0.5)
    assert queued(sock) == [packet.PING]  # due: one ping, as engine.io's own
    assert sock.last_ping is not None
    sock.schedule_ping()  # answered (a pong): the next one comes an interval later
    sock.closed = True
    gevent.sleep(0.5)
    assert queued(sock) == []  # a closed socket is not pinged


def test_a_changed_library_ping_keeps_the_librarys_own(app, caplog, monkeypatch):
    def send_ping(self):  # a release that pings otherwise than sleep-then-send
        self.send(packet.Packet(packet.PING))

    monkeypatch.setattr(engineio.socket.Socket, "_send_ping", send_ping)
    try:
        assert not seams.timed_pings(socketio.server)
        assert engineio.socket.Socket.schedule_ping is seams._LIBRARY_SCHEDULE_PING
    finally:
        monkeypatch.undo()
        assert seams.timed_pings(socketio.server)
    (warning,) = ping_warnings(caplog)
    assert "unusable" in warning and "greenlet of its own" in warning


def test_disabled_pings_seam_keeps_the_librarys_own(app, caplog):
    try:
        assert not seams.timed_pings(socketio.server, disabled={"ping"})
        assert engineio.socket.Socket.schedule_ping is seams._LIBRARY_SCHEDULE_PING
    finally:
        assert seams.timed_pings(socketio.server)
    (warning,) = ping_warnings(caplog)
    assert "PLENARY_DISABLE_SEAMS" in warning
