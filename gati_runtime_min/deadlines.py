"""Coarse request deadlines: one event-loop timer per 10 ms bucket instead of one per request.

`asyncio.timeout()` costs about 4 us per request (a Timeout object, a timer handle, a heap push and a
cancel). Handler timeouts are seconds long, so a 10 ms resolution is plenty: a request joins the
bucket of its deadline (a set add), and the bucket's single timer cancels the tasks still in it.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final

RESOLUTION: Final = 0.01


class Deadlines:
    __slots__ = ("_buckets", "_expired")

    def __init__(self) -> None:
        self._buckets: dict[int, set[asyncio.Task[object]]] = {}
        self._expired: set[asyncio.Task[object]] = set()

    def arm(self, task: asyncio.Task[object], timeout: float) -> int:
        """Cancel `task` once `timeout` seconds have passed (up to RESOLUTION late); returns a key for `disarm`."""
        loop = asyncio.get_running_loop()
        key = math.ceil((loop.time() + timeout) / RESOLUTION)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = set()
            loop.call_at(key * RESOLUTION, self._fire, key)
        bucket.add(task)
        return key

    def disarm(self, task: asyncio.Task[object], key: int) -> bool:
        """Stop watching `task`; True if its deadline had passed (and it was cancelled for it)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.discard(task)
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def expired(self, task: asyncio.Task[object]) -> bool:
        return task in self._expired

    def _fire(self, key: int) -> None:
        for task in self._buckets.pop(key, ()):
            if not task.done():
                self._expired.add(task)
                task.cancel()
