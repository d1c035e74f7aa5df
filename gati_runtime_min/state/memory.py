"""`MemoryState`: the default backend. Everything lives in this process; nothing to install."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from gati_runtime_min.membus import Bus
from gati_runtime_min.policies import RateLimiter
from gati_runtime_min.state.base import VersionTally, usage_table, version_name, versions_table


class MemoryState:
    """State of one process: exact for one worker, per-worker with several (see `PER_WORKER`)."""

    kind = "memory"
    shared = False

    def __init__(self, current_version: str | None = None) -> None:
        self.limiter = RateLimiter()  # the request path calls `limiter.hit` directly (no await)
        self.bus = Bus()
        self.counts: dict[tuple[str, str | None], int] = {}
        self.tally = VersionTally()
        self._current = current_version
        self._store: dict[str, tuple[Any, float | None]] = {}

    @property
    def healthy(self) -> bool:
        return True

    async def check(self) -> bool:
        return True

    async def start(self, *, wait: bool = False) -> None:
        return None

    async def close(self) -> None:
        return None

    async def hit(self, client: str, handler_id: str, limit: int, window: float) -> None:
        self.limiter.hit(client, handler_id, limit, window)

    async def usage(self) -> dict[str, dict[str, int]]:
        return usage_table(self.counts, self._current)

    async def versions(self, usage: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
        tally, current = self.tally, self._current
        errors: dict[str, int] = {}
        for version, n in tally.errors.items():
            name = version_name(version, current)
            errors[name] = errors.get(name, 0) + n
        seen: dict[str, float] = {}
        for version, t in tally.seen.items():
            name = version_name(version, current)
            seen[name] = max(seen.get(name, 0.0), tally.wall(t))
        return versions_table(usage, errors, seen)

    async def get(self, key: str, default: Any = None) -> Any:
        item = self._store.get(key)
        if item is None:
            return default
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._store[key]
            return default
        return value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._store[key] = (value, None if ttl is None else time.monotonic() + ttl)

    async def incr(self, key: str, amount: int = 1) -> int:
        value = int(await self.get(key, 0)) + amount
        expires = self._store.get(key, (None, None))[1]
        self._store[key] = (value, expires)
        return value

    async def delete(self, key: str) -> None:
        self._store.pop(key, None)
