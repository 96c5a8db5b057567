"""When a web node collects its cyclic garbage: often and cheaply, fully only now and then.

CPython starts a full collection whenever the long-lived objects have grown by
a quarter since the last one. A node holding thousands of screens keeps a few
hundred objects per socket (its greenlets' frames, engine.io's and the WSGI
server's objects), so a full pass scans millions of them and holds the
process for hundreds of milliseconds: measured at 4,000 screens, 150-500 ms
pauses while screens connect and one of ~0.6 s at each engine.io ping round
(every 25 s: each pong starts a new greenlet), commands and broadcasts
waiting behind them (docs/performance.md).

Here the automatic collector is off; a background task collects the young
generations every second (what a request or a broadcast leaves behind, in a
few milliseconds) and the whole heap every `full_every` seconds, which
reclaims the cycles of screens long gone.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def run(
    sleep: Callable[[float], object],
    full_every: float,
    young_every: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Collect on this schedule until stopped (a background task of the web node)."""
    gc.disable()
    last_full = time.monotonic()
    try:
        while not stop():
            sleep(young_every)
            if time.monotonic() - last_full >= full_every:
                started = time.perf_counter()
                found = gc.collect()
                took = time.perf_counter() - started
                last_full = time.monotonic()
                (log.info if took > 0.1 else log.debug)(
                    "full garbage collection: %d objects freed in %.0f ms", found, 1000 * took)
            else:
                gc.collect(1)
    finally:
        gc.enable()
