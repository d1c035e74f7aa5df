"""Coarse request deadlines: at most one event-loop timer for all requests instead of one per request.

`asyncio.timeout()` costs about 4 us per request (a Timeout object, a timer handle, a heap push and a
cancel). Handler timeouts are seconds long, so a 10 ms resolution is plenty. A request records its
deadline (on the `time.perf_counter()` clock) in a dict (`arm`) and removes it when it ends
(`disarm`); a single timer, set for the earliest deadline still pending, cancels the tasks whose
deadline has passed and re-arms itself for the next one. Under a steady load the timer rarely
moves: a new request's deadline is later than the one already scheduled, so arming is a
comparison and a dict store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final

RESOLUTION: Final = 0.01
_NEVER: Final = float("inf")

running_loop: Final = asyncio.get_running_loop
_now: Final = time.perf_counter


def _current_task_of() -> Callable[[asyncio.AbstractEventLoop], Any]:
    """`asyncio.current_task(loop)` without its Python-level frame where possible."""
    try:
        import _asyncio

        c_impl = getattr(_asyncio, "current_task", None)  # Python 3.12+
    except ImportError:  # pragma: no cover - CPython always has it
        c_impl = None
    if c_impl is not None:
        return c_impl  # type: ignore[no-any-return]
    tasks = getattr(asyncio.tasks, "_current_tasks", None)  # Python 3.11: what current_task reads
    if isinstance(tasks, dict):
        return tasks.get
    return asyncio.current_task  # pragma: no cover


task_of: Final = _current_task_of()  # the current task of a loop


class Deadlines:
    """The deadline registry. `GatiApp` inlines `arm` and the common case of `disarm` on its
    request path: `live[task] = deadline`, then `schedule(deadline)` if the deadline is before
    `horizon` or `loop` is not the running loop; `live.pop(task, None)`, and `disarm(task)` only
    when the task is no longer in `live` (it expired)."""

    __slots__ = ("_expired", "_next", "horizon", "live", "loop")

    def __init__(self) -> None:
        self.live: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._next = _NEVER  # when the pending timer fires (inf: no timer)
        self.horizon = _NEVER  # a deadline before this one needs an earlier timer
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop that timer belongs to

    def arm(self, deadline: float) -> asyncio.Task[Any]:
        """Cancel the current task once `time.perf_counter()` passes `deadline` (up to RESOLUTION late).

        The caller usually has the request's start time at hand, so `deadline` is that plus the
        timeout (no clock read here). Returns the task, for `disarm`.
        """
        loop = running_loop()
        task: asyncio.Task[Any] | None = task_of(loop)
        if task is None:
            raise RuntimeError("Deadlines.arm() must be called from a task")
        self.live[task] = deadline
        if deadline < self.horizon or self.loop is not loop:
            self.schedule(deadline)
        return task

    def disarm(self, task: asyncio.Task[Any]) -> bool:
        """Stop watching `task`; True if its deadline had passed (and it was cancelled for it)."""
        if self.live.pop(task, None) is not None:  # the common case: `_fire` removes only expired tasks
            return False
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def hold(self, task: asyncio.Task[Any]) -> float | None:
        """Stop `task`'s clock (a request paused at a debug gate): the seconds it had left, or None
        if it has no deadline. `release` starts the clock again."""
        deadline = self.live.pop(task, None)
        return None if deadline is None else deadline - _now()

    def release(self, task: asyncio.Task[Any], left: float) -> None:
        """`task` has `left` seconds from now (after `hold`)."""
        deadline = _now() + left
        self.live[task] = deadline
        if deadline < self.horizon or self.loop is not asyncio.get_running_loop():
            self.schedule(deadline)

    def expired(self, task: asyncio.Task[object]) -> bool:
        return task in self._expired

    def schedule(self, deadline: float) -> None:
        """Set the timer for `deadline` (on the running loop), superseding the pending one."""
        loop = self.loop = asyncio.get_running_loop()
        when = deadline + RESOLUTION  # batch the deadlines of the next 10 ms in one wake-up
        self._next = when
        self.horizon = deadline
        # deadlines are on the perf_counter clock; convert to the loop's
        loop.call_at(loop.time() + (when - _now()), self._fire, when)

    def _fire(self, when: float) -> None:
        if when != self._next:  # superseded by an earlier timer
            return
        self._next = self.horizon = _NEVER
        now = _now()
        earliest = _NEVER
        for task, deadline in list(self.live.items()):
            if deadline <= now:
                del self.live[task]
                if not task.done():
                    try:
                        task.cancel()
                    except RuntimeError:  # a task of a loop that has since closed
                        continue
                    self._expired.add(task)
            elif deadline < earliest:
                earliest = deadline
        if earliest < _NEVER:
            self.schedule(earliest)
