"""A client that sends `rate` Socket.IO commands a second for `seconds`, in its own process.

`python -m tests.security.flooder URL TOKEN ROOM RATE SECONDS` prints one JSON line:
{"sent", "acks", "rate_limited", "seconds", "connected"}.
"""

from __future__ import annotations

import json
import sys
import time

import socketio


def main() -> None:
    url, token, room, rate, seconds = sys.argv[1:6]
    acks: list[dict] = []
    sio = socketio.Client()
    sio.connect(url, auth={"token": token}, transports=["websocket"])
    interval, sent = 1 / float(rate), 0
    started = next_at = time.monotonic()
    while time.monotonic() - started < float(seconds):
        sio.emit("command", {"type": "speaker.next", "room": room}, callback=acks.append)
        sent += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    limited = sum(1 for a in acks if not a.get("ok") and a["error"]["code"] == "rate_limited")
    print(json.dumps({"sent": sent, "acks": len(acks), "rate_limited": limited,
                      "seconds": elapsed, "connected": sio.connected}), flush=True)
    sio.disconnect()


if __name__ == "__main__":
    main()
