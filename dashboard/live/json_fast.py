"""A `json`-like module on orjson, for Socket.IO packets and HTTP bodies.

`loads` refuses nesting deeper than MAX_DEPTH with a ValueError, before anything
recursive (validation, error formatting) walks the value: a body of a few
kilobytes nested thousands deep must be a clear refusal, not a RecursionError.
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet as socketio_packet

# Commands nest three levels (command, text, es/en); states are only ever sent.
MAX_DEPTH = 32


class TooDeep(ValueError):
    """JSON nested deeper than MAX_DEPTH."""


def dumps(obj: Any, **_kwargs: Any) -> str:
    """Serialise to a str, as the json module does."""
    return orjson.dumps(obj).decode()


def loads(data: str | bytes, **_kwargs: Any) -> Any:
    """Parse JSON text nested at most MAX_DEPTH levels (orjson itself stops at 1024)."""
    value = orjson.loads(data)
    check_depth(value)
    return value


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep when lists and objects nest deeper than `limit` (walked without recursion)."""
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise TooDeep(f"JSON nested deeper than {limit} levels")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


class BoundedPacket(socketio_packet.Packet):
    """A Socket.IO packet whose payload cannot be read (not JSON, or nested too deep)
    decodes as the event `bad_json`, answered with an error ack, instead of raising
    inside the server's read loop (a traceback in the log for every such message).
    A client's event named like the server's own (`connect`, `disconnect`) decodes as
    an event nobody handles: python-socketio would run the handler of the real
    connection or its end, on a socket that stays open."""

    def decode(self, encoded_packet: str | bytes) -> int:
        """Decode as python-socketio does; an unreadable payload becomes `bad_json`."""
        try:
            attachments = int(super().decode(encoded_packet))
        except ValueError:
            self.packet_type, self.data = socketio_packet.EVENT, [BAD_JSON_EVENT]
            return 0
        if (self.packet_type in (socketio_packet.EVENT, socketio_packet.BINARY_EVENT)
                and isinstance(self.data, list) and self.data
                and self.data[0] in RESERVED_EVENTS):
            self.data = [UNHANDLED_EVENT, *self.data[1:]]
        return attachments


BAD_JSON_EVENT = "bad_json"
# The server's own events, never a client's (socket.io's JS server refuses them too).
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})
UNHANDLED_EVENT = "reserved_event"
