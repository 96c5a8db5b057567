"""A client that sends `rate` Socket.IO commands a second for `seconds`, in its own process.

`python -m tests.security.flooder URL TOKEN ROOM RATE SECONDS` prints one JSON line:
{"sent", "acks", "rate_limited", "seconds", "connected"}.

It speaks Engine.IO and Socket.IO frames over a bare websocket: the server sees the
same traffic as from a Socket.IO client, each command with its ack id, and the flooder
spends a third of the CPU of python-socketio's client doing it. It stands for another
machine, and on the test's two cores what it spends is taken from the server and from
the clients whose states are timed.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import websocket


def main() -> None:
    url, token, room, rate, seconds = sys.argv[1:6]
    ws = websocket.create_connection(
        url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", origin=url,
        timeout=10, enable_multithread=True)  # the reader answers pings as commands go
    if not ws.recv().startswith("0{"):
        raise SystemExit("no Engine.IO handshake")
    ws.send("40" + json.dumps({"token": token}))
    if not ws.recv().startswith("40"):
        raise SystemExit("the Socket.IO connection was refused")
    counts = {"acks": 0, "rate_limited": 0}
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                frame = ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if frame == "2":  # the server's ping
                ws.send("3")
            elif frame.startswith("43"):  # an ack: 43<id>[answer]
                counts["acks"] += 1
                answer = json.loads(frame[2:].lstrip("0123456789"))[0]
                if not answer.get("ok") and answer["error"]["code"] == "rate_limited":
                    counts["rate_limited"] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    event = json.dumps(["command", {"type": "speaker.next", "room": room}])
    interval, sent = 1 / float(rate), 0
    started = next_at = time.monotonic()
    while time.monotonic() - started < float(seconds):
        ws.send(f"42{sent}{event}")
        sent += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    done.set()
    print(json.dumps({"sent": sent, **counts, "seconds": elapsed,
                      "connected": ws.connected}), flush=True)
    ws.close()


if __name__ == "__main__":
    main()
