"""The web node's collection schedule: young generations often, the whole heap now and then."""

from __future__ import annotations

import gc
import threading
import time
import weakref

from dashboard import collector


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_old_cycles_wait_for_the_full_pass_young_ones_do_not():
    stopped = threading.Event()
    old = Node()
    gc.collect()  # `old` survives a full pass: it is in the oldest generation now
    old_ref = weakref.ref(old)
    del old
    task = threading.Thread(target=collector.run, args=(time.sleep, 1.5),
                            kwargs={"young_every": 0.05, "stop": stopped.is_set})
    task.start()
    try:
        time.sleep(0.1)
        assert not gc.isenabled()  # no automatic pass can land on a command
        young_ref = weakref.ref(Node())  # garbage from the start, in the young generation
        deadline = time.monotonic() + 1.0
        while young_ref() is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert young_ref() is None  # freed by a young pass, within a second
        assert old_ref() is not None  # young passes do not scan the old generation
        deadline = time.monotonic() + 5.0
        while old_ref() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert old_ref() is None  # the full pass came
    finally:
        stopped.set()
        task.join()
    assert gc.isenabled()
