"""When a web node collects its cyclic garbage: the young generations as CPython does,
the whole heap only on a schedule.

CPython starts a full collection whenever the long-lived objects have grown by
a quarter since the last one. A node holding thousands of screens keeps a few
hundred objects per socket (its greenlets' frames, engine.io's and the WSGI
server's objects), so a full pass scans millions of them and holds the
process long enough for commands and broadcasts to wait behind it, while
screens connect and at each engine.io ping round (each pong starts a new
greenlet) (docs/performance.md, "The collector's schedule").

Here the automatic collector keeps collecting the young generations (every
few hundred allocations, a millisecond or less each time) but never starts a
full pass: a background task collects the whole heap every `full_every`
seconds, which reclaims the cycles of screens long gone. Young passes must stay
automatic: collected once a second instead, a client flooding the node with
rejected messages leaves a second's worth of cyclic objects to one long pass
(tests/security/test_limits.py holds the others' latency under such a flood).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

NEVER = 2**31 - 1  # young passes before CPython would start a full one by itself


def run(
    sleep: Callable[[float], object],
    full_every: float,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Collect on this schedule until stopped (a background task of the web node)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], NEVER)
    last_full = time.monotonic()
    try:
        while not stop():
            sleep(min(1.0, full_every))
            if time.monotonic() - last_full >= full_every:
                started = time.perf_counter()
                found = gc.collect()
                took = time.perf_counter() - started
                last_full = time.monotonic()
                (log.info if took > 0.1 else log.debug)(
                    "full garbage collection: %d objects freed in %.0f ms", found, 1000 * took)
    finally:
        gc.set_threshold(*thresholds)
