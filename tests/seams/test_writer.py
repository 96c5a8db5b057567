"""The on-demand writer's seam: each websocket's queued packets written in order by one
greenlet at a time, started when something is queued; the library's own writer when its
handler is not the one this replaces."""

from __future__ import annotations

import logging

import engineio.socket
import gevent
import gevent.event
import pytest
from engineio import packet

from dashboard.live import seams
from dashboard.web.extensions import socketio


def writer_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == seams.__name__ and r.levelno == logging.WARNING
            and "'writer'" in r.getMessage()]


class SlowSocket:
    """A websocket whose every write takes a moment (a client reading slowly)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closes = 0
        self.writing = 0
        self.most_writing = 0
        self.closed_by_client = gevent.event.Event()

    def wait(self):
        self.closed_by_client.wait()
        return None

    def send(self, data: str) -> None:
        self.writing += 1
        self.most_writing = max(self.most_writing, self.writing)
        gevent.sleep(0.005)
        self.sent.append(data)
        self.writing -= 1

    def close(self) -> None:
        self.closes += 1


def message(text: str) -> packet.Packet:
    return packet.Packet(packet.MESSAGE, text)


def test_queued_packets_are_written_in_order_by_one_writer_then_closed(app, caplog):
    assert seams.on_demand_writer(socketio.server)
    assert writer_warnings(caplog) == []
    assert engineio.socket.Socket._websocket_handler is seams._websocket_handler
    sock = engineio.socket.Socket(socketio.server.eio, "test-writer")
    sock.closing = True  # its close() triggers no disconnect event in this test
    ws = SlowSocket()
    handler = gevent.spawn(sock._websocket_handler, ws)
    gevent.sleep(0.01)
    assert isinstance(sock.queue, seams._Writer) and sock.queue.task is None  # idle: none
    for k in range(5):
        sock.queue.put(message(str(k)))
    gevent.sleep(0.001)
    sock.queue.put(message("5"))  # while the writer is busy: it takes this one too
    gevent.sleep(0.1)
    assert ws.sent == ["40", "41", "42", "43", "44", "45"]
    assert ws.most_writing == 1
    assert sock.queue.task is None  # done: no greenlet waits for the next packet
    sock.queue.put(message("6"))
    ws.closed_by_client.set()  # the client goes: what is queued is written, then closed
    handler.join(2)
    assert ws.sent[-1] == "46"
    assert ws.closes == 1
    assert sock.queue.task is None


@pytest.mark.parametrize("first, second", [("a", "b"), ('31["ok"]', '32["ok"]')],
                         ids=["written by the writer", "an answer written at once"])
def test_a_failed_write_closes_the_connection_and_ends_the_writes(app, first, second):
    assert seams.on_demand_writer(socketio.server)
    sock = engineio.socket.Socket(socketio.server.eio, "test-writer-fails")
    sock.closing = True
    ws = SlowSocket()

    def broken(data: str) -> None:
        raise OSError("connection reset")

    ws.send = broken  # type: ignore[method-assign]
    handler = gevent.spawn(sock._websocket_handler, ws)
    gevent.sleep(0.01)
    sock.queue.put(message(first))  # its maker is not told, as engine.io's writer does
    gevent.sleep(0.01)
    assert ws.closes == 1 and sock.queue.closed
    sock.queue.put(message(second))  # no writer starts again
    gevent.sleep(0.01)
    assert sock.queue.task is None
    ws.closed_by_client.set()
    handler.join(2)
    assert ws.closes == 1


def test_an_answer_written_at_once_then_gives_way(app, monkeypatch):
    """A Socket.IO ACK put when nothing waits is written by the greenlet that put it,
    which then gives up its core once (the client reads it before the broadcast)."""
    assert seams.on_demand_writer(socketio.server)
    sock = engineio.socket.Socket(socketio.server.eio, "test-writer-answer")
    sock.closing = True
    ws = SlowSocket()
    gave_way: list[list[str]] = []
    monkeypatch.setattr(seams.os, "sched_yield", lambda: gave_way.append(list(ws.sent)))
    handler = gevent.spawn(sock._websocket_handler, ws)
    gevent.sleep(0.01)
    sock.queue.put(message('31["ok"]'))  # written before put returns
    assert ws.sent == ['431["ok"]'] and gave_way == [['431["ok"]']]
    sock.queue.put(message("a"))  # not an answer: the writer's, no giving way
    gevent.sleep(0.05)
    assert ws.sent[-1] == "4a" and len(gave_way) == 1
    ws.closed_by_client.set()
    handler.join(2)


def test_another_library_handler_keeps_the_librarys_own_writer(app, caplog, monkeypatch):
    def handler(self, ws):  # another release's handler
        return []

    monkeypatch.setattr(seams, "_LIBRARY_WEBSOCKET_HANDLER", handler)
    try:
        assert not seams.on_demand_writer(socketio.server)
        assert engineio.socket.Socket._websocket_handler is handler
    finally:
        monkeypatch.undo()
        assert seams.on_demand_writer(socketio.server)
    (warning,) = writer_warnings(caplog)
    assert "unusable" in warning and "writer greenlet per websocket" in warning


def test_disabled_writer_seam_keeps_the_librarys_own(app, caplog):
    try:
        assert not seams.on_demand_writer(socketio.server, disabled={"writer"})
        assert engineio.socket.Socket._websocket_handler is seams._LIBRARY_WEBSOCKET_HANDLER
    finally:
        assert seams.on_demand_writer(socketio.server)
    (warning,) = writer_warnings(caplog)
    assert "PLENARY_DISABLE_SEAMS" in warning


def test_an_answer_is_written_by_the_greenlet_that_made_it_and_never_overtakes(app):
    """A Socket.IO ACK ("3...") to an idle socket leaves before its maker yields (no
    writer to start and schedule); queued behind another packet, it waits its turn."""
    assert seams.on_demand_writer(socketio.server)
    sock = engineio.socket.Socket(socketio.server.eio, "test-writer-answer")
    sock.closing = True
    ws = SlowSocket()
    ws.send = lambda data: ws.sent.append(data)  # type: ignore[method-assign]
    handler = gevent.spawn(sock._websocket_handler, ws)
    gevent.sleep(0.01)
    sock.queue.put(message('31["ok"]'))
    assert ws.sent == ['431["ok"]']  # written already: nothing has yielded since
    assert sock.queue.task is None
    sock.queue.put(message('2["state"]'))  # an event goes through the writer
    sock.queue.put(message('32["ok"]'))  # an answer behind it waits in the queue
    assert ws.sent == ['431["ok"]']
    gevent.sleep(0.01)
    assert ws.sent == ['431["ok"]', '42["state"]', '432["ok"]']
    assert sock.queue.task is None
    ws.closed_by_client.set()
    handler.join(2)
    assert ws.closes == 1
