"""Every use of a library's internals, in one place, probed at start with a public fallback.

The relay's broadcast builds a state's websocket frame once and writes it
straight to each idle screen's socket (dashboard/live/fanout.py). That needs
what no library offers publicly. Written for gevent 26.9.0, gevent-websocket
0.10.1, python-engineio 4.15.1, python-socketio 5.18.1 and Flask-SocketIO
5.7.0 (pinned exactly in pyproject.toml; `scripts/try-latest.sh` runs the
seam tests against the newest releases):

- gevent: a gevent socket's `_sock`, the non-blocking OS socket under it, for
  one `send` that never yields (a would-block is an OSError, not a wait).
- gevent-websocket: `WebSocket.handler` (the handler, whose `.socket` is the
  connection) and `WebSocket.raw_write`, through which every frame the library
  writes passes (messages, pongs, close); it is replaced by a locked write so a
  frame written here is never cut into.
- engine.io: a server socket's `queue` (its packets waiting for the writer
  greenlet: a frame written here must not overtake them) and `closed`;
  the server's `sockets` (engine.io sid -> socket).
- python-socketio: `Server._send_eio_packet(eio_sid, eio_pkt)`, its own
  per-client path for an encoded packet (Flask-SocketIO's test client hooks it
  too), for whatever cannot be written at once; `Server.manager.get_participants`
  and `Server.packet_class` to encode a packet once for all.

`probe()` checks each of them on real objects of the installed libraries at
start. If one is missing or behaves otherwise, the service logs one warning
and broadcasts through python-socketio's public `emit` (slower, correct).

The pings (`timed_pings()`): engine.io pings each client from a greenlet of
its own that sleeps the ping interval (`Socket.schedule_ping` starts
`Socket._send_ping`), so every connection holds one more suspended greenlet,
its stack copied out, for its whole life. Here `schedule_ping` arms a timer
instead, whose greenlet starts only when the ping is due and then does what
`_send_ping` does after its sleep. Probed at start (the library's
`schedule_ping` and `_send_ping` are the ones this replaces, on a real socket);
if not, or with `PLENARY_DISABLE_SEAMS=ping`, engine.io's own pings stay.

The writer (`on_demand_writer()`): engine.io's websocket handler
(`Socket._websocket_handler`) starts a writer greenlet per connection that
waits on the socket's queue for its whole life, though a screen's states are
written straight out (above) and its queue is empty nearly always. Here the
writer is started when a packet is put in the queue and ends when the queue is
empty: the same packets, written in the same order by one greenlet at a time,
the connection closed the same way (None in the queue). An answer to the
client's own event (a Socket.IO ACK, a chair's command's) put when nothing
waits is written at once by the greenlet that made it: a writer started for it
would run after whatever the event woke first; once it is written, the process
gives way (`give_way()`, below). The library's writer
also gave up after the ping interval plus the ping timeout without a packet;
a client that stopped answering pings is closed at that bound by engine.io's
service task anyway (and the reader's socket timeout, dashboard/serve/server.py,
holds for a silent connection). The handler
replaced is recognised by a digest of its source (python-engineio 4.15.1's):
another release keeps the library's own writer (PLENARY_DISABLE_SEAMS=writer
too). A connection upgraded from long-polling keeps the library's handler.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import linecache
import logging
import os
import socket
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import engineio.exceptions
import engineio.socket
import gevent
import gevent.queue
import gevent.socket
from engineio import packet as eio_packet
from gevent.lock import Semaphore
from geventwebsocket.websocket import Header, Stream, WebSocket
from socketio import packet as sio_packet

log = logging.getLogger(__name__)

NAMESPACE = "/"
FANOUT = "fanout"  # the name of the direct-write seam in PLENARY_DISABLE_SEAMS
PING = "ping"  # the name of the timed pings' seam
WRITER = "writer"  # the name of the on-demand writer's seam
SEAMS = frozenset({FANOUT, PING, WRITER})


class SeamBroken(Exception):
    """A library internal is missing or behaves otherwise than this module expects."""


class Pipe:
    """The write side of one websocket: its raw socket and the lock every write takes."""

    __slots__ = ("lock", "raw", "sendall", "write")

    def __init__(self, ws: Any) -> None:
        sock = ws.handler.socket  # the gevent socket
        self.raw = sock._sock  # its non-blocking OS socket
        self.sendall = sock.sendall
        self.write = ws.raw_write
        self.lock = Semaphore()
        ws.raw_write = self.locked_write

    def locked_write(self, data: bytes) -> None:
        """Every other write to this websocket (engine.io's writer, pongs, close)."""
        with self.lock:
            self.write(data)

    def try_send(self, frame: bytes) -> bool:
        """Write `frame` now if nothing else is being written; False if it was not written."""
        if self.lock.locked():
            return False
        try:
            sent = self.raw.send(frame)
        except OSError:  # would block, or the socket is gone: the queue's path decides
            return False
        if sent < len(frame):
            self.lock.acquire()  # free: checked above, and nothing has yielded since
            gevent.spawn(self._finish, memoryview(frame)[sent:])
        return True

    def abort(self) -> None:
        """Shut the connection down at once: a write blocked on a client that does not
        read fails now instead of holding the socket until TCP gives up."""
        with contextlib.suppress(OSError):
            self.raw.shutdown(socket.SHUT_RDWR)

    def _finish(self, rest: memoryview) -> None:
        try:
            self.sendall(rest)
        except OSError:
            pass  # the connection is gone; its reader and writer see it and close
        finally:
            self.lock.release()


def pipe_of(environ: dict[str, Any]) -> Pipe | None:
    """The pipe of a connection upgraded to a gevent-websocket, or None (long-polling)."""
    ws = environ.get("wsgi.websocket")
    if not isinstance(ws, WebSocket):
        return None
    return Pipe(ws)


def framed(pkt: Any) -> tuple[Any, bytes]:
    """A Socket.IO packet as an engine.io message and as its websocket text frame."""
    eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, pkt.encode())
    body = eio_pkt.encode().encode()
    return eio_pkt, Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(body), 0) + body


