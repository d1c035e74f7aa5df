"""A process pool for CPU-bound stages: forked workers, batches balanced by size, order kept."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Final, Protocol, TypeVar


class _Sized(Protocol):
    @property
    def text(self) -> str: ...


T = TypeVar("T", bound=_Sized)
R = TypeVar("R")


# Workers take the next batch when they finish one: with several small batches each, a worker
# slowed by the machine (or by this process importing the later stages meanwhile) takes fewer
# of them, and the last batch, which nothing else overlaps, is short.
_BATCHES_PER_WORKER: Final = 6


@contextmanager
def responsive_results() -> Iterator[None]:
    """A short GIL switch interval while worker processes send results back.

    A result (megabytes of facts or source) arrives through a pipe in 64 KiB reads by the pool's
    reader thread, and each read must take the GIL from this process's main thread, which is
    busy meanwhile. With the default 5 ms interval a worker sits blocked on a full pipe for a
    large part of a second; measured on a 200-module build, 150 ms for one worker's result.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0002))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def default_jobs() -> int:
    """Worker count: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _batches(items: Sequence[T], count: int) -> list[list[tuple[int, T]]]:
    # largest first into the lightest batch keeps the workers evenly loaded
    order = sorted(range(len(items)), key=lambda i: -len(items[i].text))
    batches: list[list[tuple[int, T]]] = [[] for _ in range(count)]
    loads = [0] * count
    for i in order:
        k = loads.index(min(loads))
        batches[k].append((i, items[i]))
        loads[k] += len(items[i].text) + 200
    return [b for b in batches if b]


def run_batches(
    fn: Callable[[list[T]], list[R]],
    items: Sequence[T],
    jobs: int,
    *,
    while_waiting: Callable[[], None] | None = None,
) -> list[R]:
    """Run `fn` over `items` in `jobs` worker processes and return the results in input order.
    `while_waiting` runs here once every batch is handed out (the workers exist by then)."""
    method = "fork" if sys.platform == "linux" else "spawn"
    ctx = multiprocessing.get_context(method)
    batches = _batches(items, jobs * _BATCHES_PER_WORKER)
    results: list[R | None] = [None] * len(items)
    with responsive_results(), ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = [(b, pool.submit(fn, [item for _, item in b])) for b in batches]
        if while_waiting is not None:
            while_waiting()
        for batch, future in futures:
            for (i, _), result in zip(batch, future.result(), strict=True):
                results[i] = result
    out = [r for r in results if r is not None]
    assert len(out) == len(items)
    return out
