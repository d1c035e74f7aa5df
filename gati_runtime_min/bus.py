"""Publish/subscribe across requests (`gctx.publish` / `gctx.subscribe`) with bounded queues."""

from __future__ import annotations

import asyncio
from typing import Any


class Subscription:
    """A bounded queue of messages on one topic: `async for msg in sub`, `await sub.get()`, `sub.close()`."""

    def __init__(self, bus: Bus, topic: str, maxsize: int) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._bus = bus

    async def get(self) -> Any:
        return await self.queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        return await self.queue.get()


class Bus:
    """Publish/subscribe across requests with bounded queues (backpressure)."""

    def __init__(self) -> None:
        self._topics: dict[str, list[Subscription]] = {}

    def subscribe(self, topic: str, maxsize: int = 100) -> Subscription:
        sub = Subscription(self, topic, maxsize)
        self._topics.setdefault(topic, []).append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._topics.get(sub.topic, [])
        if sub in subs:
            subs.remove(sub)

    async def publish(self, topic: str, message: Any, timeout: float | None = None) -> int:
        """Wait (up to `timeout`) until every subscriber has room; returns how many received it."""
        subs = list(self._topics.get(topic, ()))
        async with asyncio.timeout(timeout):
            for sub in subs:
                await sub.queue.put(message)
        return len(subs)

    def publish_nowait(self, topic: str, message: Any) -> int:
        """Deliver without waiting; a full subscriber misses the message (counted in `dropped`)."""
        delivered = 0
        for sub in self._topics.get(topic, ()):
            try:
                sub.queue.put_nowait(message)
                delivered += 1
            except asyncio.QueueFull:
                sub.dropped += 1
        return delivered
