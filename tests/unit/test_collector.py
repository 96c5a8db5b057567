"""The web node's collection schedule: young generations as CPython does, the whole heap
only on the collector's schedule."""

from __future__ import annotations

import gc
import threading
import time
import weakref

from dashboard.serve import collector


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def churn(passes: int) -> None:
    """Allocate and drop enough container objects for CPython to run at least `passes`
    young collections, with survivors for the older generations."""
    for _ in range(passes):
        junk = [[] for _ in range(2 * gc.get_threshold()[0])]
        del junk


def test_old_cycles_wait_for_the_full_pass_young_ones_do_not():
    stopped = threading.Event()
    thresholds = gc.get_threshold()
    old = Node()
    gc.collect()  # `old` survives a full pass: it is in the oldest generation now
    old_ref = weakref.ref(old)
    del old
    task = threading.Thread(target=collector.run, args=(time.sleep, 3.0),
                            kwargs={"stop": stopped.is_set})
    task.start()
    try:
        time.sleep(0.1)
        assert gc.isenabled()
        assert gc.get_threshold()[:2] == thresholds[:2]
        young_ref = weakref.ref(Node())  # garbage from the start, in the young generation
        churn(2)
        assert young_ref() is None  # freed by CPython's own young pass, not by a timer
        # The long-lived objects grow by far more than a quarter, and many young and
        # middle passes run (CPython would start a full pass by itself) ...
        survivors = [[] for _ in range(len(gc.get_objects()))]
        churn(thresholds[1] * thresholds[2] * 5)
        assert old_ref() is not None  # ... yet the old generation is left alone ...
        del survivors
        # ... until the collector's full pass.
        deadline = time.monotonic() + 6.0
        while old_ref() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert old_ref() is None
    finally:
        stopped.set()
        task.join()
    assert gc.get_threshold() == thresholds
