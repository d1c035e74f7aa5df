"""Coarse request deadlines: at most one event-loop timer for all requests instead of one per request.

`asyncio.timeout()` costs about 4 us per request (a Timeout object, a timer handle, a heap push and a
cancel). Handler timeouts are seconds long, so a 10 ms resolution is plenty. A request records its
deadline in a dict (`arm`) and removes it when it ends (`disarm`); a single timer, set for the
earliest deadline still pending, cancels the tasks whose deadline has passed and re-arms itself
for the next one. Under a steady load the timer rarely moves: a new request's deadline is later
than the one already scheduled, so arming is a clock read, a comparison and a dict store.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

RESOLUTION: Final = 0.01
_NEVER: Final = float("inf")


class Deadlines:
    __slots__ = ("_expired", "_live", "_loop", "_next")

    def __init__(self) -> None:
        self._live: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._next = _NEVER  # when the pending timer fires (inf: no timer)
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that timer belongs to

    def arm(self, task: asyncio.Task[object], timeout: float) -> float:
        """Cancel `task` once `timeout` seconds have passed (up to RESOLUTION late); returns a key for `disarm`."""
        deadline = time.monotonic() + timeout
        self._live[task] = deadline
        if deadline + RESOLUTION < self._next or self._loop is not asyncio.get_running_loop():
            self._schedule(deadline)
        return deadline

    def disarm(self, task: asyncio.Task[object], key: float) -> bool:
        """Stop watching `task`; True if its deadline had passed (and it was cancelled for it)."""
        self._live.pop(task, None)
        if self._expired and task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def expired(self, task: asyncio.Task[object]) -> bool:
        return task in self._expired

    def _schedule(self, deadline: float) -> None:
        loop = self._loop = asyncio.get_running_loop()
        when = deadline + RESOLUTION  # batch the deadlines of the next 10 ms in one wake-up
        self._next = when
        # loop.time() is time.monotonic() for the default loops; convert anyway for custom clocks
        loop.call_at(loop.time() + (when - time.monotonic()), self._fire, when)

    def _fire(self, when: float) -> None:
        if when != self._next:  # superseded by an earlier timer
            return
        self._next = _NEVER
        now = time.monotonic()
        earliest = _NEVER
        for task, deadline in list(self._live.items()):
            if deadline <= now:
                del self._live[task]
                if not task.done():
                    try:
                        task.cancel()
                    except RuntimeError:  # a task of a loop that has since closed
                        continue
                    self._expired.add(task)
            elif deadline < earliest:
                earliest = deadline
        if earliest < _NEVER:
            self._schedule(earliest)
