"""Long folds that give the event loop a turn now and then (they share it with commands)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import gevent

T = TypeVar("T")

# Events a worker folds between two turns of the loop: few enough that a command waiting
# on the loop is not held up noticeably (docs/performance.md, "Workers take turns").
TURN = 25


def taking_turns(items: Iterable[T], every: int = TURN) -> Iterator[T]:
    """The items, with the event loop given a turn after every `every` of them.

    In `plenary run` the workers are greenlets of the web's process: a second's
    worth of events folded in one go holds the loop for milliseconds, and a
    chair's command whose reply from Redis has just arrived waits behind it
    (a worker at start, replaying a long stream, for seconds). Between turns the
    loop runs whatever is ready first.
    """
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            gevent.sleep(0)
