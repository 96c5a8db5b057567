"""Bare Flask-SocketIO + gevent server: the baseline of the fan-out benchmark.

It has nothing to decide: a command (HTTP `POST /api/commands` or Socket.IO
`command`) stamps a new version on a fixed payload of the requested size and
broadcasts it as `state` to every client subscribed to the room. Same process
layout as `plenary run`: one process, gevent, gevent-websocket.

    python bench/baseline_server.py --port 5100 --payload-bytes 1500
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402


def make_payload(size: int, room: str) -> dict:
    """A room-state-shaped dict whose JSON encoding is about `size` bytes."""
    base = {
        "room": {"id": room, "name": {"es": "Plenaria", "en": "Plenary"}, "venue": "bench"},
        "version": "0000000000000-0",
        "server_time": 0.0,
        "session": None,
        "speakers": {"current": None, "queue": [], "list_closed": False},
        "announcements": [],
        "pad": "",
    }
    missing = size - len(json.dumps(base, separators=(",", ":")))
    base["pad"] = "x" * max(0, missing)
    return base


def create_app(payload_bytes: int) -> tuple[Flask, SocketIO]:
    """Build the baseline app; commands broadcast a payload of `payload_bytes`."""
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*")
    lock = threading.Lock()
    counter = {"ms": 0, "seq": 0}
    payloads: dict[str, dict] = {}

    def next_version() -> str:
        with lock:
            ms = int(time.time() * 1000)
            if ms <= counter["ms"]:
                counter["seq"] += 1
            else:
                counter["ms"], counter["seq"] = ms, 0
            return f"{counter['ms']}-{counter['seq']}"

    def state(room: str) -> dict:
        if room not in payloads:
            payloads[room] = make_payload(payload_bytes, room)
        return payloads[room]

    def broadcast(body: dict) -> dict:
        room = str(body.get("room") or "plenary")
        version = next_version()
        payload = dict(state(room), version=version, server_time=time.time())
        socketio.emit("state", payload, to=f"room:{room}")
        return {"version": version, "events": [{"type": body.get("type"), "room": room}]}

    @app.get("/healthz")
    @app.get("/readyz")
    def ready():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    @app.get("/api/rooms/<room>")
    def room_state(room: str):  # type: ignore[no-untyped-def]
        return jsonify(state(room))

    @app.post("/api/commands")
    def command():  # type: ignore[no-untyped-def]
        return jsonify(broadcast(request.get_json(force=True, silent=True) or {}))

    @socketio.on("subscribe")
    def subscribe(data):  # type: ignore[no-untyped-def]
        """A screen asks for a room; it joins it and gets the current state."""
        room = str((data or {}).get("room") or "plenary")
        join_room(f"room:{room}")
        return {"ok": True, "state": state(room)}

    @socketio.on("command")
    def sio_command(data):  # type: ignore[no-untyped-def]
        """A chair sends a command; every subscribed screen gets the new state."""
        return dict(broadcast(data or {}), ok=True)

    return app, socketio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5100)
    parser.add_argument("--payload-bytes", type=int, default=1500)
    parser.add_argument("--nodelay", action="store_true",
                        help="TCP_NODELAY on accepted sockets (pywsgi writes headers and body "
                             "in two sends: on keep-alive, Nagle + delayed ACK add ~40 ms)")
    args = parser.parse_args()
    if args.nodelay:
        import socket

        from geventwebsocket.handler import WebSocketHandler

        plain_handle = WebSocketHandler.handle

        def handle(self):  # type: ignore[no-untyped-def]
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return plain_handle(self)

        WebSocketHandler.handle = handle
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app, socketio = create_app(args.payload_bytes)
    print(f"baseline ready on {args.host}:{args.port}", flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False)
    sys.exit(0)


if __name__ == "__main__":
    main()