def event_packet(server: Any, event: str, data: Any) -> Any:
    """A Socket.IO EVENT packet of the default namespace, never scanned for binary parts."""
    # binary=False: the states are JSON; python-socketio would otherwise walk the
    # whole state looking for bytes before every broadcast.
    return server.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[event, data],
                               binary=False)


def recipients(server: Any, to: list[str]) -> Iterator[tuple[str, str, Any]]:
    """(sid, engine.io sid, engine.io socket or None) of every client in the rooms `to`."""
    sockets = server.eio.sockets
    for sid, eio_sid in server.manager.get_participants(NAMESPACE, to):
        yield sid, eio_sid, sockets.get(eio_sid)


def queued_sender(server: Any) -> Any:
    """python-socketio's per-client send of an encoded engine.io packet (through the queue)."""
    return server._send_eio_packet


def queue_length(sock: Any) -> int:
    """How many packets an engine.io socket has waiting for its writer."""
    return int(sock.queue.qsize()) if sock is not None else 0


def idle(sock: Any) -> bool:
    """Whether an engine.io socket is open with nothing waiting in its queue."""
    return sock is not None and not sock.closed and not sock.queue.qsize()


def usable(name: str, probe: Callable[[], None], disabled: frozenset[str] | set[str],
           public_path: str) -> bool:
    """Whether seam `name` may be used: not turned off by PLENARY_DISABLE_SEAMS, and its
    probe passed; if not, one warning saying why and what runs instead (`public_path`)."""
    if name in disabled:
        log.warning("library seam %r disabled by PLENARY_DISABLE_SEAMS: %s", name, public_path)
        return False
    try:
        probe()
    except Exception as exc:  # anything unexpected is a seam that does not hold
        log.warning("library seam %r unusable (%s): %s; see dashboard/live/seams.py",
                    name, exc, public_path)
        return False
    return True


def probe(server: Any, disabled: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the direct write can be used with the installed libraries; if not, one
    warning says which internal failed and that the public path is used."""

    def check() -> None:
        _probe_websocket()
        _probe_engineio(server)
        _probe_socketio(server)

    return usable(FANOUT, check, disabled,
                  "screens get states through python-socketio's emit, correct but slower")


class _Handler:
    """What gevent-websocket's WebSocket reads of its handler: the socket and its reader."""

    def __init__(self, sock: Any) -> None:
        self.socket = sock
        self.rfile = sock.makefile("rb")


def _probe_websocket() -> None:
    """A real WebSocket on a socket pair: a frame sent through its pipe arrives whole, and
    the library's own send goes through the locked write, after it."""
    here, there = gevent.socket.socketpair(socket.AF_UNIX)
    handler = _Handler(here)
    try:
        ws = WebSocket({}, Stream(handler), handler)
        if here._sock.gettimeout() != 0.0:  # a blocking send would stall every greenlet
            raise SeamBroken("gevent socket's _sock is not non-blocking")
        pipe = Pipe(ws)
        frame = Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", 2, 0) + b"42"
        if not pipe.try_send(frame):
            raise SeamBroken("a direct send to an idle socket was not written")
        there.settimeout(2)
        if _read(there, len(frame)) != frame:
            raise SeamBroken("a direct send did not arrive whole")
        # The library's own send must wait for the lock a half-written frame holds.
        pipe.lock.acquire()
        sender = gevent.spawn(ws.send, "43")
        gevent.sleep(0.001)  # the sender runs and waits
        # A write that bypassed the lock is already readable: a socket pair is a Unix
        # socket, whose send puts the bytes straight into the peer's buffer.
        there.settimeout(0.0)
        try:
            early = there.recv(16)
        except BlockingIOError:
            early = b""
        pipe.lock.release()
        sender.join(2)
        if early:
            raise SeamBroken("gevent-websocket writes bypass raw_write")
        there.settimeout(2)
        if _read(there, 4) != Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", 2, 0) + b"43":
            raise SeamBroken("gevent-websocket's send did not go through raw_write")
    finally:
        handler.rfile.close()
        here.close()
        there.close()


def _read(sock: Any, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = sock.recv(size - len(got))
        if not chunk:
            break
        got += chunk
    return got


def _probe_engineio(server: Any) -> None:
    """An engine.io socket of this server has an empty queue to ask and is open."""
    eio = server.eio
    if not isinstance(eio.sockets, dict):
        raise SeamBroken("engine.io server has no sockets dict")
    sock = engineio.socket.Socket(eio, "plenary-probe")
    if sock.queue.qsize() != 0 or sock.closed is not False:
        raise SeamBroken("engine.io socket has no empty queue or no closed flag")
    sock.queue.put(None)
    if sock.queue.qsize() != 1:
        raise SeamBroken("engine.io socket queue does not count what waits")


def _probe_socketio(server: Any) -> None:
    """python-socketio encodes one event packet and lists a room's participants."""
    pkt = event_packet(server, "state", {"probe": 1})
    _, frame = framed(pkt)
    if b'42["state",' not in frame:
        raise SeamBroken(f"unexpected frame {frame[-40:]!r}")
    params = list(inspect.signature(queued_sender(server)).parameters)
    if params != ["eio_sid", "eio_pkt"]:
        raise SeamBroken(f"python-socketio's _send_eio_packet takes {params}")
    params = list(inspect.signature(server.manager.get_participants).parameters)
    if params[:2] != ["namespace", "room"]:
        raise SeamBroken(f"get_participants takes {params}")
    if list(server.manager.get_participants(NAMESPACE, ["plenary-probe"])):
        raise SeamBroken("an empty room has participants")


# --------------------------------------------------------------------------- pings

_LIBRARY_SCHEDULE_PING = engineio.socket.Socket.schedule_ping


def _ping_due(sock: Any) -> None:
    """What engine.io's `_send_ping` does once its sleep is over."""
    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        sock.send(eio_packet.Packet(eio_packet.PING))


def _schedule_ping(sock: Any) -> Any:
    """engine.io's `schedule_ping`, its ping a timer until due rather than a sleeping greenlet
    (the timer returned, or None when a ping is still unanswered)."""
    if not sock.last_ping:  # only once the previous ping was answered, as the library's
        return None
    sock.last_ping = None
    # A bare timer of the event loop (its callback runs in the hub, which must not
    # block: it only starts the greenlet that pings); an active timer is held by the
    # loop. Smaller than a greenlet made now and started later (gevent.spawn_later).
    timer = gevent.get_hub().loop.timer(sock.server.ping_interval)
    timer.start(gevent.spawn, _ping_due, sock)
    return timer


def timed_pings(server: Any, disabled: frozenset[str] | set[str] = frozenset()) -> bool:
    """Ping every client from a timer (see the module's docstring); False, with one warning,
    when the library's pings are not the ones this replaces (they are then left as they are)."""
    engineio.socket.Socket.schedule_ping = _LIBRARY_SCHEDULE_PING
    if not usable(PING, lambda: _probe_pings(server), disabled,
                  "engine.io pings each client from a greenlet of its own (more memory per "
                  "connection)"):
        return False
    engineio.socket.Socket.schedule_ping = _schedule_ping
    return True


def _probe_pings(server: Any) -> None:
    """The library's ping is a background task that sleeps the interval, then pings if the
    socket is open; `last_ping`, `closing`, `closed` and `send` are what it uses."""
    names = set(_LIBRARY_SCHEDULE_PING.__code__.co_names)
    if not {"last_ping", "start_background_task", "_send_ping"} <= names:
        raise SeamBroken(f"engine.io's schedule_ping uses {sorted(names)}")
    send_ping = getattr(engineio.socket.Socket, "_send_ping", None)
    if send_ping is None:
        raise SeamBroken("engine.io socket has no _send_ping")
    names = set(send_ping.__code__.co_names)
    if not {"sleep", "ping_interval", "closing", "closed", "last_ping", "send"} <= names:
        raise SeamBroken(f"engine.io's _send_ping uses {sorted(names)}")
    sock = engineio.socket.Socket(server.eio, "plenary-probe")
    if not (sock.last_ping and sock.closing is False and sock.closed is False):
        raise SeamBroken("a new engine.io socket has no last_ping, closing or closed")
    if not isinstance(server.eio.ping_interval, (int, float)):
        raise SeamBroken("engine.io server has no numeric ping_interval")
    timer = _schedule_ping(sock)
    if timer is None or sock.last_ping is not None:
        raise SeamBroken("a ping was not scheduled as the library's")
    timer.close()
    _ping_due(sock)
    pkt = sock.queue.get(block=False)
    if pkt.packet_type != eio_packet.PING or not sock.last_ping:
        raise SeamBroken("a due ping was not queued as engine.io's PING")


# --------------------------------------------------------------------------- writer

_LIBRARY_WEBSOCKET_HANDLER = engineio.socket.Socket._websocket_handler
# sha256 of the source of python-engineio 4.15.1's Socket._websocket_handler and
# Socket.close, which put None in the queue to end the writer: what the handler
# below is written against.
_KNOWN_SOURCE = "e2edf7b4998255de"


def _source_digest() -> str:
    text = "".join(_source(f) for f in (
        _LIBRARY_WEBSOCKET_HANDLER, engineio.socket.Socket.close))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _source(function: Any) -> str:
    """A function's lines in its file, from its `def` to its last line of code (what
    `inspect.getsource` gives, without tokenizing the module: this runs at every start)."""
    code = function.__code__
    return "".join(linecache.getlines(code.co_filename)[code.co_firstlineno - 1:_last_line(code)])


def _last_line(code: types.CodeType) -> int:
    """The last line of a code object and of the functions defined in it."""
    last = max((line for *_, line in code.co_lines() if line is not None),
               default=code.co_firstlineno)
    nested = (_last_line(c) for c in code.co_consts if isinstance(c, types.CodeType))
    return max([last, *nested])


_WRITING = object()  # _Writer.task while an answer is written by its own greenlet


def give_way() -> None:
    """Let another process have this core first, once: after an answer to a client's own
    request is written (a command's over HTTP, by `dashboard.web.api`; any Socket.IO
    ack, a command's or a page's `subscribe` and `hello`, by the writer below).

    The answer woke its reader on this machine (the proxy in front of the node, or a
    local client), often onto this very core, where it would wait for what the command
    set off here: its metrics, the tail's read of its events, the broadcast to every
    screen (docs/performance.md, "The chair's answer first"). Not a library's internal
    but a system call, kept here with the other tricks of the hot path.
    """
    os.sched_yield()


def _is_answer(item: Any) -> bool:
    """Whether a queued item (a packet, or None to close) carries a Socket.IO ACK."""
    return (isinstance(item, eio_packet.Packet) and item.packet_type == eio_packet.MESSAGE
            and isinstance(item.data, str) and item.data[:1] == "3")


class _Writer:
    """The writes of one websocket: a greenlet that writes what is queued, started by
    each `put` when none runs, ending when the queue is empty (the library's writer
    loop, in turns). Stands in for the socket's queue, which it wraps."""

    __slots__ = ("closed", "inner", "qsize", "task", "ws")

    def __init__(self, inner: Any, ws: Any) -> None:
        self.inner, self.ws = inner, ws
        # asked of every screen on every broadcast: the queue's own, no call of ours
        with contextlib.suppress(AttributeError):  # a queue without one has none here
            self.qsize = inner.qsize
        self.task: Any = None  # the greenlet writing now, if any
        self.closed = False  # the writer met None or a failed write: no more writes

    def put(self, item: Any, *args: Any, **kwargs: Any) -> None:
        if self.task is None and not self.closed and _is_answer(item) and self.inner.empty():
            self._write_now(item)
            return
        self.inner.put(item, *args, **kwargs)
        self.wake()

    def wake(self) -> None:
        if self.task is None and not self.closed:
            self.task = gevent.spawn(self._write)

    def _write_now(self, pkt: Any) -> None:
        """Write an answer to the client's own event (a chair's command's ack) from the
        greenlet that made it: nothing waits before it, and a writer started for it
        would run after whatever the event woke first (the relay's broadcast)."""
        self.task = _WRITING  # what is put meanwhile waits in the queue, behind it
        try:
            self.ws.send(pkt.encode())
        except BaseException as exc:  # as the writer: a failed write ends the connection
            self.closed = True
            with contextlib.suppress(Exception):
                self.ws.close()
            if not isinstance(exc, Exception):
                raise
        finally:
            self.task = None
        give_way()
        if not self.inner.empty():
            self.wake()

    def _write(self) -> None:
        inner, ws = self.inner, self.ws
        try:
            while True:
                try:
                    pkt = inner.get(block=False)
                except gevent.queue.Empty:
                    return
                inner.task_done()
                if pkt is None:  # the socket is closing: as the library's writer
                    break
                try:
                    ws.send(pkt.encode())
                except BaseException:  # the library's bare `except`
                    break
            self.closed = True
            ws.close()
        finally:
            self.task = None

    def join_writes(self) -> None:
        if isinstance(self.task, gevent.Greenlet):
            self.task.join()

    # what engine.io and the fan-out ask of the queue, passed through
    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.get(*args, **kwargs)

    def task_done(self) -> None:
        self.inner.task_done()

    def join(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.join(*args, **kwargs)

    def empty(self) -> bool:
        return bool(self.inner.empty())


def _websocket_handler(self: Any, ws: Any) -> list[Any]:
    """python-engineio 4.15.1's `Socket._websocket_handler` for a socket connected over
    websocket from the start, its writer started on demand (`_Writer`)."""
    if self.connected:  # an upgrade from long-polling: the library's handler
        return list(_LIBRARY_WEBSOCKET_HANDLER(self, ws))
    server = self.server

    def websocket_wait() -> Any:
        data = ws.wait()
        if data and len(data) > server.max_http_buffer_size:
            raise ValueError("packet is too large")
        return data

    for attr in ["_sock", "socket"]:
        if hasattr(ws, attr) and hasattr(getattr(ws, attr), "settimeout"):
            getattr(ws, attr).settimeout(server.ping_interval + server.ping_timeout)
    self.connected = True
    self.upgraded = True
    writer = self.queue = _Writer(self.queue, ws)
    writer.wake()  # whatever was queued before the upgrade
    server.logger.info("%s: Upgrade to websocket successful", self.sid)
    while True:
        try:
            p = websocket_wait()
        except Exception as e:
            if not self.closed:
                server.logger.info('%s: Unexpected error "%s", closing connection',
                                   self.sid, str(e))
            break
        if p is None:  # connection closed by client
            break
        pkt = eio_packet.Packet(encoded_packet=p)
        try:
            self.receive(pkt)
        except engineio.exceptions.UnknownPacketError:
            pass
        except engineio.exceptions.SocketIsClosedError:
            server.logger.info("Receive error -- socket is closed")
            break
        except BaseException:  # the library's bare `except`
            server.logger.exception("Unknown receive error")
            break
    writer.put(None)  # what is queued is written, then the connection closed
    writer.join_writes()
    self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
    return []


def on_demand_writer(server: Any, disabled: frozenset[str] | set[str] = frozenset()) -> bool:
    """Start each websocket's writer only when it has something to write (see the module's
    docstring); False, with one warning, when engine.io's handler is not the one this
    replaces (it is then left as it is)."""
    engineio.socket.Socket._websocket_handler = _LIBRARY_WEBSOCKET_HANDLER
    if not usable(WRITER, lambda: _probe_writer(server), disabled,
                  "engine.io runs a writer greenlet per websocket (more memory per "
                  "connection)"):
        return False
    engineio.socket.Socket._websocket_handler = _websocket_handler
    return True


class _ProbeSocket:
    """What engine.io's handler uses of a websocket: wait, send, close."""

    def __init__(self, then: Any) -> None:
        self.then, self.closes = then, 0
        self.sent: list[Any] = []

    def wait(self) -> Any:
        self.then()
        gevent.sleep(0.001)  # the writer runs
        return None  # the client closed

    def send(self, data: Any) -> None:
        self.sent.append(data)

    def close(self) -> None:
        self.closes += 1


def _probe_writer(server: Any) -> None:
    """The library's handler is the one this replaces; on a real engine.io socket, the
    packets queued before and while it runs are written in order, then the connection
    closed once, and no greenlet is left."""
    digest = _source_digest()
    if digest != _KNOWN_SOURCE:
        raise SeamBroken(f"engine.io's websocket handler is not 4.15.1's (digest {digest})")
    sock = engineio.socket.Socket(server.eio, "plenary-probe")
    sock.closing = True  # its close() then triggers no disconnect event
    sock.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "a"))
    fake = _ProbeSocket(lambda: sock.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "b")))
    if _websocket_handler(sock, fake) != []:
        raise SeamBroken("the handler did not end as the library's")
    if fake.sent != ["4a", "4b"] or fake.closes != 1 or sock.queue.task is not None:
        raise SeamBroken(f"the writer wrote {fake.sent}, closed {fake.closes} times")
